"""``turing-grids compare``: theory against trained runs, with the paper beside."""

from __future__ import annotations

from pathlib import Path

from validate.cli import add_json_flag

NULLS = ("ring", "spectrum", "fields", "noise", "none")


def register(subparsers, parser_class=None) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="predicted vs measured periods and grid-unit fractions of trained runs",
        description="Re-scores every run's rate maps (60-degree min/max form) and "
        "reports per run and per width: the predicted period (with its surround "
        "convention), the measured period of grid units (median, IQR), fractions "
        "above 0.3/0.8/1.15 and beating the null, best score, decoding error; "
        "seeds pooled with bootstrap 95%% intervals; the paper's values beside.",
    )
    parser.add_argument(
        "dirs", nargs="+", metavar="DIR", help="run or sweep directories"
    )
    parser.add_argument(
        "--null",
        choices=NULLS,
        default="ring",
        help="null model of the grid call (default ring)",
    )
    parser.add_argument("--null-samples", type=int, default=100)
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of nulls and bootstrap"
    )
    parser.add_argument(
        "--data", default=None, help="the paper's data (default shared/data)"
    )
    parser.add_argument(
        "--csv", metavar="FILE", help="write the per-width table as CSV"
    )
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(args):
    from validate.compare import aggregate_by_width, expand_run_dirs, run_summary
    from validate.paper_data import (
        default_data_dir,
        fig3b_periods,
        fig4a_percentages,
        gaussian_sweep_statistics,
    )

    if args.null_samples < 20:
        raise ValueError(f"--null-samples must be at least 20, got {args.null_samples}")
    if args.csv:
        csv_path = Path(args.csv)
        if csv_path.is_dir() or not csv_path.parent.exists():
            raise ValueError(f"cannot write CSV to {args.csv!r}")
    run_dirs = expand_run_dirs(args.dirs)
    null = None if args.null == "none" else args.null
    rows = [
        {
            "run": str(path),
            **run_summary(path, null=null, samples=args.null_samples, seed=args.seed),
        }
        for path in run_dirs
    ]
    widths = aggregate_by_width(rows, seed=args.seed)

    data_dir = Path(args.data) if args.data else default_data_dir()
    paper = {}
    if data_dir is not None:
        periods, percentages = fig3b_periods(data_dir), fig4a_percentages(data_dir)
        for entry in widths:
            key = round(entry["width"] or 0, 4)
            entry["paper_period_mode_m"] = periods.get(key)
            entry["paper_percent_above"] = percentages.get(key)
        paper["gaussian_sweep"] = gaussian_sweep_statistics(data_dir)
        paper["source"] = str(data_dir)
    for row in rows:
        row.pop("_periods")
    result = {
        "runs": rows,
        "widths": widths,
        "paper": paper,
        "score_form": "minmax",
        "grid_call": rows[0]["grid_call"],
    }
    if args.csv:
        _write_csv(args.csv, widths)
        result["csv"] = args.csv
    return result, _text(widths)


def _write_csv(path, widths):
    import csv
    import io
    import json

    from simulate.files import write_text

    columns = []
    for entry in widths:
        columns += [k for k in entry if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for entry in widths:
        writer.writerow(
            {
                k: json.dumps(v) if isinstance(v, list | dict) else v
                for k, v in entry.items()
            }
        )
    write_text(path, buffer.getvalue())


def _text(widths) -> str:
    def cm(value):
        return "-" if value is None or value != value else f"{value * 100:.1f}"

    lines = [
        "encoding width_cm conv runs grid_frac [95% CI] >0.3 >0.8 best "
        "period_cm(median) predicted_cm paper_mode_cm"
    ]
    for e in widths:
        low, high = e["fraction_grid_units_ci"]
        lines.append(
            f"{e['encoding']} {cm(e['width'])} {e['convention']} {e['runs']} "
            f"{e['fraction_grid_units']:.3f} [{low:.3f}, {high:.3f}] "
            f"{e['fraction_above_0.3']:.3f} {e['fraction_above_0.8']:.3f} "
            f"{e['best_score']:.2f} {cm(e['period_median_m'])} "
            f"{cm(e['predicted_grid_period_m'])} {cm(e.get('paper_period_mode_m'))}"
        )
    return "\n".join(lines)
