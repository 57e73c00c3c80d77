"""``turing-grids sweep``: many training runs on Dask, resumable."""

from __future__ import annotations

from validate.cli import CommandError, add_json_flag


def register(subparsers, parser_class=None) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="train one run per (encoding, width, seed) on a Dask cluster",
        description="One run directory per combination plus summary.csv. Running it "
        "again skips finished runs and resumes interrupted ones; a killed worker's "
        "run resumes from its checkpoint; no run is trained twice at once.",
    )
    parser.add_argument("--widths", type=float, nargs="*", required=True, metavar="W")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0], metavar="N")
    parser.add_argument("--encoding", nargs="*", default=["dos"], metavar="E")
    parser.add_argument("--out", required=True, help="the sweep directory")
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="a Dask scheduler (default: a LocalCluster here)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="LocalCluster workers (default: one per core)",
    )
    parser.add_argument(
        "--train-args",
        default="",
        metavar="'ARGS'",
        help="options passed to every train run, e.g. "
        "'--steps 2000 --hidden 256 --threads 1'",
    )
    parser.add_argument("--no-progress", action="store_true")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(args):
    import shlex

    from theory.encodings import ENCODINGS
    from validate.sweep import SweepSpec, run_sweep

    for name in args.encoding:
        if name not in ENCODINGS:
            raise ValueError(
                f"unknown encoding {name!r}; choose one of {', '.join(ENCODINGS)}"
            )
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    train_args = tuple(shlex.split(args.train_args))
    for forbidden in ("--out", "--seed", "--width", "--encoding", "--resume"):
        if forbidden in train_args:
            raise ValueError(
                f"--train-args must not set {forbidden}: the sweep sets it"
            )
    _check_train_args(train_args)
    spec = SweepSpec(
        widths=tuple(args.widths),
        seeds=tuple(args.seeds),
        encodings=tuple(args.encoding),
        train_args=train_args,
    )
    result = run_sweep(
        spec,
        args.out,
        scheduler=args.scheduler,
        workers=args.workers,
        progress=not args.no_progress,
    )
    text = (
        f"{result['finished']} of {len(result['runs'])} runs finished; "
        f"summary: {result['summary']}"
        + (f"; failed: {', '.join(result['failed'])}" if result["failed"] else "")
    )
    if result["failed"]:
        raise CommandError(
            f"{len(result['failed'])} of {len(result['runs'])} runs failed "
            f"({result['errors'][result['failed'][0]]}); see {result['summary']}"
        )
    return result, text


def _check_train_args(train_args) -> None:
    """Parse the shared train options now, so a typo fails before any run starts."""
    import contextlib
    import io

    from validate.cli import build_parser

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            build_parser().parse_args(
                ["train", "--width", "0.1", "--out", "x", *train_args]
            )
    except SystemExit:
        raise CommandError(
            f"--train-args not accepted by train: {' '.join(train_args)!r}"
        ) from None
