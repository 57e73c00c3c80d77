"""Grid modules: dip test, mixtures, module estimation, adjusted Rand index.

Populations are built deterministically from normal quantiles wherever the
expected answer is exact: a module of m units with log-period spread s gets
log periods log(P) + s * Phi^-1((i - 1/2) / m), whose mean is exactly
log(P) and whose empirical distribution is within 1 / (2 m) of the normal's.
"""

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.special import i0, i1
from scipy.stats import norm

from validate import mixture
from validate.dip import dip_statistic, dip_test
from validate.modules import (
    MIN_UNITS_PER_MODULE,
    UNDETERMINED,
    adjusted_rand_index,
    estimate_modules,
)

STENSOLA_RATIO = 1.4


def quantile_sample(m):
    """Standard normal quantiles at (i - 1/2) / m, i = 1..m."""
    return norm.ppf((np.arange(m) + 0.5) / m)


def decorrelating_order(z):
    """The permutation i -> s i mod m (s coprime to m) making z[order] least
    correlated with z."""
    m = z.size
    if m < 3:
        return np.arange(m)
    strides = [s for s in range(1, m) if np.gcd(s, m) == 1]
    orders = [np.arange(m) * s % m for s in strides]
    return min(orders, key=lambda order: abs(np.corrcoef(z, z[order])[0, 1]))


def modular_population(periods, units_per_module, log_sd, orientations=None):
    """Deterministic periods (m) and orientations (deg) with true labels."""
    counts = np.broadcast_to(units_per_module, (len(periods),))
    period, orientation, labels = [], [], []
    for j, (p, m) in enumerate(zip(periods, counts, strict=True)):
        z = quantile_sample(int(m))
        period.append(p * np.exp(log_sd * z))
        centre = 0.0 if orientations is None else orientations[j]
        # Orientation spread of 2 degrees, paired with the periods by the
        # stride permutation least correlated with them.
        orientation.append(np.mod(centre + 2.0 * z[decorrelating_order(z)], 60.0))
        labels.append(np.full(int(m), j))
    return np.concatenate(period), np.concatenate(orientation), np.concatenate(labels)


# --------------------------------------------------------------------------
# Dip statistic


def dip_by_linear_programming(values):
    """The dip by its definition, slowly: for every mode position, the
    smallest t such that a continuous unimodal distribution function G lies
    within t of F_n (its left and right limits) at every data point.

    G is piecewise linear through its values at the sorted data points;
    unimodality is a unimodal sequence of chord slopes (convex up to the
    mode, concave after), which is exact for data with no ties.
    """
    x = np.sort(values)
    n = x.size
    gaps = np.diff(x)
    best = np.inf
    for peak in range(n - 1):
        rows, bounds = [], []
        for i in range(n):
            for level in (i / n, (i + 1) / n):
                row = np.zeros(n + 1)
                row[i], row[n] = 1.0, -1.0
                rows.append(row)
                bounds.append(level)
                row = np.zeros(n + 1)
                row[i], row[n] = -1.0, -1.0
                rows.append(row)
                bounds.append(-level)
        for i in range(n - 1):
            row = np.zeros(n + 1)
            row[i], row[i + 1] = 1.0, -1.0
            rows.append(row)
            bounds.append(0.0)
        for i in range(n - 2):
            # row @ G = slope_{i+1} - slope_i
            row = np.zeros(n + 1)
            row[i] += 1.0 / gaps[i]
            row[i + 1] -= 1.0 / gaps[i] + 1.0 / gaps[i + 1]
            row[i + 2] += 1.0 / gaps[i + 1]
            rows.append(-row if i + 1 <= peak else row)
            bounds.append(0.0)
        cost = np.zeros(n + 1)
        cost[n] = 1.0
        solution = linprog(
            cost,
            A_ub=np.array(rows),
            b_ub=np.array(bounds),
            bounds=[(0.0, 1.0)] * n + [(0.0, None)],
            method="highs",
        )
        assert solution.status == 0
        best = min(best, solution.fun)
    return best


