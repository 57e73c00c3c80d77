"""Report sections on trained networks, the width window and grid modules."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from simulate.config import DEFAULT_HIDDEN
from simulate.files import write_json
from validate.compare import aggregate_by_width, expand_run_dirs, run_summary
from validate.paper_data import fig4a_percentages, gaussian_sweep_statistics
from validate.plotting import maps_and_autocorrelograms, pyplot, save_figure

#: Where the report keeps its per-width sweep table, so regenerating the
#: docs without the (large) sweep directory keeps the study.
WINDOW_TABLE = "data/width_window.json"
NULL_SAMPLES = 100


def train_section(
    figures: Path, run_dir: Path, *, steps: int, seed: int
) -> tuple[str, dict]:
    """Train (or reuse) one DoS 0.12 m run and show its best units."""
    run_dir = Path(run_dir)
    reused = _finished_with(run_dir, steps, seed)
    if not reused:
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "validate",
            "train",
            "--encoding",
            "dos",
            "--width",
            "0.12",
            "--seed",
            str(seed),
            "--steps",
            str(steps),
            "--out",
            str(run_dir),
            "--no-progress",
            "--json",
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"report training run failed: {done.stderr.strip()[-300:]}"
            )
    config = json.loads((run_dir / "config.json").read_text())
    summary = run_summary(run_dir, null="ring", samples=NULL_SAMPLES, seed=seed)
    with np.load(run_dir / "ratemaps.npz") as data:
        maps = np.asarray(data["ratemaps"], dtype=float)
        box_width, box_height = float(data["box_width"]), float(data["box_height"])
    from validate.scores import score_maps

    scores = score_maps(maps, box_width=box_width, box_height=box_height)
    maps_and_autocorrelograms(
        figures / "train_ratemaps.png",
        maps,
        scores,
        box_width=box_width,
        box_height=box_height,
        limit=10,
        title=f"DoS 12 cm, {config['model']['hidden']} ReLU units, "
        f"{config['train']['steps']} steps, seed {seed}: "
        "best 10 units by 60-degree score",
    )
    metrics = [
        json.loads(line)
        for line in (run_dir / "metrics.jsonl").read_text().splitlines()
    ]
    seconds = metrics[-1].get("train_seconds", float("nan"))
    train = config["train"]
    lines = [
        "## A short training run: DoS at 12 cm",
        "",
        "![trained rate maps](figures/train_ratemaps.png)",
        "",
        f"Run `{run_dir.name}`: `turing-grids train --encoding dos --width 0.12 "
        f"--seed {seed} --steps {train['steps']} --hidden {config['model']['hidden']} "
        f"--batch-size {train['batch_size']} --lr {train['learning_rate']:g} "
        f"--weight-decay {train['weight_decay']:g} "
        f"--weight-decay-start {train['weight_decay_start']}` "
        f"({config['model']['cell']} cell, sequence {train['sequence_length']}); "
        f"{seconds / 60:.1f} minutes of training"
        + (" (an existing run directory, reused)" if reused else "")
        + ". Rate maps: 44 x 44 bins of 5 cm from held-out walks.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| top-3 decoding error | {_cm(summary['decoding_error_m'])} cm |",
        f"| best 60-degree score | {summary['best_score']:.2f} |",
        f"| units above 0.3 / 0.8 / 1.15 | {summary['fraction_above_0.3']:.1%} / "
        f"{summary['fraction_above_0.8']:.1%} / {summary['fraction_above_1.15']:.1%} |",
        f"| units beating the ring null (p < 0.01, {NULL_SAMPLES} surrogates) | "
        f"{summary['fraction_grid_units']:.1%} ({summary['grid_units']} of "
        f"{summary['units']}) |",
        f"| median period of those units | {_cm(summary['period_median_m'])} cm |",
        f"| predicted grid period | {_cm(summary['predicted_grid_period_m'])} cm |",
    ]
    return "\n".join(lines), summary


def window_section(
    figures: Path, out: Path, sweep_dir: Path | None, data_dir, *, seed: int
) -> str:
    """Grid-unit fractions and periods at 11/12/13 cm across seeds."""
    table_path = Path(out) / WINDOW_TABLE
    source = None
    if sweep_dir is not None:
        rows = [
            run_summary(p, null="ring", samples=NULL_SAMPLES, seed=seed)
            for p in expand_run_dirs([sweep_dir])
        ]
        widths = aggregate_by_width(rows, seed=seed)
        runs = [{k: v for k, v in r.items() if k != "_periods"} for r in rows]
        table_path.parent.mkdir(parents=True, exist_ok=True)
        source = f"the sweep in `{Path(sweep_dir).name}`"
        spec_path = Path(sweep_dir) / "sweep.json"
        if spec_path.is_file():
            spec = json.loads(spec_path.read_text())
            source = (
                "`turing-grids sweep --widths "
                + " ".join(f"{w:g}" for w in spec["widths"])
                + " --seeds "
                + " ".join(str(v) for v in spec["seeds"])
                + f" --train-args '{' '.join(spec['train_args'])}'`"
            )
        write_json(table_path, {"source": source, "widths": widths, "runs": runs})
    elif table_path.is_file():
        stored = json.loads(table_path.read_text())
        widths, runs, source = stored["widths"], stored["runs"], stored["source"]
    if source is None:
        return "\n".join(
            [
                "## The 11 / 12 / 13 cm window",
                "",
                "Not run here: pass `--sweep DIR` with a finished "
                "`turing-grids sweep --widths 0.11 0.12 0.13 --seeds ...` directory.",
            ]
        )

    paper = fig4a_percentages(data_dir) if data_dir is not None else {}
    plt = pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    xs = np.array([w["width"] for w in widths]) * 100
    for ax, key, label, paper_key in (
        (axes[0], "fraction_grid_units", "units beating the null (%)", None),
        (axes[1], "fraction_above_0.3", "units with score > 0.3 (%)", "0.3"),
    ):
        mean = np.array([w[key] for w in widths]) * 100
        ci = np.array([w[f"{key}_ci"] for w in widths], dtype=float) * 100
        ax.errorbar(
            xs,
            mean,
            yerr=[mean - ci[:, 0], ci[:, 1] - mean],
            fmt="o",
            capsize=4,
            label="this toolkit, mean over seeds, 95% bootstrap CI",
        )
        for run in runs:
            ax.plot(run["width"] * 100, run[key] * 100, ".", color="0.6")
        if paper_key is not None and paper:
            pw = sorted(paper)
            ax.plot(
                np.array(pw) * 100,
                [paper[w][paper_key] for w in pw],
                "k^--",
                lw=0.8,
                label="paper Fig. 4a (3 seeds, 1024 units, long training)",
            )
        ax.set_xlabel("width (cm)")
        ax.set_ylabel(label)
        ax.set_xlim(xs.min() - 1.5, xs.max() + 1.5)
        ax.legend(fontsize=7)
    predicted = np.array([w["predicted_grid_period_m"] for w in widths]) * 100
    median = np.array([w["period_median_m"] for w in widths], dtype=float) * 100
    iqr = np.array([w["period_iqr_m"] for w in widths], dtype=float) * 100
    axes[2].errorbar(
        xs,
        median,
        yerr=[median - iqr[:, 0], iqr[:, 1] - median],
        fmt="o",
        capsize=4,
        label="grid units: median, IQR",
    )
    axes[2].plot(xs, predicted, "s--", label="theory (paper convention)")
    axes[2].set_xlabel("width (cm)")
    axes[2].set_ylabel("grid period (cm)")
    axes[2].legend(fontsize=7)
    save_figure(figure, figures / "width_window.png")

    lines = [
        "## The 11 / 12 / 13 cm window",
        "",
        "![width window](figures/width_window.png)",
        "",
        f"From {source}: every run re-scored from its rate maps (60-degree min/max "
        "score); a grid unit has p <= 0.01 against its own ring null "
        f"({NULL_SAMPLES} surrogates with random phases on its radially averaged "
        "spectrum: same scale, no orientation). Means over seeds with "
        "95% percentile-bootstrap intervals over seeds; periods pooled over the "
        "seeds' grid units.",
        "",
        "| width (cm) | seeds | beating null | > 0.3 | > 0.8 | best score | "
        "decoding error (cm) | period median (cm) | predicted (cm) | "
        "paper > 0.3 / > 0.8 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for w in widths:
        p = paper.get(round(w["width"], 4), {})
        lines.append(
            f"| {w['width'] * 100:g} | {len(w['seeds'])} | "
            f"{_pct(w['fraction_grid_units'], w['fraction_grid_units_ci'])} | "
            f"{_pct(w['fraction_above_0.3'], w['fraction_above_0.3_ci'])} | "
            f"{_pct(w['fraction_above_0.8'], w['fraction_above_0.8_ci'])} | "
            f"{w['best_score']:.2f} | {_cm(w['decoding_error_m'])} | "
            f"{_cm(w['period_median_m'])} | {_cm(w['predicted_grid_period_m'])} | "
            f"{p.get('0.3', float('nan')):.1f}% / {p.get('0.8', float('nan')):.1f}% |"
        )
    lines += ["", _window_verdict(widths)]
    if data_dir is not None:
        lines += ["", *gaussian_lines(data_dir)]
    return "\n".join(lines)


def _window_verdict(widths) -> str:
    """Does 12 cm stand out? Overlap of the bootstrap intervals, stated plainly."""
    return _window_overlap(widths) + _training_caveat(widths)


def _training_caveat(widths) -> str:
    errors = np.array([w["decoding_error_m"] for w in widths], dtype=float)
    if not np.isfinite(errors).any() or np.nanmax(errors) < 0.10:
        return ""
    return (
        f" Caveat: mean decoding errors were {np.nanmin(errors) * 100:.0f}-"
        f"{np.nanmax(errors) * 100:.0f} cm, so these networks had not yet learned to "
        "path integrate (< 10 cm); the comparison is of early training, not of the "
        "paper's converged networks, and says nothing about the window there."
    )


def _window_overlap(widths) -> str:
    by_width = {round(w["width"], 4): w for w in widths}
    centre = by_width.get(0.12)
    if centre is None or len(by_width) < 2:
        return "Verdict: needs 0.12 m and a neighbour in the sweep."
    others = [w for k, w in by_width.items() if k != 0.12]
    low12 = centre["fraction_grid_units_ci"][0]
    above = [
        w
        for w in others
        if np.isfinite(low12) and low12 > w["fraction_grid_units_ci"][1]
    ]
    if len(above) == len(others):
        return (
            "Verdict: at this scale 12 cm stands out: its interval lies above those of "
            + ", ".join(f"{w['width'] * 100:g} cm" for w in others)
            + "."
        )
    return (
        "Verdict: at this scale 12 cm does not stand out: its 95% interval of the "
        "fraction of units beating the null overlaps those of "
        + ", ".join(f"{w['width'] * 100:g} cm" for w in others if w not in above)
        + ", so the differences are within seed-to-seed variation."
    )


def gaussian_lines(data_dir) -> list[str]:
    """The paper's Gaussian-target sweep read with the same statistics."""
    rows = gaussian_sweep_statistics(data_dir)
    lines = [
        "### The paper's Gaussian-target sweep (no lattice by theory)",
        "",
        "661 published runs (RNN, GRU, LSTM, UGRNN; several activations), each with "
        "its best unit's score. Fraction of runs (Wilson 95% intervals):",
        "",
        "| width (cm) | runs | best > 0.3 | best > 0.8 | decodes < 10 cm | "
        '"possible grid cells" (best > 0.8 and < 10 cm) |',
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['width'] * 100:g} | {r['runs']} | "
            f"{_pct(r['best_above_0.3'], r['best_above_0.3_ci'])} | "
            f"{_pct(r['best_above_0.8'], r['best_above_0.8_ci'])} | "
            f"{_pct(r['decodes_below_10cm'], r['decodes_below_10cm_ci'])} | "
            f"{_pct(r['possible_grid_cells'], r['possible_grid_cells_ci'])} |"
        )
    lines += [
        "",
        "Gaussian targets have no ring, yet by the paper's own fixed threshold up to "
        'a quarter of these runs would be said to have "possible grid cells": '
        "the fixed threshold, not the networks, makes them.",
    ]
    return lines


