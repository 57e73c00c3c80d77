"""``turing-grids report``: the main job, regenerating ``docs/``."""

from __future__ import annotations

from pathlib import Path

from validate.cli import add_json_flag


def register(subparsers, parser_class=None) -> None:
    parser = subparsers.add_parser(
        "report",
        help="theory for every encoding, pattern dynamics, a short training run, "
        "comparison, figures and docs/results.md",
    )
    parser.add_argument("--out", default="docs", help="output directory (default docs)")
    parser.add_argument(
        "--data", default=None, help="the paper's data directory (default: shared/data)"
    )
    parser.add_argument(
        "--train-minutes",
        type=float,
        default=6.0,
        help="budget of the example training run (0 skips it; default 6)",
    )
    parser.add_argument(
        "--sweep", default=None, help="a finished sweep directory to compare"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quick", action="store_true", help="a small version (fewer widths and units)"
    )
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(args):
    from validate.report import ReportConfig, build_report

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {args.out!r} is a file, not a directory")
    data = Path(args.data) if args.data else None
    if data is not None and not data.is_dir():
        raise ValueError(f"--data {args.data!r} is not a directory")
    sweep = Path(args.sweep) if args.sweep else None
    if sweep is not None and not sweep.is_dir():
        raise ValueError(f"--sweep {args.sweep!r} is not a directory")
    if not (args.train_minutes >= 0):
        raise ValueError(f"--train-minutes must be >= 0, got {args.train_minutes}")
    options = {}
    if args.quick:
        options = {
            "pattern_widths": (0.08, 0.12, 0.16),
            "pattern_units": 4,
            "torus_seeds": (0,),
        }
    config = ReportConfig(
        out=out,
        data_dir=data,
        train_minutes=args.train_minutes,
        sweep_dir=sweep,
        seed=args.seed,
        **options,
    )
    summary = build_report(config)
    text = (
        f"wrote {summary['results']} and {len(summary['figures'])} figures "
        f"in {summary['seconds'] / 60:.1f} min"
    )
    return summary, text
