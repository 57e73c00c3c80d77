"""Theory against trained runs: periods, grid-unit fractions, seeds pooled.

A run directory (written by ``turing-grids train``) holds ``config.json``,
``ratemaps.npz`` and ``metrics.jsonl``. Every run is re-scored here from its
rate maps with one convention (60-degree min/max score on the Pearson
autocorrelogram, period from the six nearest peaks), so runs and the paper's
thresholds are compared on equal terms. "Grid units" are those whose
60-degree score beats the 99th percentile of the chosen null (see
:mod:`validate.nulls`), or, with no null, those above 0.3.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from theory.encodings import Encoding
from theory.prediction import predict
from validate.statistics import bootstrap_interval

THRESHOLDS = (0.3, 0.8, 1.15)
RUN_FILES = ("config.json", "ratemaps.npz")
#: Score above which a unit counts as a grid unit when no null is used.
FALLBACK_GRID_THRESHOLD = 0.3


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` holds a finished training run's files."""
    return all((Path(path) / name).is_file() for name in RUN_FILES)


def expand_run_dirs(paths) -> list[Path]:
    """Run directories from run or sweep directories; one-line errors otherwise."""
    out: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise ValueError(f"{str(path)!r} does not exist")
        if not path.is_dir():
            raise ValueError(f"{str(path)!r} is not a directory")
        if is_run_dir(path):
            out.append(path)
            continue
        children = sorted(p for p in path.iterdir() if p.is_dir() and is_run_dir(p))
        if not children:
            raise ValueError(
                f"{str(path)!r} is not a run directory (no config.json and "
                "ratemaps.npz) and holds none"
            )
        out.extend(children)
    return out


def read_config(run_dir: Path) -> dict:
    """The run's ``config.json``; a one-line ValueError if unreadable."""
    path = Path(run_dir) / "config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{str(path)!r} is not a readable JSON config: {exc}"
        ) from None
    if not isinstance(config, dict) or not isinstance(config.get("encoding"), dict):
        raise ValueError(f"{str(path)!r} has no encoding section")
    return config


def run_encoding(config: dict) -> Encoding:
    """The :class:`Encoding` a run was trained with."""
    fields = dict(config["encoding"])
    fields.pop("loss", None)
    for key in ("width_range", "surround_scale_range"):
        if fields.get(key) is not None:
            fields[key] = tuple(fields[key])
    return Encoding(**fields)


def load_ratemaps(path: Path) -> tuple[np.ndarray, float, float]:
    """(ratemaps, box_width, box_height) from a ``ratemaps.npz``."""
    try:
        with np.load(path, allow_pickle=False) as data:
            maps = np.asarray(data["ratemaps"], dtype=float)
            width = float(data["box_width"])
            height = float(data["box_height"]) if "box_height" in data else width
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{str(path)!r} is not a rate-map file: {exc}") from None
    if maps.ndim != 3:
        raise ValueError(
            f"{str(path)!r}: ratemaps must be (units, ny, nx), got {maps.shape}"
        )
    return maps, width, height


def last_decoding_error(run_dir: Path) -> float:
    """Top-3 decoding error (m) of the run's last evaluation, NaN if none."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return float("nan")
    value = float("nan")
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        for key in ("decoding_error_m", "decoding_error"):
            if record.get(key) is not None:
                value = float(record[key])
        if record.get("decoding_error_cm") is not None:
            value = float(record["decoding_error_cm"]) / 100
    return value


def run_summary(
    run_dir: Path, *, null: str | None = "ring", samples: int = 100, seed: int = 0
) -> dict:
    """Scores, grid-unit fraction and periods of one run against theory."""
    from validate.scores import score_maps

    config = read_config(run_dir)
    encoding = run_encoding(config)
    maps, box_width, box_height = load_ratemaps(Path(run_dir) / "ratemaps.npz")
    scores = score_maps(maps, box_width=box_width, box_height=box_height)
    score = scores["score_60"]
    valid = np.isfinite(score)
    out = {
        "encoding": encoding.name,
        "width": encoding.width,
        "surround_scale": encoding.surround_scale,
        "convention": encoding.convention,
        "seed": _seed(config),
        "units": int(maps.shape[0]),
        "scored_units": int(valid.sum()),
        "best_score": float(np.nanmax(score)) if valid.any() else float("nan"),
        "decoding_error_m": last_decoding_error(run_dir),
    }
    for threshold in THRESHOLDS:
        out[f"fraction_above_{threshold:g}"] = float(
            np.mean(np.nan_to_num(score, nan=-9) > threshold)
        )
    if null:
        from validate.nulls import calibrate

        calls = calibrate(
            maps,
            box_width=box_width,
            box_height=box_height,
            null=null,
            samples=samples,
            seed=seed,
        )
        grid = np.asarray(calls["beats_null"], dtype=bool)
        out["grid_call"] = f"beats {null} null p99 ({samples} samples)"
    else:
        grid = np.nan_to_num(score, nan=-9) > FALLBACK_GRID_THRESHOLD
        out["grid_call"] = f"score_60 > {FALLBACK_GRID_THRESHOLD:g}"
    out["fraction_grid_units"] = float(grid.mean())
    periods = scores["grid_period"][grid & np.isfinite(scores["grid_period"])]
    out["grid_units"] = int(grid.sum())
    out["period_median_m"] = float(np.median(periods)) if periods.size else float("nan")
    out["period_iqr_m"] = (
        [float(np.percentile(periods, 25)), float(np.percentile(periods, 75))]
        if periods.size
        else [float("nan"), float("nan")]
    )
    prediction = predict(encoding, fft=False)
    out["predicted_grid_period_m"] = prediction.grid_period
    out["_periods"] = periods
    return out


def aggregate_by_width(rows: list[dict], *, seed: int = 0) -> list[dict]:
    """Per (encoding, width, convention): means over seeds with bootstrap CIs."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(
            (row["encoding"], row["width"], row["convention"]), []
        ).append(row)
    out = []
    for (encoding, width, convention), group in sorted(
        groups.items(), key=lambda g: (g[0][0], g[0][1] or 0, g[0][2])
    ):
        entry = {
            "encoding": encoding,
            "width": width,
            "convention": convention,
            "seeds": sorted(r["seed"] for r in group),
            "runs": len(group),
            "predicted_grid_period_m": group[0]["predicted_grid_period_m"],
        }
        keys = [f"fraction_above_{t:g}" for t in THRESHOLDS]
        keys += ["fraction_grid_units", "best_score", "decoding_error_m"]
        for key in keys:
            values = np.array([r[key] for r in group], dtype=float)
            entry[key] = (
                float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
            )
            entry[f"{key}_ci"] = list(bootstrap_interval(values, seed=seed))
        periods = (
            np.concatenate([r["_periods"] for r in group]) if group else np.array([])
        )
        entry["grid_units"] = int(sum(r["grid_units"] for r in group))
        entry["period_median_m"] = (
            float(np.median(periods)) if periods.size else float("nan")
        )
        entry["period_iqr_m"] = (
            [float(np.percentile(periods, 25)), float(np.percentile(periods, 75))]
            if periods.size
            else [float("nan"), float("nan")]
        )
        entry["period_median_ci_m"] = list(
            bootstrap_interval(periods, statistic=np.median, seed=seed)
        )
        out.append(entry)
    return out


def _seed(config: dict):
    for source in (config, config.get("train", {}), config.get("training", {})):
        if isinstance(source, dict) and "seed" in source:
            return source["seed"]
    return None
