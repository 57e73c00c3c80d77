"""Cost of null-calibrated grid calls, and how many surrogates a unit needs.

Default run: :func:`validate.nulls.calibrate` on 4096 units of 44 x 44 bins
(the paper's layout) with 100 surrogates each, per null model, timed in wall
and CPU seconds; the goal is under a minute on a 2-core machine. ``--units``
times fewer units and projects. ``--spread``: the spread, across seeds, of a
unit's null 99th percentile against the number of surrogates N, for a
smoothed-noise map and a noisy lattice; the default sample count is where
that spread stops paying for its cost.

Run from the repository root::

    python benchmarks/bench_nulls.py [--units 4096] [--samples 100]
        [--nulls ring spectrum noise fields] [--workers N] [--spread]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.analytic_maps import hexagonal_map  # noqa: E402
from validate.nulls import NULLS, calibrate, null_scores  # noqa: E402
from validate.parallel import available_cores  # noqa: E402

BINS = 44
BOX = 2.2  # m
TARGET_UNITS = 4096
TARGET_SAMPLES = 100
SPREAD_SAMPLES = (25, 50, 100, 200, 400)
SPREAD_SEEDS = 16


def make_maps(units: int, seed: int) -> np.ndarray:
    """Half noisy lattices of random period and orientation, half smooth
    noise, every bin visited (as in a trained network's maps)."""
    rng = np.random.default_rng(seed)
    maps = scipy.ndimage.gaussian_filter(
        rng.normal(size=(units, BINS, BINS)), (0, 1.5, 1.5)
    )
    for unit in range(0, units, 2):
        maps[unit] = hexagonal_map(
            (BINS, BINS), rng.uniform(0.3, 0.9), rng.uniform(0, 60), box=(BOX, BOX)
        ) + rng.normal(0, 1.0, (BINS, BINS))
    return maps


def timing(units: int, samples: int, holes: float, nulls) -> None:
    maps = make_maps(units, 0)
    if holes:
        maps[np.random.default_rng(1).random(maps.shape) < holes] = np.nan
    calibrate(maps[:1], box_width=BOX, samples=TARGET_SAMPLES)  # warm caches
    print(
        f"{units} units of {BINS} x {BINS}, {holes:.0%} unvisited bins, "
        f"{samples} surrogates each, {available_cores()} threads; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    scale = TARGET_UNITS * TARGET_SAMPLES / (units * samples)
    for null in nulls:
        start, cpu = time.perf_counter(), time.process_time()
        result = calibrate(maps, box_width=BOX, null=null, samples=samples, seed=0)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
        total = (
            f"{elapsed:5.1f} s wall, {cpu:5.1f} s CPU"
            if scale == 1
            else f"projected {TARGET_UNITS} units x {TARGET_SAMPLES}: "
            f"{elapsed * scale:5.0f} s wall, {cpu * scale:5.0f} s CPU"
        )
        print(
            f"  {null:9s} {elapsed / units * 1e3:7.2f} ms/unit wall, "
            f"{cpu / units * 1e3:7.2f} ms/unit CPU "
            f"({elapsed / (units * samples) * 1e6:.0f} us wall per surrogate); "
            f"{total}; beats null: {result['n_beats_null']}/{result['n_defined']}",
            flush=True,
        )


def spread() -> None:
    rng = np.random.default_rng(3)
    noise = scipy.ndimage.gaussian_filter(rng.normal(size=(BINS, BINS)), 1.5)
    lattice = hexagonal_map((BINS, BINS), 0.6, 17.0, box=(BOX, BOX))
    lattice = lattice + rng.normal(0, 2.0, lattice.shape)
    maps = np.stack([noise, lattice])
    print(
        f"spread of the null 99th percentile (60-degree score) across "
        f"{SPREAD_SEEDS} seeds, spectrum null, {BINS} x {BINS}"
    )
    print("      N   noise map: mean   sd    noisy lattice: mean   sd")
    for samples in SPREAD_SAMPLES:
        p99 = np.empty((SPREAD_SEEDS, 2))
        for seed in range(SPREAD_SEEDS):
            score_60, _ = null_scores(
                maps, box_width=BOX, null="spectrum", samples=samples, seed=seed
            )
            p99[seed] = np.nanquantile(score_60, 0.99, axis=1)
        mean, sd = p99.mean(axis=0), p99.std(axis=0, ddof=1)
        print(
            f"  {samples:5d}   {mean[0]:15.3f} {sd[0]:6.3f}   "
            f"{mean[1]:19.3f} {sd[1]:6.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=TARGET_UNITS)
    parser.add_argument("--samples", type=int, default=TARGET_SAMPLES)
    parser.add_argument("--holes", type=float, default=0.0)
    parser.add_argument("--nulls", nargs="+", choices=NULLS, default=list(NULLS))
    parser.add_argument("--spread", action="store_true")
    args = parser.parse_args()
    if args.spread:
        spread()
    else:
        timing(args.units, args.samples, args.holes, args.nulls)


if __name__ == "__main__":
    main()
