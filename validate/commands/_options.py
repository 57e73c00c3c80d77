"""Command-line options shared by the subcommands that take an encoding."""

from __future__ import annotations

import argparse

from theory.conventions import CONVENTIONS, DEFAULT_CONVENTION
from theory.encodings import ENCODINGS, FIELD_RULES, Encoding


def add_encoding_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--encoding``, ``--width`` and the other target parameters."""
    group = parser.add_argument_group("target encoding")
    group.add_argument(
        "--encoding",
        required=True,
        metavar="E",
        help=f"one of: {', '.join(ENCODINGS)}",
    )
    group.add_argument(
        "--width", type=float, metavar="W", help="place-cell width sigma (m)"
    )
    group.add_argument(
        "--surround-scale",
        type=float,
        default=2.0,
        metavar="S",
        help="surround scale s of the difference encodings (default 2)",
    )
    group.add_argument(
        "--surround-convention",
        "--convention",
        dest="convention",
        choices=CONVENTIONS,
        default=DEFAULT_CONVENTION,
        help="paper: surround sigma = s*width (default); sorscher: surround "
        "variance = s*width^2",
    )
    group.add_argument(
        "--alpha-e", type=float, default=1.0, help="general_dog centre amplitude"
    )
    group.add_argument(
        "--alpha-i", type=float, default=1.0, help="general_dog surround amplitude"
    )
    group.add_argument(
        "--place-cells",
        type=int,
        default=512,
        metavar="N",
        help="readout cells (default 512)",
    )
    group.add_argument(
        "--fields-rate",
        type=float,
        default=None,
        help="1 + Poisson(rate) fields per cell "
        "(default 3 for multifield and heterogeneous)",
    )
    group.add_argument("--field-rule", choices=FIELD_RULES, default="nearest")
    group.add_argument(
        "--box", type=float, default=2.2, metavar="L", help="box width (m), default 2.2"
    )
    group.add_argument("--box-height", type=float, default=None, help="box height (m)")
    group.add_argument("--periodic", action="store_true", help="a periodic box (torus)")


def encoding_from_args(args: argparse.Namespace) -> Encoding:
    """Build the validated :class:`Encoding` the options describe."""
    return Encoding(
        name=args.encoding,
        width=args.width,
        surround_scale=args.surround_scale,
        convention=args.convention,
        alpha_e=args.alpha_e,
        alpha_i=args.alpha_i,
        n_cells=args.place_cells,
        fields_rate=args.fields_rate,
        field_rule=args.field_rule,
        box_width=args.box,
        box_height=args.box_height,
        periodic=args.periodic,
    )
