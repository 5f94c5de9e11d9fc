"""`guided-pix2pix convert-official`: an official `*_net_G.pth` -> a `from_pretrained` folder.

Options keep the official names and defaults (options/base_options.py of the official code).
"""

from __future__ import annotations


def add_arguments(parser):
    from ..nn.official import OFFICIAL_NETS

    parser.add_argument("src", help="official generator checkpoint, e.g. latest_net_G.pth")
    parser.add_argument("dest", help="output folder (config.json + model.safetensors)")
    parser.add_argument("--netG", required=True, choices=list(OFFICIAL_NETS))
    parser.add_argument("--input_nc", type=int, default=3)
    parser.add_argument("--guide_nc", type=int, default=3)
    parser.add_argument("--output_nc", type=int, default=3)
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--n_blocks", type=int, default=9)
    parser.add_argument("--n_layers", type=int, default=8)
    parser.add_argument("--norm", choices=["instance", "batch"], default="instance")


def run(args):
    from ..nn.official import config_from_official, convert_official

    cfg = config_from_official(
        args.netG,
        args.input_nc,
        args.guide_nc,
        args.output_nc,
        args.ngf,
        args.n_blocks,
        args.n_layers,
        args.norm,
    )
    report = convert_official(args.src, args.dest, cfg)
    print(f"converted {args.src} -> {args.dest} ({report.generator.num_parameters():,} parameters)")
    if report.dropped:
        print(f"dropped {len(report.dropped)} tensors the official forward pass never uses:")
        for key in report.dropped:
            print(f"  {key}")
    return 0
