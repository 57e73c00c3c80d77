"""Mixtures of Gaussians in log grid period, optionally times von Mises in
orientation, fitted by expectation-maximisation on many data sets at once.

A grid module is a cluster of units sharing a grid period (and usually an
orientation). Periods of successive modules grow by a roughly constant ratio,
so clusters are modelled in log period, where a ratio is a difference.
Orientation folded to [0, 60) degrees is a circular variable of period 60
degrees; it is mapped to an angle phi = orientation * 2 pi / 60 degrees on
the full circle and modelled by a von Mises distribution inside each
component (period and orientation independent within a module).

Every routine here takes a batch axis first: ``log_period`` of shape
(batch, n) fits ``batch`` data sets (bootstrap replicates, or random starts)
in one vectorised pass.

References
----------
Schwarz G. (1978). Estimating the dimension of a model. Ann. Statist.
6:461-464, doi:10.1214/aos/1176344136 (the BIC).
Fisher N. I. (1993). Statistical Analysis of Circular Data, Cambridge
University Press, section 4.5.5 (the von Mises concentration estimate).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import i0e

#: Orientations repeat every 60 degrees on a hexagonal lattice.
ORIENTATION_PERIOD_DEG = 60.0

#: Smallest standard deviation of a component in natural-log period (1 %),
#: which keeps a component from collapsing onto one unit; periods measured
#: from rate maps are not more precise than this.
MIN_LOG_PERIOD_SD = 0.01

#: Largest von Mises concentration (in phi): a standard deviation of about
#: 1 / sqrt(200) rad in phi, 0.7 degrees of orientation; same purpose.
MAX_KAPPA = 200.0

#: EM stops when no data set's mean log-likelihood per unit changes by more
#: (nats); the BIC then carries an error well below 0.01 per 100 units.
EM_TOLERANCE = 1e-7

#: Upper bound on EM iterations.
EM_MAX_ITERATIONS = 500

#: Elements of one (data sets, units, components) array fitted at a time.
CHUNK_ELEMENTS = 2**20

_LOG_2PI = float(np.log(2.0 * np.pi))
_TINY = 1e-300


@dataclasses.dataclass(frozen=True)
class MixtureFit:
    """Parameters of ``batch`` fitted mixtures of ``k`` components.

    Attributes
    ----------
    weight : ndarray, shape (batch, k)
        Mixing proportions (sum to 1 along the last axis).
    mean : ndarray, shape (batch, k)
        Component means of natural-log period (log metres).
    sd : ndarray, shape (batch, k)
        Component standard deviations of natural-log period.
    direction : ndarray, shape (batch, k) or None
        Component mean orientation angle phi (radians on the full circle;
        orientation in degrees is phi * 60 / (2 pi)). None without
        orientation.
    kappa : ndarray, shape (batch, k) or None
        Von Mises concentrations in phi. None without orientation.
    log_likelihood : ndarray, shape (batch,)
        Total log-likelihood of each data set (log-period density in
        1 / log-unit, orientation density per radian of phi).
    """

    weight: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    direction: np.ndarray | None
    kappa: np.ndarray | None
    log_likelihood: np.ndarray

    @property
    def n_components(self) -> int:
        return self.weight.shape[-1]

    def n_parameters(self) -> int:
        """Free parameters: weights (k - 1), means and sds, and for
        orientation a direction and a concentration per component."""
        k = self.n_components
        per_component = 2 if self.direction is None else 4
        return (k - 1) + per_component * k

    def take(self, index) -> MixtureFit:
        """The fits at ``index`` along the batch axis (keeps the axis)."""
        index = np.atleast_1d(index)
        return MixtureFit(
            weight=self.weight[index],
            mean=self.mean[index],
            sd=self.sd[index],
            direction=None if self.direction is None else self.direction[index],
            kappa=None if self.kappa is None else self.kappa[index],
            log_likelihood=self.log_likelihood[index],
        )


def orientation_to_angle(orientation_deg):
    """Orientation (degrees, period 60) as an angle on the circle (radians)."""
    return np.asarray(orientation_deg, dtype=float) * (
        2.0 * np.pi / ORIENTATION_PERIOD_DEG
    )


def angle_to_orientation(angle):
    """Inverse of :func:`orientation_to_angle`, folded to [0, 60) degrees."""
    degrees = np.asarray(angle, dtype=float) * (ORIENTATION_PERIOD_DEG / (2.0 * np.pi))
    return np.mod(degrees, ORIENTATION_PERIOD_DEG)


def _logsumexp(a, axis):
    """log(sum(exp(a))) along ``axis``, stable for large or -inf terms."""
    peak = np.max(a, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    total = np.log(np.sum(np.exp(a - peak), axis=axis, keepdims=True)) + peak
    return np.squeeze(total, axis=axis)


def _kappa_from_resultant(resultant):
    """Approximate maximum-likelihood von Mises concentration (Fisher 1993).

    ``resultant`` is the mean resultant length in [0, 1].
    """
    r = np.clip(resultant, 0.0, 1.0 - 1e-12)
    small = 2.0 * r + r**3 + 5.0 * r**5 / 6.0
    middle = -0.4 + 1.39 * r + 0.43 / (1.0 - r)
    large = 1.0 / (r**3 - 4.0 * r**2 + 3.0 * r + _TINY)
    kappa = np.where(r < 0.53, small, np.where(r < 0.85, middle, large))
    return np.clip(kappa, 0.0, MAX_KAPPA)


def _component_log_density(log_period, angle, fit_arrays):
    """log weight_k + log density of each unit under each component.

    Shapes: data (batch, n), parameters (batch, k); result (batch, n, k).
    """
    weight, mean, sd, direction, kappa = fit_arrays
    z = (log_period[:, :, None] - mean[:, None, :]) / sd[:, None, :]
    log_density = -0.5 * z**2 - np.log(sd)[:, None, :] - 0.5 * _LOG_2PI
    if angle is not None:
        # log I0(kappa) = log(i0e(kappa)) + kappa, stable for large kappa.
        log_norm = _LOG_2PI + np.log(i0e(kappa)) + kappa
        log_density = log_density + (
            kappa[:, None, :] * np.cos(angle[:, :, None] - direction[:, None, :])
            - log_norm[:, None, :]
        )
    return log_density + np.log(np.maximum(weight, _TINY))[:, None, :]


def fit_mixture(
    log_period,
    angle=None,
    *,
    initial: MixtureFit,
    max_iterations: int = EM_MAX_ITERATIONS,
    tolerance: float = EM_TOLERANCE,
) -> MixtureFit:
    """Fit mixtures by EM, one per row of the data, from given starts.

    Parameters
    ----------
    log_period : ndarray, shape (batch, n)
        Natural log of grid periods (log metres).
    angle : ndarray, shape (batch, n), optional
        Orientation as an angle on the circle (radians; see
        :func:`orientation_to_angle`). Omit to fit log period alone.
    initial : MixtureFit
        Starting parameters, shape (batch, k); ``log_likelihood`` ignored.
        With ``angle`` it must carry ``direction`` and ``kappa``.
    max_iterations : int
        Upper bound on EM iterations.
    tolerance : float
        Convergence threshold on the mean log-likelihood per unit.

    Returns
    -------
    MixtureFit
        The fitted parameters and log-likelihoods, shape (batch, k).
    """
    x = np.asarray(log_period, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"log_period must have shape (batch, n), got {x.shape}")
    phi = None if angle is None else np.asarray(angle, dtype=float)
    if phi is not None and phi.shape != x.shape:
        raise ValueError(
            f"angle must have the shape of log_period {x.shape}, got {phi.shape}"
        )
    if phi is not None and initial.direction is None:
        raise ValueError("initial must carry direction and kappa to fit angles")
    batch, n = x.shape
    k = initial.weight.shape[1]
    params = {
        "weight": np.array(initial.weight, dtype=float),
        "mean": np.array(initial.mean, dtype=float),
        "sd": np.maximum(np.array(initial.sd, dtype=float), MIN_LOG_PERIOD_SD),
    }
    if phi is not None:
        params["direction"] = np.array(initial.direction, dtype=float)
        params["kappa"] = np.array(initial.kappa, dtype=float)
    for name, value in params.items():
        if value.shape != (batch, k):
            raise ValueError(
                f"initial.{name} must have shape {(batch, k)}, got {value.shape}"
            )

    # Rows in chunks that keep the (rows, n, k) arrays to a few megabytes.
    rows = max(1, CHUNK_ELEMENTS // (n * k))
    for start in range(0, batch, rows):
        chunk = slice(start, start + rows)
        _em(
            x[chunk],
            None if phi is None else phi[chunk],
            {name: value[chunk] for name, value in params.items()},
            max_iterations=max_iterations,
            tolerance=tolerance,
        )

    direction, kappa = params.get("direction"), params.get("kappa")
    arrays = (params["weight"], params["mean"], params["sd"], direction, kappa)
    log_likelihood = np.empty(batch)
    for start in range(0, batch, rows):
        chunk = slice(start, start + rows)
        joint = _component_log_density(
            x[chunk],
            None if phi is None else phi[chunk],
            tuple(None if a is None else a[chunk] for a in arrays),
        )
        log_likelihood[chunk] = _logsumexp(joint, axis=2).sum(axis=1)
    return MixtureFit(
        weight=params["weight"],
        mean=params["mean"],
        sd=params["sd"],
        direction=direction,
        kappa=kappa,
        log_likelihood=log_likelihood,
    )


def _em(x, phi, params, *, max_iterations, tolerance):
    """EM iterations on one chunk, updating the arrays in ``params`` (views)
    in place; a row stops being updated once it has converged."""
    n = x.shape[1]
    active = np.arange(x.shape[0])
    previous = np.full(x.shape[0], -np.inf)
    for _ in range(max_iterations):
        xa = x[active]
        phia = None if phi is None else phi[active]
        current = tuple(
            None if name not in params else params[name][active]
            for name in ("weight", "mean", "sd", "direction", "kappa")
        )

        # E step: responsibilities (rows, n, k) and the log-likelihood.
        joint = _component_log_density(xa, phia, current)
        total = _logsumexp(joint, axis=2)
        responsibility = np.exp(joint - total[:, :, None])
        log_likelihood = total.sum(axis=1)

        # M step: weighted moments per component.
        mass = responsibility.sum(axis=1) + _TINY
        mean = np.einsum("bnk,bn->bk", responsibility, xa) / mass
        spread = np.einsum(
            "bnk,bnk->bk", responsibility, (xa[:, :, None] - mean[:, None, :]) ** 2
        )
        params["weight"][active] = mass / n
        params["mean"][active] = mean
        params["sd"][active] = np.maximum(np.sqrt(spread / mass), MIN_LOG_PERIOD_SD)
        if phia is not None:
            c = np.einsum("bnk,bn->bk", responsibility, np.cos(phia))
            s = np.einsum("bnk,bn->bk", responsibility, np.sin(phia))
            params["direction"][active] = np.arctan2(s, c)
            params["kappa"][active] = _kappa_from_resultant(np.hypot(c, s) / mass)

        converged = np.abs(log_likelihood - previous[active]) <= tolerance * n
        previous[active] = log_likelihood
        active = active[~converged]
        if active.size == 0:
            break


def responsibilities(log_period, angle, fit: MixtureFit) -> np.ndarray:
    """Posterior probability of each component for each unit.

    Shapes: data (batch, n), fit (batch, k); result (batch, n, k).
    """
    x = np.asarray(log_period, dtype=float)
    phi = None if angle is None else np.asarray(angle, dtype=float)
    joint = _component_log_density(
        x, phi, (fit.weight, fit.mean, fit.sd, fit.direction, fit.kappa)
    )
    return np.exp(joint - _logsumexp(joint, axis=2)[:, :, None])


def starting_points(
    log_period, angle=None, *, k: int, random_starts: int, rng: np.random.Generator
) -> MixtureFit:
    """Starting parameters for EM: one quantile split and random draws.

    Parameters
    ----------
    log_period : ndarray, shape (n,)
        One data set of natural-log periods.
    angle : ndarray, shape (n,), optional
        Orientation angles (radians on the full circle).
    k : int
        Number of components.
    random_starts : int
        Number of extra starts whose means are k distinct units drawn at
        random.
    rng : numpy.random.Generator
        Source of the random starts.

    Returns
    -------
    MixtureFit
        Shape (1 + random_starts, k): row 0 splits the sorted data into k
        groups of equal count; the other rows centre components on random
        units. Every start has equal weights and the data's overall spread.
    """
    x = np.asarray(log_period, dtype=float)
    n = x.size
    order = np.argsort(x)
    groups = np.array_split(order, k)
    overall_sd = max(float(np.std(x)), MIN_LOG_PERIOD_SD)
    centre_index = [np.array([group[len(group) // 2] for group in groups])]
    for _ in range(random_starts):
        centre_index.append(np.sort(rng.choice(n, size=k, replace=False)))
    centre_index = np.array(centre_index)  # (starts, k)
    starts = centre_index.shape[0]
    mean = np.array([[x[g].mean() for g in groups]])
    mean = np.concatenate([mean, x[centre_index[1:]]], axis=0)
    direction = kappa = None
    if angle is not None:
        phi = np.asarray(angle, dtype=float)
        direction = phi[centre_index]
        kappa = np.ones((starts, k))
    return MixtureFit(
        weight=np.full((starts, k), 1.0 / k),
        mean=mean,
        sd=np.full((starts, k), overall_sd / k),
        direction=direction,
        kappa=kappa,
        log_likelihood=np.full(starts, -np.inf),
    )


def split_starts(fit: MixtureFit) -> MixtureFit:
    """Starts for k + 1 components from one fit of k, one per component split.

    Parameters
    ----------
    fit : MixtureFit
        One fit, shape (1, k).

    Returns
    -------
    MixtureFit
        Shape (k, k + 1): start ``j`` replaces component ``j`` by two halves
        of its weight whose means lie one half standard deviation either
        side of its mean, each with half its standard deviation.
    """
    k = fit.n_components
    rows = []
    for j in range(k):
        keep = [i for i in range(k) if i != j]

        def split(a, low, high, keep=keep):
            return np.concatenate([a[0, keep], [low, high]])

        weight, mean, sd = fit.weight[0, j], fit.mean[0, j], fit.sd[0, j]
        rows.append(
            (
                split(fit.weight, weight / 2, weight / 2),
                split(fit.mean, mean - sd / 2, mean + sd / 2),
                split(fit.sd, sd / 2, sd / 2),
                None
                if fit.direction is None
                else split(fit.direction, fit.direction[0, j], fit.direction[0, j]),
                None
                if fit.kappa is None
                else split(fit.kappa, fit.kappa[0, j], fit.kappa[0, j]),
            )
        )

    def stack(position):
        if rows[0][position] is None:
            return None
        return np.stack([row[position] for row in rows])

    return MixtureFit(
        weight=stack(0),
        mean=stack(1),
        sd=np.maximum(stack(2), MIN_LOG_PERIOD_SD),
        direction=stack(3),
        kappa=stack(4),
        log_likelihood=np.full(k, -np.inf),
    )


def concatenate(fits: list[MixtureFit]) -> MixtureFit:
    """Fits of the same number of components, stacked along the batch axis."""

    def join(name):
        parts = [getattr(fit, name) for fit in fits]
        return None if parts[0] is None else np.concatenate(parts, axis=0)

    return MixtureFit(
        **{field.name: join(field.name) for field in dataclasses.fields(MixtureFit)}
    )


def bic(fit: MixtureFit, n: int) -> np.ndarray:
    """Bayesian information criterion, shape (batch,): smaller is better."""
    return -2.0 * fit.log_likelihood + fit.n_parameters() * np.log(n)


def sort_components(fit: MixtureFit) -> MixtureFit:
    """Reorder every fit's components by increasing mean log period."""
    order = np.argsort(fit.mean, axis=1)

    def pick(a):
        return None if a is None else np.take_along_axis(a, order, axis=1)

    return MixtureFit(
        weight=pick(fit.weight),
        mean=pick(fit.mean),
        sd=pick(fit.sd),
        direction=pick(fit.direction),
        kappa=pick(fit.kappa),
        log_likelihood=fit.log_likelihood,
    )
