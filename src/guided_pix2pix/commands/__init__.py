"""Subcommands of the `guided-pix2pix` command, one module each (see `guided_pix2pix.cli`)."""
