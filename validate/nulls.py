"""Null-calibrated grid calls: is a unit's grid score beyond chance?

A fixed threshold (0.3, 0.8) is not a test: measured with this package, 9% of
random-blob maps and 18% of smoothed-noise maps of 20 x 20 bins score above
0.3. Here each unit is compared with surrogate maps drawn from a null model
made from the unit's own map, scored exactly like the unit:

``spectrum``
    The unit's 2-D amplitude spectrum with random Fourier phases. Unvisited
    bins are first filled by NaN-aware Gaussian interpolation (their values
    would otherwise add a white floor to the spectrum) and are NaN again in
    every surrogate. This null keeps everything second-order: by the
    Wiener-Khinchin theorem the surrogates have the unit's circular
    autocorrelation, so a hexagonal spectrum gives hexagonal surrogates. A
    unit beats it only by a lattice more regular (phase-coherent across the
    box) than random phases on its spectrum give; it is the strictest null
    and says little about units whose spectrum is already a hexagonal ring.
``ring`` (the default)
    Random Fourier phases on the unit's *radially averaged* power spectrum:
    every wavevector gets the mean power of the unit's ring of the same |k|
    (square bins assumed), so the surrogates keep the unit's spatial scale
    (its ring, its field size) but no orientation, hence no hexagonal order.
    Unvisited bins are filled and restored as for ``spectrum``. This is the
    null that asks "is this map more hexagonal than an isotropic pattern of
    the same scale?"
``fields``
    The unit's firing fields (connected visited bins above
    ``FIELD_THRESHOLD`` of the way from the median to the peak rate, at least
    ``MIN_FIELD_BINS`` bins), each with its flanks (visited bins within
    ``FIELD_MARGIN_BINS``), moved with their rates to random places where
    their cores overlap no other core and no unvisited bin; the rest of the
    map stays as it is, the fields' old places at the median of the
    field-free bins. Keeps number, sizes, shapes and peak rates of the
    fields, destroys their arrangement. A unit without fields gets its
    visited values shuffled.
``noise``
    Gaussian-smoothed white noise whose smoothness matches the unit's: the
    kernel width along each axis gives the unit's lag-1 autocorrelation,
    exp(-1 / (4 sigma^2)) for smoothed white noise. Unvisited bins as the
    unit's.

For every unit: its 60- and 90-degree scores, the null's 95th and 99th
percentiles, and the Monte-Carlo p-value (1 + #{null >= observed}) / (1 + N)
(a Monte-Carlo test; Davison & Hinkley 1997, Bootstrap Methods and their
Application, ch. 4). A unit *beats the null* when
``p_value_60 <= alpha``; with N samples and exchangeable maps this happens by
chance with probability floor(alpha (N + 1)) / (N + 1) <= alpha, and never
when N + 1 < 1 / alpha. The population summary is the fraction of units
(with a defined score) beating the null, with a Wilson score interval.

Surrogates of unit ``u`` come from its own random stream (spawned from
``seed``), so its null does not depend on which other units are in the file.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.fft
import scipy.ndimage
import scipy.signal

from validate.parallel import available_cores, parallel_map
from validate.scores import DEFAULT_FORM, check_form, grid_scores
from validate.statistics import wilson_interval

logger = logging.getLogger(__name__)

NULLS = ("ring", "spectrum", "fields", "noise")
DEFAULT_NULL = "ring"

#: Surrogates per unit. ``benchmarks/bench_nulls.py --spread``: for a smoothed
#: noise map the interpolated 99th percentile is biased low with few samples
#: (mean 0.65 at N = 25, 0.755 at 100, 0.77 at 200, 0.78 at 400) and spreads
#: by sd 0.155, 0.063, 0.068, 0.037 across seeds; 200 is within 0.01 of the
#: large-N value at twice the cost of 100. N >= 99 is needed for p <= 0.01.
DEFAULT_NULL_SAMPLES = 200
MIN_NULL_SAMPLES = 20

#: Level of the per-unit test and of the population interval.
ALPHA = 0.01

#: Gaussian (bins) that fills unvisited bins before the spectrum is taken,
#: and the kernel weight of visited bins below which the mean is used.
FILL_SIGMA_BINS = 1.0
_NEAR_WEIGHT = 1e-3

#: Field detection: above median + FIELD_THRESHOLD * (peak - median).
FIELD_THRESHOLD = 0.3
MIN_FIELD_BINS = 4
#: A field carries the visited bins this close to it (bins) when it moves.
FIELD_MARGIN_BINS = 1.0
#: Random positions tried per field and sample before overlap is allowed.
PLACEMENT_TRIES = 64

#: Lag-1 correlation is clipped here to keep the matched kernel finite.
MAX_LAG1_CORRELATION = 0.999

#: Null maps scored together (memory: ~60 KB each for 44 x 44), and the
#: precision they are scored in (about twice as fast as double).
MAPS_PER_BATCH = 2048
NULL_DTYPE = np.float32


def check_null(null: str) -> str:
    """Return ``null`` if it is a known null model, else raise ValueError."""
    if null not in NULLS:
        raise ValueError(f"null must be one of {', '.join(NULLS)}, got {null!r}")
    return null


def check_samples(samples) -> int:
    """Null sample count as an int >= MIN_NULL_SAMPLES, else ValueError."""
    if isinstance(samples, bool) or int(samples) != samples:
        raise ValueError(f"null samples must be an integer, got {samples!r}")
    if samples < MIN_NULL_SAMPLES:
        raise ValueError(
            f"null samples must be at least {MIN_NULL_SAMPLES} for a usable "
            f"percentile, got {samples}"
        )
    return int(samples)


def unit_streams(units: int, seed) -> list[np.random.Generator]:
    """One independent generator per unit, spawned from ``seed``."""
    sequence = np.random.SeedSequence(seed)
    return [np.random.default_rng(child) for child in sequence.spawn(units)]


# --------------------------------------------------------------------------
# Surrogate maps


def surrogate_maps(
    ratemaps,
    *,
    null: str = DEFAULT_NULL,
    samples: int,
    seed=0,
    rngs=None,
    dtype=np.float64,
) -> np.ndarray:
    """Surrogate maps of every unit under a null model.

    Parameters
    ----------
    ratemaps : array, shape (units, ny, nx)
        Rate maps, NaN where unvisited.
    null : {"spectrum", "fields", "noise"}
        The null model (see the module docstring).
    samples : int
        Surrogates per unit.
    seed : int or numpy.random.SeedSequence
        Seed of the per-unit streams (ignored if ``rngs`` is given).
    rngs : list of numpy.random.Generator, optional
        One generator per unit.
    dtype : numpy float type
        Precision of the surrogates (``NULL_DTYPE`` when they are only scored;
        the random draws depend on it).

    Returns
    -------
    array, shape (units, samples, ny, nx)
        NaN exactly where the unit's map is NaN. A unit with no visited bin
        or a constant map gives constant (or all-NaN) surrogates, hence NaN
        scores.
    """
    check_null(null)
    maps = np.asarray(ratemaps, dtype=float)
    if maps.ndim != 3:
        raise ValueError(f"ratemaps must have shape (units, ny, nx), got {maps.shape}")
    if rngs is None:
        rngs = unit_streams(maps.shape[0], seed)
    if len(rngs) != maps.shape[0]:
        raise ValueError(f"need one generator per unit, got {len(rngs)}")
    make = {
        "ring": _ring_surrogates,
        "spectrum": _spectrum_surrogates,
        "fields": _field_surrogates,
        "noise": _noise_surrogates,
    }[null]
    surrogates = make(maps, samples, rngs, np.dtype(dtype)).astype(dtype, copy=False)
    surrogates[np.broadcast_to(np.isnan(maps)[:, None], surrogates.shape)] = np.nan
    return surrogates


def _draws(rngs, samples, shape, dtype, draw) -> np.ndarray:
    """``draw(rng, out)`` fills each unit's (samples, *shape) block from its
    own stream; returns shape (units, samples, *shape)."""
    out = np.empty((len(rngs), samples, *shape), dtype=dtype)
    for rng, block in zip(rngs, out, strict=True):
        draw(rng, block)
    return out


def _hermitian_columns(spectrum: np.ndarray, nx: int, real_value) -> np.ndarray:
    """Give an rfft2 array the symmetries of a real (ny, nx) map's transform,
    in place: its kx = 0 column (and kx = nx / 2 for even nx) must satisfy
    F[-ky] = conj(F[ky]), and be real where ky = -ky, where it becomes
    ``real_value(real part)``."""
    ny = spectrum.shape[-2]
    own = np.arange(ny)
    mirror = -own % ny
    upper, real = own > mirror, own == mirror
    for column in {0, nx // 2} if nx % 2 == 0 else {0}:
        values = spectrum[..., column]
        values[..., upper] = np.conj(values[..., mirror[upper]])
        values[..., real] = real_value(values[..., real].real)
    return spectrum


def _random_phases(shape, samples, rngs, dtype) -> np.ndarray:
    """Unit phasors with uniform phases on the rfft2 grid of real (ny, nx)
    maps: shape (units, samples, ny, nx // 2 + 1), per-unit streams.

    With the symmetries of :func:`_hermitian_columns` (phase 0 or pi where
    the transform is real), this is the phase distribution of the transform
    of white noise, drawn without transforming noise.
    """
    ny, nx = shape
    angle = _draws(
        rngs,
        samples,
        (ny, nx // 2 + 1),
        dtype,
        lambda rng, out: rng.random(out=out, dtype=out.dtype),
    )
    angle *= 2 * np.pi
    phasors = np.empty(angle.shape, dtype=np.result_type(dtype, np.complex64))
    np.cos(angle, out=phasors.real)  # 10x faster than a complex exp
    np.sin(angle, out=phasors.imag)
    return _hermitian_columns(phasors, nx, lambda x: np.where(x >= 0, 1.0, -1.0))


def _white_noise_spectrum(shape, samples, rngs, dtype) -> np.ndarray:
    """The rfft2 of unit white noise on (ny, nx), up to a constant factor,
    drawn directly: complex Gaussian of mean power 1 per wavevector, with the
    symmetries of :func:`_hermitian_columns` (real and N(0, 1) where the
    transform is real). Shape (units, samples, ny, nx // 2 + 1)."""
    ny, nx = shape
    parts = _draws(
        rngs,
        samples,
        (ny, nx // 2 + 1, 2),
        dtype,
        lambda rng, out: rng.standard_normal(out=out, dtype=out.dtype),
    )
    parts *= np.sqrt(0.5)
    spectrum = parts.view(np.result_type(dtype, np.complex64))[..., 0]
    return _hermitian_columns(spectrum, nx, lambda x: x * np.sqrt(2.0))


def _with_random_phases(amplitude, mean, samples, rngs, shape, dtype) -> np.ndarray:
    """Real maps with rfft2 amplitudes ``amplitude`` (units, ny, nx // 2 + 1)
    and random phases, plus ``mean``: shape (units, samples, ny, nx)."""
    spectrum = _random_phases(shape, samples, rngs, dtype)
    spectrum *= amplitude[:, None].astype(dtype)
    return scipy.fft.irfft2(spectrum, s=shape) + mean[:, None].astype(dtype)


def _fill_unvisited(maps: np.ndarray) -> np.ndarray:
    """Unvisited bins replaced by a Gaussian average of the visited bins
    around them, or by the map's mean where none is near (0 for a map with
    no visited bin)."""
    valid = np.isfinite(maps)
    sigma = (0, FILL_SIGMA_BINS, FILL_SIGMA_BINS)
    filled0 = np.where(valid, maps, 0.0)
    weight = scipy.ndimage.gaussian_filter(valid.astype(float), sigma, mode="constant")
    blurred = scipy.ndimage.gaussian_filter(filled0, sigma, mode="constant")
    count = valid.sum(axis=(1, 2))
    mean = filled0.sum(axis=(1, 2)) / np.maximum(count, 1)
    near = weight > _NEAR_WEIGHT
    interpolated = np.where(
        near, blurred / np.where(near, weight, 1.0), mean[:, None, None]
    )
    return np.where(valid, maps, interpolated)


def _spectrum_surrogates(maps, samples, rngs, dtype) -> np.ndarray:
    """Amplitude spectrum of each (filled) map with random phases."""
    _, ny, nx = maps.shape
    filled = _fill_unvisited(maps)
    mean = filled.mean(axis=(1, 2), keepdims=True)
    amplitude = np.abs(scipy.fft.rfft2(filled - mean))  # (units, ny, nx // 2 + 1)
    return _with_random_phases(amplitude, mean, samples, rngs, (ny, nx), dtype)


def _ring_surrogates(maps, samples, rngs, dtype) -> np.ndarray:
    """Radially averaged power spectrum of each (filled) map, random phases."""
    units, ny, nx = maps.shape
    filled = _fill_unvisited(maps)
    mean = filled.mean(axis=(1, 2), keepdims=True)
    power = np.abs(scipy.fft.rfft2(filled - mean)) ** 2  # (units, ny, nx // 2 + 1)
    # Rings of width one frequency step of the longer side, in cycles per bin.
    radius = np.hypot(np.fft.fftfreq(ny)[:, None], np.fft.rfftfreq(nx)[None, :])
    ring = np.rint(radius * max(ny, nx)).astype(int).ravel()
    # Interior rfft columns stand for two wavevectors of the full plane.
    columns = np.full(nx // 2 + 1, 2.0)
    columns[0] = 1.0
    if nx % 2 == 0:
        columns[-1] = 1.0
    weight = np.broadcast_to(columns, (ny, columns.size)).ravel()
    counts = np.bincount(ring, weights=weight)
    members = np.zeros((ring.size, counts.size))
    members[np.arange(ring.size), ring] = weight
    ring_power = power.reshape(units, -1) @ members / np.maximum(counts, 1)
    amplitude = np.sqrt(ring_power[:, ring]).reshape(power.shape)
    return _with_random_phases(amplitude, mean, samples, rngs, (ny, nx), dtype)


def lag1_correlation(ratemaps) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation of neighbouring visited bins along y and along x."""
    maps = np.asarray(ratemaps, dtype=float)
    out = []
    for axis in (1, 2):
        a = np.delete(maps, -1, axis=axis)
        b = np.delete(maps, 0, axis=axis)
        ok = np.isfinite(a) & np.isfinite(b)
        count = ok.sum(axis=(1, 2))
        a, b = np.where(ok, a, 0.0), np.where(ok, b, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_a = a.sum(axis=(1, 2)) / count
            mean_b = b.sum(axis=(1, 2)) / count
            da = np.where(ok, a - mean_a[:, None, None], 0.0)
            db = np.where(ok, b - mean_b[:, None, None], 0.0)
            r = (da * db).sum(axis=(1, 2)) / np.sqrt(
                (da**2).sum(axis=(1, 2)) * (db**2).sum(axis=(1, 2))
            )
        out.append(r)
    return out[0], out[1]


def _noise_surrogates(maps, samples, rngs, dtype) -> np.ndarray:
    """Periodic Gaussian-smoothed noise with the unit's lag-1 correlations."""
    _, ny, nx = maps.shape
    sigmas = []
    for rho in lag1_correlation(maps):
        rho = np.clip(np.nan_to_num(rho, nan=0.0), 0.0, MAX_LAG1_CORRELATION)
        with np.errstate(divide="ignore"):
            sigmas.append(np.where(rho > 0, np.sqrt(-1 / (4 * np.log(rho))), 0.0))
    sigma_y, sigma_x = sigmas
    # Gaussian transfer function, per unit: exp(-2 pi^2 sigma^2 f^2).
    fy = np.fft.fftfreq(ny)[None, :, None]
    fx = np.fft.rfftfreq(nx)[None, None, :]
    transfer = np.exp(
        -2
        * np.pi**2
        * (sigma_y[:, None, None] ** 2 * fy**2 + sigma_x[:, None, None] ** 2 * fx**2)
    )
    noise = _white_noise_spectrum((ny, nx), samples, rngs, dtype)
    smooth = scipy.fft.irfft2(noise * transfer[:, None].astype(dtype), s=(ny, nx))
    # Same mean and spread as the unit's map (scores ignore both anyway).
    valid = np.isfinite(maps)
    count = np.maximum(valid.sum(axis=(1, 2)), 1)
    mean = np.where(valid, maps, 0.0).sum(axis=(1, 2)) / count
    centred = np.where(valid, maps - mean[:, None, None], 0.0)
    std = np.sqrt((centred**2).sum(axis=(1, 2)) / count)
    scale = smooth.std(axis=(2, 3), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        smooth = np.where(scale > 0, smooth / scale, 0.0)
    return smooth * std[:, None, None, None] + mean[:, None, None, None]


def detect_fields(ratemap: np.ndarray) -> tuple[np.ndarray, int]:
    """Firing fields of one map: labels (0 = background) and their number."""
    valid = np.isfinite(ratemap)
    if not valid.any():
        return np.zeros(ratemap.shape, dtype=int), 0
    median = np.median(ratemap[valid])
    peak = np.max(ratemap[valid])
    if not peak > median:
        return np.zeros(ratemap.shape, dtype=int), 0
    above = valid & (ratemap > median + FIELD_THRESHOLD * (peak - median))
    labels, count = scipy.ndimage.label(above, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep = np.flatnonzero(sizes >= MIN_FIELD_BINS)
    keep = keep[keep > 0]
    relabel = np.zeros(count + 1, dtype=int)
    relabel[keep] = np.arange(1, len(keep) + 1)
    return relabel[labels], len(keep)


def field_extents(ratemap: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Fields grown by ``FIELD_MARGIN_BINS`` into visited bins (each bin to
    its nearest field), so that a field carries its flanks with it."""
    valid = np.isfinite(ratemap)
    distance, (iy, ix) = scipy.ndimage.distance_transform_edt(
        labels == 0, return_indices=True
    )
    grown = labels[iy, ix]
    return np.where(valid & (distance <= FIELD_MARGIN_BINS), grown, 0)


def _field_surrogates(maps, samples, rngs, dtype) -> np.ndarray:
    """The unit's fields, with their flanks, moved to random positions where
    their cores overlap no other core and no unvisited bin; the rest of the
    map stays (the fields' old places at the median of the field-free bins).
    """
    units, ny, nx = maps.shape
    out = np.empty((units, samples, ny, nx))
    overlapping = 0
    every = np.arange(samples)[:, None]
    for unit, (ratemap, rng) in enumerate(zip(maps, rngs, strict=True)):
        valid = np.isfinite(ratemap)
        cores, count = detect_fields(ratemap)
        if count == 0:
            # No field (flat or empty map): the visited values shuffled.
            surrogate = np.zeros((samples, ny, nx))
            values = np.broadcast_to(ratemap[valid], (samples, int(valid.sum())))
            surrogate[:, valid] = rng.permuted(values, axis=1)
            out[unit] = surrogate
            continue
        extents = field_extents(ratemap, cores)
        outside = valid & (extents == 0)
        level = np.median(ratemap[outside]) if outside.any() else np.min(ratemap[valid])
        # What is not a field stays where it is; the fields move over it.
        residual = np.where(valid & (extents == 0), ratemap, level)
        surrogate = np.repeat(residual[None], samples, axis=0)
        placed = np.zeros((samples, ny, nx), dtype=bool)  # cores so far
        covered = np.zeros((samples, ny, nx), dtype=bool)  # fields with flanks
        sizes = np.bincount(cores.ravel())[1:]
        for field in np.argsort(-sizes, kind="stable") + 1:
            rows, cols = np.nonzero(extents == field)
            rates = ratemap[rows, cols]
            core = cores[rows, cols] == field
            top, left = rows.min(), cols.min()
            rows, cols = rows - top, cols - left
            height, width = rows.max() + 1, cols.max() + 1
            footprint = np.zeros((1, height, width))
            footprint[0, rows[core], cols[core]] = 1.0
            # Core bins each top-left offset would put on a taken bin (a
            # placed core or an unvisited bin), over the offsets that keep
            # the field inside the box.
            taken = (placed | ~valid).astype(float)
            clash = scipy.signal.fftconvolve(
                taken, footprint[:, ::-1, ::-1], mode="valid", axes=(1, 2)
            )
            free = clash < 0.5
            # A uniformly random free offset per sample; any offset if none.
            none_free = ~free.any(axis=(1, 2))
            overlapping += int(none_free.sum())
            draw = rng.random(free.shape)
            draw = np.where(free | none_free[:, None, None], draw, -1.0)
            oy, ox = np.divmod(draw.reshape(samples, -1).argmax(axis=1), free.shape[2])
            ys, xs = oy[:, None] + rows[None], ox[:, None] + cols[None]
            # The field's rates replace what is there (the higher rate where
            # its flank meets another field's), so its peak rate is exact.
            current = surrogate[every, ys, xs]
            surrogate[every, ys, xs] = np.where(
                covered[every, ys, xs], np.maximum(current, rates), rates
            )
            covered[every, ys, xs] = True
            placed[every, ys[:, core], xs[:, core]] = True
        out[unit] = surrogate
    if overlapping:
        logger.info(
            "fields null: %d field placements found no free position and overlap",
            overlapping,
        )
    return out


# --------------------------------------------------------------------------
# Calibration


def null_scores(
    ratemaps,
    *,
    box_width: float,
    box_height: float | None = None,
    null: str = DEFAULT_NULL,
    samples: int = DEFAULT_NULL_SAMPLES,
    seed=0,
    form: str = DEFAULT_FORM,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """60- and 90-degree scores of every unit's surrogates.

    Units are scored in batches on ``workers`` threads (default: one per
    available core); the scores do not depend on it.

    Returns
    -------
    score_60, score_90 : arrays, shape (units, samples)
        NaN where a surrogate's score is undefined.
    """
    check_null(null)
    samples = check_samples(samples)
    maps = np.asarray(ratemaps, dtype=float)
    units, ny, nx = maps.shape
    bin_size = _bin_size(box_width, box_height, ny, nx)
    rngs = unit_streams(units, seed)
    score_60 = np.full((units, samples), np.nan)
    score_90 = np.full((units, samples), np.nan)
    workers = available_cores() if workers is None else workers
    per_batch = max(1, min(MAPS_PER_BATCH // samples, -(-units // workers)))
    batches = [slice(start, start + per_batch) for start in range(0, units, per_batch)]
    # Batches of units on threads; a lone batch spreads its maps instead.
    inner = workers if len(batches) == 1 else 1

    def score(batch):
        surrogates = surrogate_maps(
            maps[batch],
            null=null,
            samples=samples,
            rngs=rngs[batch],
            dtype=NULL_DTYPE,
        )
        scored = grid_scores(
            surrogates.reshape(-1, ny, nx),
            bin_size=bin_size,
            form=form,
            dtype=NULL_DTYPE,
            workers=inner,
        )
        return batch, scored

    for batch, scored in parallel_map(score, batches, workers):
        score_60[batch] = scored["score_60"].reshape(-1, samples)
        score_90[batch] = scored["score_90"].reshape(-1, samples)
    return score_60, score_90


def calibrate(
    ratemaps,
    *,
    box_width: float,
    box_height: float | None = None,
    null: str = DEFAULT_NULL,
    samples: int = DEFAULT_NULL_SAMPLES,
    seed=0,
    form: str = DEFAULT_FORM,
    alpha: float = ALPHA,
) -> dict:
    """Grid scores of every unit against a null model of its own map.

    Parameters
    ----------
    ratemaps : array, shape (units, ny, nx) or (ny, nx)
        Rate maps, rows along y and columns along x, NaN where unvisited.
    box_width, box_height : float
        Box sides along x and y (m); ``box_height`` defaults to ``box_width``.
    null : {"spectrum", "fields", "noise"}
        Null model (see the module docstring).
    samples : int
        Surrogates per unit, at least ``MIN_NULL_SAMPLES``; at least
        ``1 / alpha - 1`` for any unit to be able to beat the null.
    seed : int
        Seed of the per-unit random streams.
    form : {"minmax", "mean"}
        60-degree score form.
    alpha : float
        A unit beats the null when ``p_value_60 <= alpha``.

    Returns
    -------
    dict
        Per unit, arrays of shape (units,): ``score_60``, ``score_90``,
        ``null_p95_60``, ``null_p99_60``, ``p_value_60``, ``null_p95_90``,
        ``null_p99_90``, ``p_value_90`` (NaN where the score is undefined)
        and ``beats_null`` (bool). Population: ``n_units``, ``n_defined``,
        ``n_beats_null``, ``fraction_beats_null`` and its Wilson 95%
        interval ``fraction_ci`` (over units with a defined score),
        ``chance_fraction`` (the rate at which exchangeable maps beat the
        null), ``min_p_value``; and ``null``, ``samples``, ``seed``,
        ``form``, ``alpha``, ``rule``.
    """
    check_null(null)
    check_form(form)
    samples = check_samples(samples)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    maps = np.asarray(ratemaps, dtype=float)
    if maps.ndim == 2:
        maps = maps[None]
    if maps.ndim != 3:
        raise ValueError(f"ratemaps must have shape (units, ny, nx), got {maps.shape}")
    units, ny, nx = maps.shape
    box_height = box_width if box_height is None else box_height
    bin_size = _bin_size(box_width, box_height, ny, nx)
    if samples + 1 < 1 / alpha:
        logger.warning(
            "%d null samples cannot give p <= %g: no unit can beat the null",
            samples,
            alpha,
        )

    observed = grid_scores(maps, bin_size=bin_size, form=form)
    # Surrogates are scored in single precision; the unit is compared with
    # them at the same precision (scores differ by ~1e-5).
    comparable = grid_scores(maps, bin_size=bin_size, form=form, dtype=NULL_DTYPE)
    nulls = null_scores(
        maps,
        box_width=box_width,
        box_height=box_height,
        null=null,
        samples=samples,
        seed=seed,
        form=form,
    )
    out = {}
    for name, null_sample in zip(("60", "90"), nulls, strict=True):
        out[f"score_{name}"] = observed[f"score_{name}"]
        p95, p99, p_value = _null_statistics(comparable[f"score_{name}"], null_sample)
        out[f"null_p95_{name}"] = p95
        out[f"null_p99_{name}"] = p99
        out[f"p_value_{name}"] = p_value
    beats = np.isfinite(out["p_value_60"]) & (out["p_value_60"] <= alpha)
    out["beats_null"] = beats

    defined = int(np.isfinite(out["score_60"]).sum())
    hits = int(beats.sum())
    low, high = wilson_interval(hits, defined)
    out.update(
        n_units=units,
        n_defined=defined,
        n_beats_null=hits,
        fraction_beats_null=hits / defined if defined else np.nan,
        fraction_ci=(low, high),
        chance_fraction=np.floor(alpha * (samples + 1)) / (samples + 1),
        min_p_value=1 / (samples + 1),
        null=null,
        samples=samples,
        seed=seed,
        form=form,
        alpha=alpha,
        rule=f"beats_null: p_value_60 <= {alpha:g}, p = (1 + #null >= observed) "
        "/ (1 + N defined null scores); fraction over units with a defined "
        "score, Wilson 95% interval",
    )
    return out


def _null_statistics(score, null_sample):
    """95th and 99th null percentiles and Monte-Carlo p-values per unit."""
    finite = np.isfinite(null_sample)
    count = finite.sum(axis=1)
    masked = np.where(finite, null_sample, np.nan)
    p95 = np.full(score.shape, np.nan)
    p99 = np.full(score.shape, np.nan)
    some = count > 0
    if some.any():
        p95[some], p99[some] = np.nanquantile(masked[some], [0.95, 0.99], axis=1)
    exceed = (finite & (null_sample >= score[:, None])).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_value = (1 + exceed) / (1 + count)
    p_value = np.where(np.isfinite(score) & some, p_value, np.nan)
    return p95, p99, p_value


def _bin_size(box_width, box_height, ny, nx) -> tuple[float, float]:
    box_height = box_width if box_height is None else box_height
    for name, value in (("box_width", box_width), ("box_height", box_height)):
        if value is None or not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive length (m), got {value}")
    return box_height / ny, box_width / nx
