"""Grid scoring at scale: the batched scorer against the direct implementation.

Scores 4096 rate maps of 44 x 44 bins (the paper's layout) with
:func:`validate.scores.score_maps`, times the slow direct implementation of
the same method (``tests/direct_scores.py``: loops over lags and annuli,
``scipy.ndimage.rotate``) on a few of them, and prints per-unit times, the
speed-up and the largest score difference on the units both scored.

Run from the repository root::

    python benchmarks/bench_scores.py [--units 4096] [--direct-units 6]
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
from tests.direct_scores import direct_scores  # noqa: E402
from validate.scores import score_maps  # noqa: E402

BINS = 44
BOX = 2.2  # m
NAN_FRACTION = 0.05


def make_maps(units: int, seed: int) -> np.ndarray:
    """Noisy hexagonal maps of random period and orientation, and smooth
    noise; a few unvisited bins in every map."""
    rng = np.random.default_rng(seed)
    noise = scipy.ndimage.gaussian_filter(
        rng.normal(size=(units, BINS, BINS)), (0, 1.5, 1.5)
    )
    maps = noise
    grids = rng.random(units) < 0.5
    for unit in np.flatnonzero(grids):
        period = rng.uniform(0.3, 0.9)
        maps[unit] = hexagonal_map(
            (BINS, BINS), period, rng.uniform(0, 60), box=(BOX, BOX)
        ) + rng.normal(0, 1.0, (BINS, BINS))
    maps[rng.random(maps.shape) < NAN_FRACTION] = np.nan
    return maps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=4096)
    parser.add_argument("--direct-units", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    maps = make_maps(args.units, args.seed)
    score_maps(maps[:64], box_width=BOX)  # warm the geometry cache

    # Marginal cost: the difference between scoring all and half the maps.
    half = args.units // 2
    start = time.perf_counter()
    score_maps(maps[:half], box_width=BOX)
    t_half = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    fast = score_maps(maps, box_width=BOX)
    t_all = time.perf_counter() - start
    cpu_all = time.process_time() - cpu
    marginal = (t_all - t_half) / (args.units - half)

    picked = np.linspace(0, args.units - 1, args.direct_units).astype(int)
    start, cpu = time.perf_counter(), time.process_time()
    direct = np.array([direct_scores(maps[unit]) for unit in picked])
    t_direct = (time.perf_counter() - start) / len(picked)
    cpu_direct = (time.process_time() - cpu) / len(picked)

    difference = np.abs(
        np.stack([fast["score_60"][picked], fast["score_90"][picked]], 1) - direct
    )
    print(f"maps: {args.units} x {BINS} x {BINS}, {NAN_FRACTION:.0%} NaN bins")
    print(
        f"batched score_maps: {t_all:.2f} s for all, {t_half:.2f} s for half; "
        f"marginal {marginal * 1e3:.3f} ms/unit, mean {t_all / args.units * 1e3:.3f} "
        "ms/unit (scores, period, orientation)"
    )
    print(
        f"direct (scores only): {t_direct * 1e3:.1f} ms/unit over {len(picked)} "
        f"units; projected {t_direct * args.units / 60:.1f} min for {args.units}"
    )
    cpu_unit = cpu_all / args.units
    print(
        f"CPU time: batched {cpu_unit * 1e3:.3f} ms/unit, direct "
        f"{cpu_direct * 1e3:.1f} ms/unit, ratio {cpu_direct / cpu_unit:.0f}x "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(f"speed-up (direct / batched marginal): {t_direct / marginal:.0f}x")
    print(f"speed-up (direct / batched mean): {t_direct / (t_all / args.units):.0f}x")
    print(f"max |score difference| on those units: {np.nanmax(difference):.2e}")
    print(
        "scores of those units (fast 60, direct 60):",
        ", ".join(
            f"{f:.3f}/{d:.3f}"
            for f, d in zip(fast["score_60"][picked], direct[:, 0], strict=True)
        ),
    )


if __name__ == "__main__":
    main()
