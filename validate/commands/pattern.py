"""``turing-grids pattern``: pattern-forming dynamics scored against theory."""

from __future__ import annotations

from validate.cli import add_json_flag
from validate.commands._options import add_encoding_arguments, encoding_from_args


def register(subparsers, parser_class=None) -> None:
    parser = subparsers.add_parser(
        "pattern",
        help="non-negative PCA of the target correlation; measured vs predicted period",
        description="Runs Sorscher et al.'s reduced model: maps g >= 0, ||g|| = 1 "
        "ascending g^T Sigma g with Sigma the correlation of the encoding's exact "
        "targets (constant removed). Reports the 60-degree grid score (min/max form) "
        "and the grid period (six nearest autocorrelogram peaks) against theory.",
    )
    add_encoding_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="population and start seed")
    parser.add_argument("--units", type=int, default=16, help="maps evolved at once")
    parser.add_argument(
        "--bins", type=int, default=None, help="bins per box side (default: 5 cm bins)"
    )
    parser.add_argument(
        "--operator",
        choices=("kernel", "exact"),
        default="kernel",
        help="kernel: population-averaged kernel by FFT (default); exact: P P^T",
    )
    parser.add_argument(
        "--linear",
        action="store_true",
        help="drop the non-negativity (power iteration)",
    )
    parser.add_argument(
        "--decorrelate",
        type=float,
        default=0.0,
        help="penalty on overlaps between units",
    )
    parser.add_argument("--max-iterations", type=int, default=5000)
    parser.add_argument("--plot", metavar="FILE", help="draw maps and autocorrelograms")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(args):
    from validate.pattern_study import measure_pattern
    from validate.plotting import check_figure_path

    encoding = encoding_from_args(args)
    if args.plot:
        check_figure_path(args.plot)
    result = measure_pattern(
        encoding,
        units=args.units,
        bins=args.bins,
        seed=args.seed,
        operator=args.operator,
        nonnegative=not args.linear,
        decorrelate=args.decorrelate,
        max_iterations=args.max_iterations,
    )
    maps, scores = result.pop("_maps"), result.pop("_scores")
    result["nonnegative"] = not args.linear
    result["operator"] = args.operator
    result["seed"] = args.seed
    if args.plot:
        from validate.plotting import maps_and_autocorrelograms

        title = (
            f"{encoding.name} {encoding.width * 100:g} cm ({encoding.convention}): "
            f"predicted period {result['predicted_grid_period'] * 100:.1f} cm"
            if encoding.width
            else encoding.name
        )
        maps_and_autocorrelograms(
            args.plot,
            maps,
            scores,
            box_width=encoding.box_width,
            box_height=encoding.box_height_m,
            title=title,
        )
        result["plot"] = args.plot
    return result, _text(result)


def _text(result: dict) -> str:
    def cm(value):
        return "undefined" if value != value else f"{value * 100:.1f} cm"

    return "\n".join(
        [
            f"encoding            {result['encoding']} "
            f"({result['convention']} convention)",
            f"grid score (median) {result['grid_score']:.3f} "
            "(60 degrees, min/max form)",
            f"grid period         {cm(result['grid_period'])} measured (median)",
            f"predicted period    {cm(result['predicted_grid_period'])}",
            f"iterations          {result['iterations']} "
            f"({'converged' if result['converged'] else 'NOT converged'}), "
            f"{result['seconds']:.2f} s",
        ]
    )
