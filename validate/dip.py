"""Hartigan's dip test of unimodality.

The dip of a sample is the largest distance (sup norm) between its empirical
distribution function F_n and the unimodal distribution function closest to
it. It is at least 1 / (2 n) for n distinct values, 0 for a constant sample,
and at most 1/4 (two equal point masses). Among unimodal distributions the
uniform gives asymptotically the largest dips, so the p-value is calibrated
by simulating the dip of uniform samples of the same size.

References
----------
Hartigan J. A. & Hartigan P. M. (1985). The dip test of unimodality. Ann.
Statist. 13:70-84, doi:10.1214/aos/1176346577.
Hartigan P. M. (1985). Algorithm AS 217: computation of the dip statistic to
test for unimodality. Appl. Statist. 34:320-325, doi:10.2307/2347485.
"""

from __future__ import annotations

import functools
import logging

import numpy as np

logger = logging.getLogger(__name__)

#: Default number of uniform samples simulated to calibrate a p-value.
DEFAULT_DIP_SAMPLES = 1000


def dip_statistic(values) -> float:
    """Hartigan's dip of a one-dimensional sample.

    Parameters
    ----------
    values : array_like, shape (n,)
        Finite sample values, any order, any unit (the dip is invariant to
        affine changes of scale).

    Returns
    -------
    float
        The dip, in units of probability: sup_x |F_n(x) - G(x)| for the
        unimodal distribution function G closest to F_n.

    Notes
    -----
    Algorithm AS 217 (Hartigan 1985): alternate between the greatest convex
    minorant of F_n below the current modal interval and the least concave
    majorant above it, shrinking the interval until the dip stops growing.
    It runs in O(n) per pass after sorting; a few passes are usual.
    """
    x = np.sort(np.asarray(values, dtype=float).ravel())
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError(
            f"values must be a non-empty array of finite numbers, got {x.size} "
            "values" + ("" if x.size == 0 else " with NaN or inf")
        )
    n = x.size
    if n < 2 or x[-1] == x[0]:
        return 0.0
    return _dip_counts(x.tolist()) / (2.0 * n)


def _dip_counts(x: list[float]) -> float:
    """Twice n times the dip of sorted ``x`` (AS 217 works in counts)."""
    n = len(x)
    # Work with 1-based indices as the published algorithm does; slot 0 unused.
    x = [0.0, *x]
    mn = [0] * (n + 1)
    mj = [0] * (n + 1)

    # Predecessors on the greatest convex minorant of the points (i, x_i).
    mn[1] = 1
    for j in range(2, n + 1):
        mn[j] = j - 1
        while True:
            a = mn[j]
            b = mn[a]
            if a == 1 or (x[j] - x[a]) * (a - b) < (x[a] - x[b]) * (j - a):
                break
            mn[j] = b

    # Successors on the least concave majorant.
    mj[n] = n
    for k in range(n - 1, 0, -1):
        mj[k] = k + 1
        while True:
            a = mj[k]
            b = mj[a]
            if a == n or (x[k] - x[a]) * (a - b) < (x[a] - x[b]) * (k - a):
                break
            mj[k] = b

    low, high = 1, n
    dip = 0.0
    while True:
        # Change points of the convex minorant from high down to low, and of
        # the concave majorant from low up to high.
        gcm = [0, high]
        while gcm[-1] > low:
            gcm.append(mn[gcm[-1]])
        lcm = [0, low]
        while lcm[-1] < high:
            lcm.append(mj[lcm[-1]])
        n_gcm = len(gcm) - 1
        n_lcm = len(lcm) - 1
        ig, ix = n_gcm, n_gcm - 1
        ih, iv = n_lcm, 2

        # Largest vertical distance between the two hulls on [low, high].
        if n_gcm != 2 or n_lcm != 2:
            d = 0.0
            while True:
                g, h = gcm[ix], lcm[iv]
                if g > h:
                    g1 = gcm[ix + 1]
                    dx = (h - g1 + 1) - (x[h] - x[g1]) * (g - g1) / (x[g] - x[g1])
                    iv += 1
                    if dx >= d:
                        d, ig, ih = dx, ix + 1, iv - 1
                else:
                    h1 = lcm[iv - 1]
                    dx = (x[g] - x[h1]) * (h - h1) / (x[h] - x[h1]) - (g - h1 - 1)
                    ix -= 1
                    if dx >= d:
                        d, ig, ih = dx, ix + 1, iv
                ix = max(ix, 1)
                iv = min(iv, n_lcm)
                if gcm[ix] == lcm[iv]:
                    break
        else:
            d = 1.0
        if d < dip:
            break

        # Dips of the empirical distribution from each hull outside the
        # new modal interval.
        dip_low = _hull_dip(x, gcm, ig, n_gcm, lower=True)
        dip_high = _hull_dip(x, lcm, ih, n_lcm, lower=False)
        dip = max(dip, dip_low, dip_high)

        if low == gcm[ig] and high == lcm[ih]:
            break
        low, high = gcm[ig], lcm[ih]
    return dip


def _hull_dip(x, hull, start, length, *, lower):
    """Largest distance (counts) of the data from one hull's segments."""
    largest = 0.0
    for j in range(start, length):
        if lower:
            first, last = hull[j + 1], hull[j]
        else:
            first, last = hull[j], hull[j + 1]
        segment_max = 1.0
        if last - first > 1 and x[last] != x[first]:
            slope = (last - first) / (x[last] - x[first])
            for i in range(first, last + 1):
                if lower:
                    t = (i - first + 1) - (x[i] - x[first]) * slope
                else:
                    t = (x[i] - x[first]) * slope - (i - first - 1)
                segment_max = max(segment_max, t)
        largest = max(largest, segment_max)
    return largest


@functools.lru_cache(maxsize=32)
def _uniform_dips(n: int, samples: int, seed: int) -> np.ndarray:
    """Sorted dips of ``samples`` uniform samples of size ``n``."""
    rng = np.random.default_rng(seed)
    draws = np.sort(rng.random((samples, n)), axis=1)
    dips = np.array([_dip_counts(row.tolist()) for row in draws]) / (2.0 * n)
    dips.sort()
    dips.setflags(write=False)
    return dips


def dip_test(values, *, samples: int = DEFAULT_DIP_SAMPLES, seed: int = 0) -> dict:
    """Dip test of unimodality with a p-value calibrated by simulation.

    Parameters
    ----------
    values : array_like, shape (n,)
        Finite sample values (n >= 2).
    samples : int
        Number of uniform samples of size n whose dips form the reference
        distribution.
    seed : int
        Seed of the reference samples.

    Returns
    -------
    dict
        ``dip`` (probability units), ``p_value`` (the fraction of reference
        dips at least as large, with the add-one correction so that it is
        never 0), ``n`` and ``samples``.
    """
    if isinstance(samples, bool) or not isinstance(samples, int | np.integer):
        raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
    if samples < 1:
        raise ValueError(f"samples must be an integer >= 1, got {samples}")
    x = np.asarray(values, dtype=float).ravel()
    if x.size < 2:
        raise ValueError(f"values must hold at least 2 numbers, got {x.size}")
    dip = dip_statistic(x)
    reference = _uniform_dips(int(x.size), int(samples), int(seed))
    exceed = reference.size - np.searchsorted(reference, dip, side="left")
    p_value = (exceed + 1.0) / (reference.size + 1.0)
    return {"dip": dip, "p_value": float(p_value), "n": int(x.size), "samples": samples}
