"""guided-pix2pix: guided image-to-image translation with bi-directional feature transformation."""

__all__ = ["Generator", "GeneratorConfig"]
__version__ = "0.1.0"


def __getattr__(name):
    # Imported on first use, so that `guided-pix2pix --help` and option errors do not wait for torch.
    if name in __all__:
        from .nn import generator

        return getattr(generator, name)
    raise AttributeError(f"module 'guided_pix2pix' has no attribute {name!r}")
