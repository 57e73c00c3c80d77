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
        "--train-steps",
        type=int,
        default=3000,
        help="steps of the example DoS 0.12 m training run (0 skips it; default "
        "3000, about 6 minutes on 2 free cores)",
    )
    parser.add_argument(
        "--run-dir",
        default="runs/report-dos-0.12",
        help="where the example run is kept and reused",
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
    if args.train_steps < 0:
        raise ValueError(f"--train-steps must be >= 0, got {args.train_steps}")
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
        train_steps=args.train_steps,
        run_dir=Path(args.run_dir),
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
