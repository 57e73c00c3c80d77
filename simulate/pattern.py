"""Pattern-forming dynamics: non-negative PCA of a target correlation.

Sorscher et al. (2019) reduce a path-integrating network's hidden unit to a
map g(x) >= 0 with ||g|| = 1 that maximises g^T Sigma g, where Sigma is the
spatial correlation of the readout targets. Non-negativity couples triplets
of the ring's plane waves and selects a hexagonal lattice at the ring
wavenumber k*.

Sigma is built from an encoding's exact targets on a grid of bin centres,
each cell's spatial mean removed (the constant part carries no pattern):

- ``operator="kernel"`` (default): the population-averaged, translation-
  invariant kernel K(d) = mean_i mean_x p_i(x) p_i(x + d), estimated by FFT
  and applied by FFT convolution; circular on a periodic box, linear on an
  open box (the kernel truncated to the box, outputs kept inside it);
- ``operator="exact"``: Sigma = P P^T / n_cells with P the (positions, cells)
  matrix of mean-removed targets, applied exactly (low rank).

The ascent is projected: g <- normalise(relu(g + rate * (Sigma g - decorrelation))),
with the rate scaled by Sigma's largest eigenvalue so one setting serves every
encoding; it stops when no unit's map moves by more than ``tolerance`` (in
norm) over one step.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import scipy.fft

from theory.cells import PlaceCells
from theory.encodings import Encoding
from theory.spectrum import bin_centres

log = logging.getLogger(__name__)

OPERATORS = ("kernel", "exact")
#: Ascent rate in units of 1 / (Sigma's largest eigenvalue).
DEFAULT_RATE = 20.0
DEFAULT_TOLERANCE = 1e-5
DEFAULT_MAX_ITERATIONS = 5000
#: Bins of 5 cm over the 2.2 m box, as the paper's rate maps.
DEFAULT_BIN_SIZE = 0.05
#: The smallest number of bins per predicted grid period the grid must offer.
MIN_BINS_PER_PERIOD = 4


@dataclass(frozen=True)
class PatternResult:
    """Converged non-negative maps of the pattern-forming dynamics.

    Attributes
    ----------
    maps : array, shape (units, ny, nx)
        Non-negative maps with unit norm; rows are y, columns x.
    box_width, box_height : float
        The box (m).
    iterations : int
        Ascent steps taken.
    converged : bool
        Whether the last step moved every map by less than the tolerance.
    objective : array, shape (units,)
        g^T Sigma g per unit, in units of Sigma's largest eigenvalue.
    seconds : float
        Wall time of the ascent, operator construction included.
    """

    maps: np.ndarray
    box_width: float
    box_height: float
    iterations: int
    converged: bool
    objective: np.ndarray
    seconds: float


class CorrelationOperator:
    """Applies the target correlation Sigma to a batch of maps (units, ny, nx).

    Parameters
    ----------
    encoding : Encoding
        The target encoding (its box and periodicity are used).
    cells : PlaceCells
        The population whose exact targets define Sigma.
    bins : (ny, nx)
        Grid of bin centres covering the box.
    operator : {"kernel", "exact"}
        See the module's notes.
    """

    def __init__(
        self, encoding: Encoding, cells: PlaceCells, bins, *, operator="kernel"
    ):
        if operator not in OPERATORS:
            raise ValueError(
                f"operator must be one of {', '.join(OPERATORS)}, got {operator!r}"
            )
        self.shape = tuple(int(b) for b in bins)
        self.operator = operator
        self.periodic = encoding.periodic
        grid = bin_centres(encoding.box_width, encoding.box_height_m, self.shape)
        targets = np.asarray(encoding.targets(grid, cells), dtype=float)  # (ny, nx, n)
        targets = targets - targets.mean(axis=(0, 1), keepdims=True)
        n_cells = targets.shape[-1]
        if operator == "exact":
            self._matrix = targets.reshape(-1, n_cells) / np.sqrt(n_cells)  # (N, n)
            self.top_eigenvalue = float(np.linalg.norm(self._matrix, 2) ** 2)
            return

        ny, nx = self.shape
        fft_shape = self.shape if self.periodic else (2 * ny - 1, 2 * nx - 1)
        spectra = scipy.fft.rfft2(targets, s=fft_shape, axes=(0, 1), workers=-1)
        power = np.sum(np.abs(spectra) ** 2, axis=-1) / n_cells  # (fy, fx//2+1)
        kernel = scipy.fft.irfft2(power, s=fft_shape)  # autocorrelation, lag-indexed
        if self.periodic:
            kernel /= ny * nx
        else:
            kernel /= _overlaps(ny, nx)
        self._kernel_spectrum = scipy.fft.rfft2(kernel)
        self._fft_shape = fft_shape
        if self.periodic:
            self.top_eigenvalue = float(np.max(np.abs(self._kernel_spectrum)))
        else:
            self.top_eigenvalue = _top_eigenvalue(self)

    def __call__(self, maps: np.ndarray) -> np.ndarray:
        """Sigma g for maps (units, ny, nx)."""
        units = maps.shape[0]
        if self.operator == "exact":
            flat = maps.reshape(units, -1)
            return ((flat @ self._matrix) @ self._matrix.T).reshape(maps.shape)
        ny, nx = self.shape
        spectrum = scipy.fft.rfft2(maps, s=self._fft_shape, axes=(-2, -1), workers=-1)
        out = scipy.fft.irfft2(
            spectrum * self._kernel_spectrum,
            s=self._fft_shape,
            axes=(-2, -1),
            workers=-1,
        )
        if self.periodic:
            return out
        # Linear convolution: output index i + j; lags run from -(n-1) to n-1,
        # stored circularly, so the box's outputs start at offset 0.
        return out[:, :ny, :nx]


def run_pattern(
    encoding: Encoding,
    *,
    units: int = 16,
    bins: int | tuple[int, int] | None = None,
    operator: str = "kernel",
    nonnegative: bool = True,
    decorrelate: float = 0.0,
    rate: float = DEFAULT_RATE,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    seed: int = 0,
    cells: PlaceCells | None = None,
) -> PatternResult:
    """Run the projected ascent for a batch of units.

    Parameters
    ----------
    encoding : Encoding
        Target encoding whose correlation drives the pattern.
    units : int
        Number of maps evolved at once.
    bins : int or (ny, nx), optional
        Grid of the maps; default 5 cm bins.
    operator : {"kernel", "exact"}
        How Sigma is applied (see the module's notes).
    nonnegative : bool
        Project onto g >= 0 after each step (False: plain power iteration).
    decorrelate : float
        Strength of a penalty on the overlaps between units' maps (0: none);
        it pushes units towards different phases of the pattern.
    rate : float
        Ascent rate in units of 1 / (Sigma's largest eigenvalue).
    tolerance : float
        Stop once every map moves by less than this (unit-norm maps).
    max_iterations : int
        Upper bound on the steps.
    seed : int
        Seed of the population (unless ``cells`` is given) and of the
        initial maps.
    cells : PlaceCells, optional
        A given population.

    Returns
    -------
    PatternResult
    """
    for name, value in (("units", units), ("max_iterations", max_iterations)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    for name, value in (("rate", rate), ("tolerance", tolerance)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    if not (np.isfinite(decorrelate) and decorrelate >= 0):
        raise ValueError(f"decorrelate must be >= 0, got {decorrelate!r}")
    shape = resolve_bins(encoding, bins)

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    if cells is None:
        cells = encoding.draw_cells(rng)
    sigma = CorrelationOperator(encoding, cells, shape, operator=operator)
    step = rate / sigma.top_eigenvalue

    maps = rng.uniform(0.0, 1.0, size=(units, *shape))
    maps /= np.linalg.norm(maps.reshape(units, -1), axis=1)[:, None, None]
    converged = False
    iteration = 0
    for iteration in range(1, int(max_iterations) + 1):  # noqa: B007
        gradient = sigma(maps)
        if decorrelate > 0 and units > 1:
            flat = maps.reshape(units, -1)
            overlaps = flat @ flat.T
            np.fill_diagonal(overlaps, 0.0)
            gradient -= (
                decorrelate
                * sigma.top_eigenvalue
                * (overlaps @ flat).reshape(maps.shape)
            )
        updated = maps + step * gradient
        if nonnegative:
            updated = np.maximum(updated, 0.0)
        norms = np.linalg.norm(updated.reshape(units, -1), axis=1)
        updated /= np.where(norms > 0, norms, 1.0)[:, None, None]
        change = np.linalg.norm((updated - maps).reshape(units, -1), axis=1).max()
        maps = updated
        if change < tolerance:
            converged = True
            break
    flat = maps.reshape(units, -1)
    objective = np.einsum("ui,ui->u", flat, sigma(maps).reshape(units, -1))
    seconds = time.perf_counter() - start
    log.info(
        "pattern: %d iterations, converged=%s, %.2f s", iteration, converged, seconds
    )
    return PatternResult(
        maps=maps,
        box_width=encoding.box_width,
        box_height=encoding.box_height_m,
        iterations=iteration,
        converged=converged,
        objective=objective / sigma.top_eigenvalue,
        seconds=seconds,
    )


def resolve_bins(encoding: Encoding, bins) -> tuple[int, int]:
    """(ny, nx) from a count or a pair; default 5 cm bins."""
    if bins is None:
        nx = max(int(round(encoding.box_width / DEFAULT_BIN_SIZE)), 1)
        ny = max(int(round(encoding.box_height_m / DEFAULT_BIN_SIZE)), 1)
        return ny, nx
    pair = (bins, bins) if np.isscalar(bins) else tuple(bins)
    if len(pair) != 2 or any(int(b) != b or b < 2 for b in pair):
        raise ValueError(
            f"bins must be an integer >= 2 or a pair of them, got {bins!r}"
        )
    return int(pair[0]), int(pair[1])


def check_resolution(shape, box_width, box_height, grid_period) -> None:
    """Raise a ValueError if the grid cannot hold one predicted grid period."""
    ny, nx = shape
    bin_size = max(box_width / nx, box_height / ny)
    if np.isfinite(grid_period) and grid_period < MIN_BINS_PER_PERIOD * bin_size:
        raise ValueError(
            f"grid of {ny}x{nx} bins ({bin_size * 100:.3g} cm) is too coarse for the "
            f"predicted grid period {grid_period * 100:.3g} cm: use at least "
            f"{MIN_BINS_PER_PERIOD} bins per period"
        )
    if np.isfinite(grid_period) and grid_period > min(box_width, box_height):
        raise ValueError(
            f"the box ({min(box_width, box_height):.3g} m) is smaller than one "
            f"predicted grid period ({grid_period:.3g} m)"
        )


def _overlaps(ny, nx):
    """Number of position pairs at each lag of a linear autocorrelation."""
    lags_y = np.fft.ifftshift(np.arange(-(ny - 1), ny))
    lags_x = np.fft.ifftshift(np.arange(-(nx - 1), nx))
    return (ny - np.abs(lags_y))[:, None] * (nx - np.abs(lags_x))[None, :]


def _top_eigenvalue(sigma: CorrelationOperator, iterations: int = 60) -> float:
    """Largest eigenvalue of the (symmetric) truncated-kernel operator."""
    vector = np.random.default_rng(0).standard_normal((1, *sigma.shape))
    value = 0.0
    for _ in range(iterations):
        image = sigma(vector)
        value = float(np.linalg.norm(image))
        vector = image / value
    return value