def modules_section(
    figures: Path, data_dir, trained_run: Path | None, *, seed: int
) -> str:
    """Modules in the Stensola session and in a trained network."""
    from validate.modules import adjusted_rand_index

    lines = ["## Grid modules: recordings and networks", ""]
    real = None if data_dir is None else Path(data_dir) / "real_grid_cells"
    rows = []
    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    stensola = None if real is None else real / "stensola2012_rat14147_2010-05-18.npz"
    if stensola is not None and stensola.is_file():
        maps, call, units, estimate = _population_modules(
            stensola, "ratemaps_smoothed", seed=seed
        )
        authors = _authors_modules(real)
        ari = float("nan")
        if estimate["status"] == "determined":
            found = np.full(maps.shape[0], -1)
            found[units] = estimate["labels"]
            both = (authors > 0) & (found >= 0)
            if both.sum() >= 2:
                ari = adjusted_rand_index(authors[both], found[both])
        rows.append(
            ("Stensola et al. 2012, rat 14147 (65 units)", len(units), estimate, ari)
        )
        _period_hist(
            axes[0],
            call["grid_period"][units],
            estimate,
            "Stensola 2012 session (units beating the null)",
        )
    if trained_run is not None and (Path(trained_run) / "ratemaps.npz").is_file():
        _, call, units, estimate = _population_modules(
            Path(trained_run) / "ratemaps.npz", "ratemaps", seed=seed
        )
        rows.append(
            (
                "trained DoS 12 cm network (report run)",
                len(units),
                estimate,
                float("nan"),
            )
        )
        _period_hist(
            axes[1],
            call["grid_period"][units],
            estimate,
            "trained network (units beating the null)",
        )
    save_figure(figure, figures / "modules.png")
    lines += [
        "![modules](figures/modules.png)",
        "",
        "Grid units are those beating their ring (isotropic-spectrum) null "
        "(p < 0.01). Modules: "
        "Gaussian mixtures in log period chosen by BIC, Hartigan's dip test of "
        "unimodality (p-value by simulation), bootstrap 95% intervals. The Stensola "
        "file's positions carry no unit; read as centimetres they give a 3.3 m box, "
        "so absolute periods are uncertain by that factor, while counts, ratios and "
        "the adjusted Rand index (ARI) against the authors' module labels are not.",
        "",
        "| population | grid units | modules (BIC) | dip p | periods (cm) | "
        "ratios [95% CI] | ARI vs authors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, count, estimate, ari in rows:
        if estimate["status"] != "determined":
            lines.append(
                f"| {name} | {count} | undetermined ({estimate['reason']}) "
                "| - | - | - | - |"
            )
            continue
        periods = ", ".join(f"{m['period'] * 100:.0f}" for m in estimate["modules"])
        ratios = (
            ", ".join(
                f"{r['ratio']:.2f} [{r['ci'][0]:.2f}, {r['ci'][1]:.2f}]"
                for r in estimate["ratios"]
            )
            or "-"
        )
        lines.append(
            f"| {name} | {count} | {estimate['n_modules']} | "
            f"{estimate['dip']['p_value']:.3f} | {periods} | {ratios} | "
            f"{'-' if not np.isfinite(ari) else f'{ari:.2f}'} |"
        )
    return "\n".join(lines)


def _population_modules(path: Path, key: str, *, seed: int):
    """Grid call (ring null) and module estimate of the maps in ``path``."""
    from validate.commands.modules import grid_call
    from validate.modules import estimate_modules

    with np.load(path) as data:
        maps = np.asarray(data[key] if key in data else data["ratemaps"], dtype=float)
        box_width, box_height = float(data["box_width"]), float(data["box_height"])
    call = grid_call(
        maps,
        box_width=box_width,
        box_height=box_height,
        threshold=None,
        null="ring",
        null_samples=NULL_SAMPLES,
        seed=seed,
    )
    units = np.flatnonzero(call["is_grid"])
    estimate = estimate_modules(
        call["grid_period"][units], call["orientation"][units], seed=seed
    )
    return maps, call, units, estimate


def _period_hist(ax, periods, estimate, title):
    periods = np.asarray(periods, dtype=float)
    periods = periods[np.isfinite(periods)]
    labels = estimate.get("labels")
    labels = np.zeros(periods.size, int) if labels is None else np.asarray(labels)
    if labels.size != periods.size:
        labels = np.zeros(periods.size, int)
    bins = np.linspace(periods.min(), periods.max(), 20) if periods.size else 10
    for module in np.unique(labels):
        ax.hist(
            periods[labels == module] * 100,
            bins=np.asarray(bins) * 100 if periods.size else 10,
            alpha=0.7,
            label=f"module {module + 1}",
        )
    ax.set_xlabel("grid period (cm, as stored)")
    ax.set_ylabel("units")
    ax.set_title(title, fontsize=8)
    if periods.size:
        ax.legend(fontsize=7)


def _authors_modules(real: Path) -> np.ndarray:
    import csv

    with open(real / "cells.csv", newline="") as stream:
        rows = [
            r
            for r in csv.DictReader(stream)
            if r["npz"] == "stensola2012_rat14147_2010-05-18.npz"
        ]
    labels = np.zeros(len(rows), dtype=int)
    for row in rows:
        if row["authors_module"]:
            labels[int(row["unit_index"])] = int(row["authors_module"])
    return labels


def _finished_with(run_dir: Path, steps: int, seed: int) -> bool:
    try:
        config = json.loads((run_dir / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return (
        (run_dir / "scores.json").is_file()
        and config.get("train", {}).get("steps") == steps
        and config.get("model", {}).get("hidden") == DEFAULT_HIDDEN
        and config.get("seed") == seed
    )


def _cm(value) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value * 100:.1f}"


def _pct(value, interval) -> str:
    low, high = (float("nan"), float("nan")) if interval is None else interval
    if value is None or not np.isfinite(value):
        return "-"
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{value:.1%}"
    return f"{value:.1%} [{low:.1%}, {high:.1%}]"
