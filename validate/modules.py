"""Grid modules: how many, at which periods, and the ratios between them.

Entorhinal grid cells come in a few discrete modules whose periods grow by a
roughly constant ratio (about 1.4; Stensola et al. 2012), whereas networks
trained to path integrate show one unimodal period distribution set by the
place-cell width (Schaeffer, Khona & Fiete 2022). This module measures which
of the two a population of grid units looks like:

- the number of modules, chosen by the BIC over Gaussian mixtures in log
  period (optionally times a von Mises in orientation, period 60 degrees);
- independently, Hartigan's dip test of unimodality of log period, its
  p-value calibrated on uniform samples;
- each module's period (geometric mean, metres) and orientation (degrees),
  and the ratios of consecutive module periods, with percentile bootstrap
  confidence intervals (units resampled with replacement, seeded);
- how firm the count is: the BIC margin of the chosen number over the
  runner-up (Kass & Raftery 1995 call a margin above 10 very strong).

Too few units give an explicit "undetermined" result instead of a number.

References
----------
Stensola H. et al. (2012). The entorhinal grid map is discretized. Nature
492:72-78, doi:10.1038/nature11649.
Kass R. E. & Raftery A. E. (1995). Bayes factors. J. Am. Stat. Assoc.
90:773-795, doi:10.1080/01621459.1995.10476572.
Hubert L. & Arabie P. (1985). Comparing partitions. J. Classif. 2:193-218,
doi:10.1007/BF01908075 (the adjusted Rand index).
"""

from __future__ import annotations

import logging

import numpy as np

from validate import mixture
from validate.dip import DEFAULT_DIP_SAMPLES, dip_test

logger = logging.getLogger(__name__)

#: A module needs at least this many units to be estimated; a population
#: needs twice as many for two modules to be told from one.
MIN_UNITS_PER_MODULE = 5

#: Most modules considered; rats show up to about five (Stensola et al.).
MAX_MODULES = 5

#: Bootstrap replicates for the confidence intervals.
DEFAULT_BOOTSTRAP = 1000

#: Random EM starts per number of modules, beside the quantile start.
RANDOM_STARTS = 8

#: Two-sided coverage of the confidence intervals.
DEFAULT_CONFIDENCE = 0.95

#: Significance level of the dip test used for the ``unimodal`` call.
DEFAULT_ALPHA = 0.05

DETERMINED = "determined"
UNDETERMINED = "undetermined"


