"""Confidence intervals used wherever the toolkit aggregates."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

DEFAULT_LEVEL = 0.95
DEFAULT_RESAMPLES = 2000


def wilson_interval(successes, trials, *, level: float = DEFAULT_LEVEL):
    """Wilson score interval of a binomial proportion.

    Parameters
    ----------
    successes, trials : int or array
        Counts; ``trials`` > 0.
    level : float
        Coverage, e.g. 0.95.

    Returns
    -------
    (low, high) : floats or arrays in [0, 1]; NaN where ``trials`` is 0.
        The bounds are exactly 0 with no successes and 1 with all.

    References
    ----------
    Wilson E. B. (1927) J. Am. Stat. Assoc. 22:209, doi:10.2307/2276774.
    """
    successes = np.asarray(successes, dtype=float)
    trials = np.asarray(trials, dtype=float)
    z = norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / trials
        centre = (p + z**2 / (2 * trials)) / (1 + z**2 / trials)
        half = (
            z
            * np.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2))
            / (1 + z**2 / trials)
        )
    low = np.where(successes == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(successes == trials, 1.0, np.clip(centre + half, 0.0, 1.0))
    low = np.where(trials > 0, low, np.nan)
    high = np.where(trials > 0, high, np.nan)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def bootstrap_interval(
    values,
    *,
    statistic=np.mean,
    level: float = DEFAULT_LEVEL,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over ``values`` (1-D).

    NaN values are dropped first; fewer than two values give (nan, nan).
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = values[rng.integers(0, values.size, size=(resamples, values.size))]
    stats = np.apply_along_axis(statistic, 1, draws)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(stats, [tail, 100 - tail])
    return float(low), float(high)
