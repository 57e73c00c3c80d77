"""Readers of the paper's published data (Schaeffer, Khona & Fiete 2022).

The files live outside the package (``shared/data`` beside a checkout); every
reader takes the data directory and fails with a one-line ValueError naming
the file when it is missing or not what it claims.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from validate.statistics import wilson_interval

FIG3B = "nfl_fig3b_grid_period_mode_by_width.csv"
FIG4A = "nfl_fig4a_percent_grid_units_by_width.csv"
GAUSSIAN_SWEEP = "nfl_gaussian_sweep_runs_with_max_scores.csv"
#: Thresholds of the paper on the 60-degree score.
THRESHOLDS = (0.3, 0.8, 1.15)
#: "Low" decoding error in the paper (m).
LOW_DECODING_ERROR = 0.10


def default_data_dir() -> Path | None:
    """``shared/data`` beside or inside the checkout, if present."""
    root = Path(__file__).resolve().parents[1]
    for candidate in (root / "shared" / "data", root.parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return None


def _rows(data_dir: Path, name: str, columns: tuple[str, ...]) -> list[dict]:
    path = Path(data_dir) / name
    if not path.is_file():
        raise ValueError(f"paper data file {str(path)!r} not found")
    with open(path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    missing = [c for c in columns if rows and c not in rows[0]]
    if not rows or missing:
        raise ValueError(f"{str(path)!r} lacks columns {', '.join(missing) or 'rows'}")
    return rows


def fig3b_periods(data_dir: Path) -> dict[float, float]:
    """Mode of the grid-period distribution per width (m -> m), Fig. 3b."""
    rows = _rows(data_dir, FIG3B, ("width_m", "period_mode_m"))
    return {round(float(r["width_m"]), 4): float(r["period_mode_m"]) for r in rows}


def fig4a_percentages(data_dir: Path) -> dict[float, dict[str, float]]:
    """Percent of units above 0.3 / 0.8 / 1.15 per width, Fig. 4a (3-seed means)."""
    rows = _rows(data_dir, FIG4A, ("width_m", "pct_units_score60_gt_0.3"))
    out = {}
    for row in rows:
        values = {}
        for threshold in THRESHOLDS:
            key = f"pct_units_score60_gt_{threshold:g}"
            values[f"{threshold:g}"] = float(row[key]) if row.get(key) else float("nan")
        out[round(float(row["width_m"]), 4)] = values
    return out


def gaussian_sweep_statistics(data_dir: Path) -> list[dict]:
    """Per place-cell width of the paper's Gaussian-target sweep (661 runs).

    The published table holds each run's best unit, so the statistics are per
    run: the fraction of runs whose best 60-degree score exceeds each
    threshold, the fraction decoding position below 10 cm, and the fraction
    meeting the paper's "possible grid cells" call (best > 0.8 and decoding
    < 10 cm), each with a Wilson 95% interval.
    """
    rows = _rows(
        data_dir,
        GAUSSIAN_SWEEP,
        ("place_cell_rf", "score_60_by_neuron_max", "pos_decoding_err"),
    )
    widths = sorted({float(r["place_cell_rf"]) for r in rows})
    out = []
    for width in widths:
        group = [r for r in rows if float(r["place_cell_rf"]) == width]
        best = np.array([_float(r["score_60_by_neuron_max"]) for r in group])
        error_m = np.array([_float(r["pos_decoding_err"]) for r in group]) / 100
        entry = {"width": width, "runs": len(group)}
        decodes = np.isfinite(error_m) & (error_m < LOW_DECODING_ERROR)
        for name, hits in [
            *(
                (f"best_above_{t:g}", np.nan_to_num(best, nan=-np.inf) > t)
                for t in THRESHOLDS
            ),
            ("decodes_below_10cm", decodes),
            ("possible_grid_cells", (np.nan_to_num(best, nan=-np.inf) > 0.8) & decodes),
        ]:
            low, high = wilson_interval(hits.sum(), hits.size)
            entry[name] = float(hits.mean())
            entry[f"{name}_ci"] = [float(low), float(high)]
        entry["median_best_score"] = float(np.nanmedian(best))
        out.append(entry)
    return out


def _float(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")