def estimate_modules(
    grid_period,
    orientation=None,
    *,
    use_orientation: bool = False,
    max_modules: int = MAX_MODULES,
    min_units_per_module: int = MIN_UNITS_PER_MODULE,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    dip_samples: int = DEFAULT_DIP_SAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    alpha: float = DEFAULT_ALPHA,
    seed: int = 0,
) -> dict:
    """Estimate grid modules from per-unit grid periods and orientations.

    Parameters
    ----------
    grid_period : array_like, shape (units,)
        Grid period of each grid unit (distance between neighbouring peaks
        of the lattice), metres. NaN marks a unit without a period; it is
        left out and counted in ``n_dropped``.
    orientation : array_like, shape (units,), optional
        Grid orientation of each unit, degrees (any value; folded to the
        60-degree period). Used by the model only with ``use_orientation``;
        otherwise each module's mean orientation is still reported.
    use_orientation : bool
        Model orientation (von Mises, period 60 degrees) beside log period.
    max_modules : int
        Largest number of modules considered (>= 1); the count is further
        limited to ``units // min_units_per_module``.
    min_units_per_module : int
        Units needed per module (>= 2): a number of modules is a candidate
        only if its fit gives every module at least this many units (by
        largest posterior). Fewer than twice this many units give an
        ``undetermined`` result.
    bootstrap : int
        Bootstrap replicates for confidence intervals (0 to skip them).
    dip_samples : int
        Uniform samples calibrating the dip test's p-value.
    confidence : float
        Coverage of the two-sided percentile intervals, in (0, 1).
    alpha : float
        Level below which the dip test rejects unimodality, in (0, 1).
    seed : int
        Seeds the EM starts, the bootstrap and the dip reference.

    Returns
    -------
    dict
        ``status`` (``"determined"`` or ``"undetermined"``), ``reason``
        (why undetermined, else None), ``n_units``, ``n_dropped``,
        ``n_modules`` (None when undetermined), ``criterion`` ("bic"),
        ``bic`` (list of {"modules", "bic"} for every candidate number),
        ``bic_margin`` (BIC of the runner-up minus that of the chosen
        number; None with one candidate), ``dip`` (the dip test on
        natural-log period), ``unimodal`` (dip p-value >= alpha),
        ``criteria_agree`` (the BIC's one-or-several equals the dip
        test's), ``modules`` (ordered by period: ``period`` m,
        ``period_ci``, ``log_period_sd``, ``weight``, ``n_units``,
        ``orientation`` deg, ``orientation_ci``), ``ratios`` (consecutive
        period ratios, each {"ratio", "ci"}), ``labels`` (module index of
        each input unit by largest posterior, -1 for dropped units; all -1
        when undetermined) and the options used.
    """
    _check_options(
        max_modules=max_modules,
        min_units_per_module=min_units_per_module,
        bootstrap=bootstrap,
        confidence=confidence,
        alpha=alpha,
    )
    period = np.asarray(grid_period, dtype=float)
    if period.ndim != 1:
        raise ValueError(f"grid_period must be one-dimensional, got {period.shape}")
    if np.any(period[np.isfinite(period)] <= 0) or np.any(np.isinf(period)):
        raise ValueError("grid_period must hold positive finite periods (m) or NaN")
    if orientation is not None:
        orientation = np.asarray(orientation, dtype=float)
        if orientation.shape != period.shape:
            raise ValueError(
                f"orientation must have the shape of grid_period {period.shape}, "
                f"got {orientation.shape}"
            )
    if use_orientation and orientation is None:
        raise ValueError("use_orientation=True needs orientation")

    valid = np.isfinite(period)
    if use_orientation:
        valid &= np.isfinite(orientation)
    index = np.flatnonzero(valid)
    n = index.size
    result = {
        "status": DETERMINED,
        "reason": None,
        "n_units": int(n),
        "n_dropped": int(period.size - n),
        "n_modules": None,
        "criterion": "bic",
        "bic": [],
        "bic_margin": None,
        "dip": None,
        "unimodal": None,
        "criteria_agree": None,
        "modules": [],
        "ratios": [],
        "labels": np.full(period.size, -1, dtype=int),
        "use_orientation": bool(use_orientation),
        "bootstrap": int(bootstrap),
        "confidence": float(confidence),
        "seed": int(seed),
    }
    needed = 2 * min_units_per_module
    if n < needed:
        result["status"] = UNDETERMINED
        result["reason"] = (
            f"{n} units with a grid period; at least {needed} are needed to tell "
            f"one module from two ({min_units_per_module} per module)"
        )
        return result

    rng = np.random.default_rng(seed)
    log_period = np.log(period[index])
    angle = None
    if use_orientation:
        angle = mixture.orientation_to_angle(orientation[index])

    # Model selection: best of several EM starts for every number of modules.
    largest = int(min(max_modules, n // min_units_per_module))
    fits = {}
    previous = None
    for k in range(1, largest + 1):
        fit = _best_fit(
            log_period,
            angle,
            k=k,
            rng=rng,
            min_units=min_units_per_module,
            previous=previous,
        )
        if fit is not None:
            fits[k] = previous = fit
    bics = {k: float(mixture.bic(fit, n)[0]) for k, fit in fits.items()}
    chosen = min(bics, key=bics.get)
    fit = fits[chosen]
    result["n_modules"] = chosen
    result["bic"] = [{"modules": k, "bic": value} for k, value in bics.items()]
    others = [value for k, value in bics.items() if k != chosen]
    if others:
        result["bic_margin"] = float(min(others) - bics[chosen])

    # Unimodality, independently of the mixture model.
    dip = dip_test(log_period, samples=dip_samples, seed=seed)
    result["dip"] = dip
    result["unimodal"] = bool(dip["p_value"] >= alpha)
    result["criteria_agree"] = bool((chosen == 1) == result["unimodal"])

    # Point estimates and hard labels.
    posterior = mixture.responsibilities(log_period[None], _batch(angle), fit)[0]
    labels = np.argmax(posterior, axis=1)
    result["labels"][index] = labels
    orientation_deg = _module_orientation(fit, posterior, orientation, index)

    # Bootstrap: resample units, refit.
    draws = _bootstrap(
        log_period,
        angle,
        fit=fit,
        replicates=bootstrap,
        rng=rng,
        orientation=None if orientation is None else orientation[index],
    )
    tail = 100.0 * (1.0 - confidence) / 2.0
    percentiles = (tail, 100.0 - tail)
    period_point = np.exp(fit.mean[0])
    for j in range(chosen):
        module = {
            "period": float(period_point[j]),
            "period_ci": _interval(draws, "period", j, percentiles),
            "log_period_sd": float(fit.sd[0, j]),
            "weight": float(fit.weight[0, j]),
            "n_units": int(np.sum(labels == j)),
            "orientation": None if orientation_deg is None else orientation_deg[j],
            "orientation_ci": _circular_interval(
                draws, j, orientation_deg, percentiles
            ),
        }
        result["modules"].append(module)
    for j in range(chosen - 1):
        result["ratios"].append(
            {
                "ratio": float(period_point[j + 1] / period_point[j]),
                "ci": _interval(draws, "ratio", j, percentiles),
            }
        )
    return result


def _check_options(*, max_modules, min_units_per_module, bootstrap, confidence, alpha):
    """ValueError naming the first option out of range."""
    for name, value, smallest in (
        ("max_modules", max_modules, 1),
        ("min_units_per_module", min_units_per_module, 2),
        ("bootstrap", bootstrap, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name} must be an integer >= {smallest}, got {value!r}")
        if value < smallest:
            raise ValueError(f"{name} must be an integer >= {smallest}, got {value}")
    for name, value in (("confidence", confidence), ("alpha", alpha)):
        if not 0.0 < float(value) < 1.0:
            raise ValueError(f"{name} must lie strictly between 0 and 1, got {value}")


def _batch(a):
    return None if a is None else a[None]


def _best_fit(log_period, angle, *, k, rng, min_units, previous):
    """The best of several EM starts for ``k`` components, shape (1, k).

    Starts: a quantile split, random units as centres, and every split of
    one component of ``previous`` (the best fit found with fewer
    components, or None). Only fits in which every component is the most
    probable one of at least ``min_units`` units count: with the spread
    floor, a component on one or two units would otherwise win on
    likelihood alone. None if no start gives such a fit; EM is not
    constrained, so a valid fit that no start reaches is not found.
    """
    starts = mixture.starting_points(
        log_period, angle, k=k, random_starts=RANDOM_STARTS if k > 1 else 0, rng=rng
    )
    if previous is not None and previous.n_components == k - 1:
        starts = mixture.concatenate([starts, mixture.split_starts(previous)])
    batch = starts.weight.shape[0]
    x = np.broadcast_to(log_period, (batch, log_period.size))
    phi = None if angle is None else np.broadcast_to(angle, (batch, angle.size))
    fits = mixture.fit_mixture(x, phi, initial=starts)
    assigned = np.argmax(mixture.responsibilities(x, phi, fits), axis=2)
    members = (assigned[:, :, None] == np.arange(k)).sum(axis=1)  # (batch, k)
    large_enough = members.min(axis=1) >= min_units
    if not np.any(large_enough):
        return None
    likelihood = np.where(large_enough, fits.log_likelihood, -np.inf)
    return mixture.sort_components(fits.take(int(np.argmax(likelihood))))


def _module_orientation(fit, posterior, orientation, index):
    """Mean orientation of each module (degrees in [0, 60)), or None."""
    if orientation is None:
        return None
    if fit.direction is not None:
        return [float(v) for v in mixture.angle_to_orientation(fit.direction[0])]
    angle = mixture.orientation_to_angle(orientation[index])
    good = np.isfinite(angle)
    weights = posterior[good]
    c = weights.T @ np.cos(angle[good])
    s = weights.T @ np.sin(angle[good])
    mean = mixture.angle_to_orientation(np.arctan2(s, c))
    empty = weights.sum(axis=0) <= 0
    return [None if e else float(v) for v, e in zip(mean, empty, strict=True)]


def _tile_fit(fit, replicates):
    """Repeat a (1, k) fit ``replicates`` times along the batch axis."""
    return fit.take(np.zeros(replicates, dtype=int))


def _bootstrap(log_period, angle, *, fit, replicates, rng, orientation):
    """Refit resampled populations; None when ``replicates`` is 0.

    Returns the periods (replicates, chosen), ratios (replicates, chosen - 1)
    and orientations in degrees (replicates, chosen) or None.
    """
    if replicates == 0:
        return None
    n = log_period.size
    draw = rng.integers(0, n, size=(replicates, n))
    x = log_period[draw]
    phi = None if angle is None else angle[draw]

    # Refit from the full-data fit, which keeps component labels aligned
    # with the point estimate.
    main = mixture.sort_components(
        mixture.fit_mixture(x, phi, initial=_tile_fit(fit, replicates))
    )
    period = np.exp(main.mean)
    draws = {
        "period": period,
        "ratio": period[:, 1:] / period[:, :-1],
        "orientation": None,
    }
    if main.direction is not None:
        draws["orientation"] = mixture.angle_to_orientation(main.direction)
    elif orientation is not None:
        posterior = mixture.responsibilities(x, None, main)  # (b, n, k)
        theta = mixture.orientation_to_angle(orientation[draw])
        good = np.isfinite(theta)
        theta = np.where(good, theta, 0.0)
        weights = posterior * good[:, :, None]
        c = np.einsum("bnk,bn->bk", weights, np.cos(theta))
        s = np.einsum("bnk,bn->bk", weights, np.sin(theta))
        draws["orientation"] = mixture.angle_to_orientation(np.arctan2(s, c))
    return draws


def _interval(draws, key, j, percentiles):
    """Percentile interval of one bootstrap quantity, or None."""
    if draws is None:
        return None
    low, high = np.percentile(draws[key][:, j], percentiles)
    return [float(low), float(high)]


def _circular_interval(draws, j, point, percentiles):
    """Percentile interval of an orientation around its point estimate.

    Bootstrap orientations are taken as signed differences from the point
    estimate, wrapped to [-30, 30) degrees, so the bounds may fall outside
    [0, 60) when the interval straddles the fold.
    """
    if draws is None or draws["orientation"] is None or point is None:
        return None
    if point[j] is None:
        return None
    half = mixture.ORIENTATION_PERIOD_DEG / 2.0
    delta = np.mod(draws["orientation"][:, j] - point[j] + half, 2 * half) - half
    low, high = np.percentile(delta, percentiles)
    return [float(point[j] + low), float(point[j] + high)]


def adjusted_rand_index(labels_a, labels_b) -> float:
    """Adjusted Rand index between two partitions of the same units.

    Parameters
    ----------
    labels_a, labels_b : array_like, shape (units,)
        Cluster labels (any hashable values) of the same units.

    Returns
    -------
    float
        1 for identical partitions (whatever the label names), about 0 for
        independent ones, negative below chance (Hubert & Arabie 1985).
        Two partitions that are both a single cluster, or both all
        singletons, give 1.
    """
    a = np.asarray(labels_a).ravel()
    b = np.asarray(labels_b).ravel()
    if a.shape != b.shape:
        raise ValueError(
            f"labels_a and labels_b must label the same units, got {a.size} "
            f"and {b.size} labels"
        )
    if a.size < 2:
        raise ValueError(f"the adjusted Rand index needs >= 2 units, got {a.size}")
    _, a_codes = np.unique(a, return_inverse=True)
    _, b_codes = np.unique(b, return_inverse=True)
    table = np.zeros((a_codes.max() + 1, b_codes.max() + 1))
    np.add.at(table, (a_codes, b_codes), 1.0)

    def pairs(counts):
        return float(np.sum(counts * (counts - 1.0) / 2.0))

    together = pairs(table)
    rows = pairs(table.sum(axis=1))
    columns = pairs(table.sum(axis=0))
    total = a.size * (a.size - 1.0) / 2.0
    expected = rows * columns / total
    maximum = (rows + columns) / 2.0
    if maximum == expected:
        return 1.0
    return (together - expected) / (maximum - expected)