def test_dip_matches_definition_by_linear_programming(rng):
    for trial in range(24):
        n = 4 + trial % 8
        if trial % 3 == 0:
            values = rng.random(n)
        elif trial % 3 == 1:
            values = np.concatenate([rng.normal(0, 1, n // 2), rng.normal(4, 1, n)])
        else:
            values = rng.standard_cauchy(n)
        assert dip_statistic(values) == pytest.approx(
            dip_by_linear_programming(values), abs=1e-9
        )


@pytest.mark.parametrize("n", [5, 50, 400])
def test_dip_of_equally_spaced_points_is_one_over_2n(n):
    # F_n of midpoints (i - 1/2)/n is within 1/(2n) of the uniform CDF,
    # and no continuous G comes closer to a jump of 1/n.
    values = (np.arange(n) + 0.5) / n
    assert dip_statistic(values) == pytest.approx(1 / (2 * n), rel=1e-12)


@pytest.mark.parametrize("m", [20, 200, 2000])
@pytest.mark.parametrize("width", [0.2, 0.02])
def test_dip_of_two_clusters_approaches_a_quarter(m, width):
    # Two uniform clusters [0, w] and [1, 1 + w] of equal weight have
    # population dip (1 - w) / 4 (a unimodal G must climb the second cluster
    # no faster than it crossed the gap). The dip is 1-Lipschitz in the sup
    # norm and F_n of cluster midpoints is within 1/(2n) of F, n = 2m.
    within = (np.arange(m) + 0.5) / m * width
    values = np.concatenate([within, 1.0 + within])
    n = values.size
    assert abs(dip_statistic(values) - (1 - width) / 4) <= 1 / (2 * n) + 1e-12


def test_dip_invariances_and_bounds(rng):
    values = rng.normal(size=37)
    dip = dip_statistic(values)
    assert dip_statistic(values[::-1]) == pytest.approx(dip)
    assert dip_statistic(3.0 - 2.5 * values) == pytest.approx(dip)
    assert 1 / (2 * values.size) <= dip <= 0.25
    assert dip_statistic(np.full(7, 2.0)) == 0.0


def test_dip_rejects_bad_values():
    with pytest.raises(ValueError, match="values"):
        dip_statistic([])
    with pytest.raises(ValueError, match="NaN"):
        dip_statistic([1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="samples"):
        dip_test([1.0, 2.0, 3.0], samples=0)


def test_dip_test_separates_one_mode_from_two():
    n = 60
    # A quantile sample of a normal has dip exactly 1/(2n): the smallest
    # possible, so nothing in the uniform reference is smaller.
    unimodal = dip_test(quantile_sample(n), samples=500, seed=1)
    assert unimodal["dip"] == pytest.approx(1 / (2 * n))
    assert unimodal["p_value"] == pytest.approx(1.0)
    # Two clusters of width 0.1 at distance 1: dip within 1/(2n) of 0.225,
    # several times the uniform dips of n = 60 (about 1/sqrt(n) / 2).
    within = (np.arange(n // 2) + 0.5) / (n // 2) * 0.1
    bimodal = dip_test(np.concatenate([within, 1 + within]), samples=500, seed=1)
    assert bimodal["p_value"] == pytest.approx(1 / 501)


# --------------------------------------------------------------------------
# Mixture fitting


def test_one_component_fit_is_the_maximum_likelihood_normal(rng):
    x = rng.normal(-1.0, 0.3, size=50)
    start = mixture.starting_points(x, k=1, random_starts=0, rng=rng)
    fit = mixture.fit_mixture(x[None], initial=start)
    assert fit.mean[0, 0] == pytest.approx(x.mean())
    assert fit.sd[0, 0] == pytest.approx(x.std())
    expected = norm.logpdf(x, x.mean(), x.std()).sum()
    assert fit.log_likelihood[0] == pytest.approx(expected)
    assert mixture.bic(fit, x.size)[0] == pytest.approx(
        -2 * expected + 2 * np.log(x.size)
    )


def test_chunked_fits_equal_one_pass(rng, monkeypatch):
    # Rows are independent fits: splitting them into chunks, and freezing
    # converged rows, must not change any of them.
    x = rng.normal(0.0, 1.0, size=(7, 30)) + np.repeat([0.0, 3.0], 15)
    angle = rng.uniform(-np.pi, np.pi, size=x.shape)
    start = mixture.starting_points(x[0], angle[0], k=2, random_starts=0, rng=rng)
    start = start.take(np.zeros(7, dtype=int))
    whole = mixture.fit_mixture(x, angle, initial=start)
    monkeypatch.setattr(mixture, "CHUNK_ELEMENTS", 2 * 30 * 2)
    chunked = mixture.fit_mixture(x, angle, initial=start)
    for name in ("weight", "mean", "sd", "direction", "kappa", "log_likelihood"):
        np.testing.assert_allclose(getattr(chunked, name), getattr(whole, name))
    for row in range(7):
        single = mixture.fit_mixture(
            x[row : row + 1], angle[row : row + 1], initial=start.take(row)
        )
        np.testing.assert_allclose(single.mean, whole.mean[row : row + 1])


def test_von_mises_concentration_inverts_the_mean_resultant_length():
    # A(kappa) = I1(kappa) / I0(kappa) is the mean resultant length of a
    # von Mises distribution; Fisher's approximation inverts it to < 1 %.
    kappa = np.array([0.2, 1.0, 3.0, 10.0, 100.0])
    estimated = mixture._kappa_from_resultant(i1(kappa) / i0(kappa))
    np.testing.assert_allclose(estimated, kappa, rtol=0.01)


def test_split_starts_halve_one_component_each():
    fit = mixture.MixtureFit(
        weight=np.array([[0.25, 0.75]]),
        mean=np.array([[0.0, 1.0]]),
        sd=np.array([[0.2, 0.4]]),
        direction=None,
        kappa=None,
        log_likelihood=np.zeros(1),
    )
    starts = mixture.split_starts(fit)
    assert starts.weight.shape == (2, 3)
    np.testing.assert_allclose(starts.weight.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.sort(starts.mean[0]), [-0.1, 0.1, 1.0])
    np.testing.assert_allclose(np.sort(starts.mean[1]), [0.0, 0.8, 1.2])
    np.testing.assert_allclose(np.sort(starts.sd[1]), [0.2, 0.2, 0.2])


def test_orientation_angle_round_trip():
    orientation = np.array([0.0, 15.0, 59.0, 60.0, -1.0])
    back = mixture.angle_to_orientation(mixture.orientation_to_angle(orientation))
    np.testing.assert_allclose(back, [0.0, 15.0, 59.0, 0.0, 59.0], atol=1e-12)


# --------------------------------------------------------------------------
# Module estimation


@pytest.mark.parametrize("modules", [2, 3])
def test_modules_with_a_constant_ratio_are_recovered(modules):
    periods = 0.4 * STENSOLA_RATIO ** np.arange(modules)
    units = 30
    # Modules 6.7 log-sds apart (log 1.4 / 0.05): the mixture is the
    # per-module quantile sample up to tails weighing < 1e-3.
    period, orientation, labels = modular_population(periods, units, 0.05)
    result = estimate_modules(period, orientation, bootstrap=200, seed=3)
    assert result["status"] == "determined"
    assert result["n_modules"] == modules
    found = np.array([m["period"] for m in result["modules"]])
    np.testing.assert_allclose(found, periods, rtol=0.01)
    for module in result["modules"]:
        assert module["n_units"] == units
        assert module["log_period_sd"] == pytest.approx(0.05, rel=0.05)
        low, high = module["period_ci"]
        assert low < module["period"] < high
    for ratio in result["ratios"]:
        assert ratio["ratio"] == pytest.approx(STENSOLA_RATIO, rel=0.01)
        low, high = ratio["ci"]
        assert low < STENSOLA_RATIO < high
        # Standard error of a log-period ratio: 0.05 * sqrt(2 / 30).
        assert high - low < 4 * 1.96 * 0.05 * np.sqrt(2 / units) * STENSOLA_RATIO
    assert adjusted_rand_index(labels, result["labels"]) == pytest.approx(1.0)
    assert result["unimodal"] is False
    assert result["criteria_agree"] is True
    assert result["bic_margin"] > 0


def test_noisy_modules_of_unequal_size(rng):
    periods = np.array([0.35, 0.49, 0.686])
    counts = np.array([14, 10, 8])
    labels = np.repeat(np.arange(3), counts)
    log_sd = 0.04
    period = periods[labels] * np.exp(rng.normal(0.0, log_sd, labels.size))
    result = estimate_modules(period, bootstrap=300, seed=0)
    assert result["n_modules"] == 3
    found = np.array([m["period"] for m in result["modules"]])
    # Four standard errors of each module's mean log period.
    np.testing.assert_allclose(
        np.log(found), np.log(periods), atol=4 * log_sd / np.sqrt(counts.min())
    )
    assert adjusted_rand_index(labels, result["labels"]) > 0.9


def test_unimodal_population_gives_one_module():
    n = 150
    period = 0.5 * np.exp(0.12 * quantile_sample(n))
    result = estimate_modules(period, bootstrap=100, seed=0)
    assert result["n_modules"] == 1
    assert result["dip"]["dip"] == pytest.approx(1 / (2 * n))
    assert result["unimodal"] is True
    assert result["dip"]["p_value"] > 0.05
    assert result["criteria_agree"] is True
    assert result["ratios"] == []
    assert result["modules"][0]["period"] == pytest.approx(0.5)
    assert set(result["labels"]) == {0}


def test_a_lone_outlier_is_not_a_module():
    # One unit at twice the period of 40 others: a component on it alone
    # would gain likelihood from the spread floor, but holds < 5 units.
    period = np.append(0.5 * np.exp(0.05 * quantile_sample(40)), 1.0)
    result = estimate_modules(period, bootstrap=0)
    assert result["n_modules"] == 1
    assert result["labels"][-1] == 0


def test_too_few_units_are_undetermined():
    n = 2 * MIN_UNITS_PER_MODULE - 1
    result = estimate_modules(np.linspace(0.3, 0.9, n))
    assert result["status"] == UNDETERMINED
    assert result["n_modules"] is None
    assert result["modules"] == [] and result["ratios"] == []
    assert str(n) in result["reason"]
    assert np.all(result["labels"] == -1)


def test_units_without_a_period_are_dropped_and_counted():
    period, _, labels = modular_population([0.4, 0.56], 12, 0.04)
    with_gaps = np.insert(period, [0, 5], np.nan)
    result = estimate_modules(with_gaps, bootstrap=50)
    assert result["n_units"] == period.size
    assert result["n_dropped"] == 2
    assert result["labels"][0] == -1 and result["labels"][6] == -1
    kept = np.delete(result["labels"], [0, 6])
    assert adjusted_rand_index(labels, kept) == pytest.approx(1.0)


def test_orientation_separates_modules_of_equal_period():
    # Two groups with one period but orientations 30 degrees apart (half
    # the 60-degree circle): only the orientation-aware model sees two.
    period, orientation, labels = modular_population(
        [0.5, 0.5], 25, 0.05, orientations=[10.0, 40.0]
    )
    with_orientation = estimate_modules(
        period, orientation, use_orientation=True, bootstrap=100, seed=1
    )
    assert with_orientation["n_modules"] == 2
    assert adjusted_rand_index(labels, with_orientation["labels"]) == pytest.approx(1)
    found = sorted(m["orientation"] for m in with_orientation["modules"])
    np.testing.assert_allclose(found, [10.0, 40.0], atol=0.5)
    assert estimate_modules(period, orientation, bootstrap=0)["n_modules"] == 1


def test_orientation_wraps_at_sixty_degrees():
    # One module whose orientations straddle the fold (58 to 2 degrees) is
    # one cluster around 0, not two at 2 and 58.
    period, orientation, _ = modular_population([0.5], 40, 0.05, orientations=[0.0])
    assert orientation.min() < 5 and orientation.max() > 55
    result = estimate_modules(
        period, orientation, use_orientation=True, bootstrap=200, seed=2
    )
    assert result["n_modules"] == 1
    centre = result["modules"][0]["orientation"]
    assert min(centre, 60 - centre) < 0.5
    low, high = result["modules"][0]["orientation_ci"]
    assert low < 0 < high or low < 60 < high


def test_estimates_are_reproducible_with_a_seed(rng):
    period = np.exp(rng.normal(np.log(0.5), 0.2, 40))
    first = estimate_modules(period, bootstrap=100, seed=7)
    second = estimate_modules(period, bootstrap=100, seed=7)
    assert first["modules"] == second["modules"]
    assert first["dip"] == second["dip"]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"max_modules": 0}, "max_modules"),
        ({"min_units_per_module": 1}, "min_units_per_module"),
        ({"bootstrap": -1}, "bootstrap"),
        ({"confidence": 1.0}, "confidence"),
        ({"alpha": 0.0}, "alpha"),
        ({"use_orientation": True}, "orientation"),
    ],
)
def test_bad_options_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        estimate_modules(np.linspace(0.3, 0.9, 20), **kwargs)


def test_bad_periods_are_rejected():
    with pytest.raises(ValueError, match="grid_period"):
        estimate_modules(np.array([0.5, -0.1, 0.4]))
    with pytest.raises(ValueError, match="grid_period"):
        estimate_modules(np.ones((3, 4)))
    with pytest.raises(ValueError, match="orientation"):
        estimate_modules(np.ones(12), np.ones(11))


# --------------------------------------------------------------------------
# Adjusted Rand index


def test_adjusted_rand_index_known_values():
    # a = {0,1}{2,3}, b = {0,1}{2}{3}: sum C(n_ij, 2) = 1, rows 2, columns 1,
    # C(4, 2) = 6, expected 1/3, maximum 3/2: ARI = (2/3) / (7/6) = 4/7.
    assert adjusted_rand_index([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(4 / 7)
    # a = {0,1}{2,3}, b = {0,2}{1,3}: no pair together in both, expected 2/3,
    # maximum 2: ARI = (0 - 2/3) / (2 - 2/3) = -1/2.
    assert adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)
    # Label names do not matter.
    assert adjusted_rand_index([3, 3, 7, 7, 5], ["b", "b", "a", "a", "c"]) == 1.0
    assert adjusted_rand_index([1, 1, 1], [2, 2, 2]) == 1.0


def test_adjusted_rand_index_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="labels_a"):
        adjusted_rand_index([0, 1], [0, 1, 2])
