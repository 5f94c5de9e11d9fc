"""guided-pix2pix: guided image-to-image translation with bi-directional feature transformation."""

from .nn.generator import Generator, GeneratorConfig

__all__ = ["Generator", "GeneratorConfig"]
__version__ = "0.1.0"
