"""Predicted ring wavenumber, lattice verdict and grid period, vectorised.

The closed forms are those of :mod:`theory.symbolic` (the tests check that
these numpy versions and strings equal the sympy derivation); this module
needs no sympy, so a prediction takes milliseconds.

Every difference encoding is, in the dense-cell limit, a general
difference of Gaussians with transform
``F(k) = A_E sigma_E^2 exp(-sigma_E^2 k^2 / 2) - A_I sigma_I^2 exp(-sigma_I^2 k^2 / 2)``
(up to 2 pi), with effective amplitudes (A_E, A_I) = (1/sigma_E^2, 1/sigma_I^2)
for DoS (unit-mass Gaussians), (1, 1) for equal-amplitude DoG and
(alpha_E, alpha_I) for the general DoG. Its stationary point is
``k*^2 = 2 ln(A_I sigma_I^4 / (A_E sigma_E^4)) / (sigma_I^2 - sigma_E^2)``, and a
lattice forms where ``|F(k*)| > |F(0)|``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from theory.box import box_fit, periodic_shells
from theory.conventions import (
    grid_period_from_wavenumber,
    surround_width,
    wavelength_from_wavenumber,
)
from theory.encodings import Encoding

#: k* of the selected mode in terms of sigma (m), s, alpha_E, alpha_I, per
#: convention; "0" where the uniform mode wins. Checked against sympy in tests.
RING_CLOSED_FORMS = {
    ("dos", "paper"): "2*sqrt(log(s)/(s**2 - 1))/sigma",
    ("dos", "sorscher"): "sqrt(2*log(s)/(s - 1))/sigma",
    ("dog", "paper"): "2*sqrt(2*log(s)/(s**2 - 1))/sigma",
    ("dog", "sorscher"): "2*sqrt(log(s)/(s - 1))/sigma",
    ("general_dog", "paper"): ("sqrt(2*log(alpha_I*s**4/alpha_E)/(s**2 - 1))/sigma"),
    ("general_dog", "sorscher"): ("sqrt(2*log(alpha_I*s**2/alpha_E)/(s - 1))/sigma"),
}
#: Encodings whose selected wavenumber is exactly 0 in the dense limit.
NO_RING = ("gaussian", "sod")
#: Encodings whose dense-limit ring is that of single-field DoS.
DOS_LIKE = ("dos", "multifield")


def _dog_parameters(name, width, surround_scale, convention, alpha_e, alpha_i):
    """(sigma_E, sigma_I, A_E, A_I) of the encoding's dense-limit DoG."""
    sigma_e = np.asarray(width, dtype=float)
    sigma_i = surround_width(sigma_e, surround_scale, convention)
    return (sigma_e, sigma_i, *_amplitudes(name, sigma_e, sigma_i, alpha_e, alpha_i))


def _amplitudes(name, sigma_e, sigma_i, alpha_e, alpha_i):
    if name in DOS_LIKE:
        return 1 / sigma_e**2, 1 / sigma_i**2
    if name == "dog":
        return np.ones_like(sigma_e), np.ones_like(sigma_i)
    return np.asarray(alpha_e, dtype=float), np.asarray(alpha_i, dtype=float)


def transform(
    name: str,
    wavenumber,
    width,
    surround_scale=2.0,
    *,
    convention: str = "paper",
    alpha_e=1.0,
    alpha_i=1.0,
):
    """Dense-limit Fourier transform F(k) of a difference encoding (up to 2 pi)."""
    sigma_e, sigma_i, amp_e, amp_i = _dog_parameters(
        name, width, surround_scale, convention, alpha_e, alpha_i
    )
    k2 = np.asarray(wavenumber, dtype=float) ** 2
    return amp_e * sigma_e**2 * np.exp(-(sigma_e**2) * k2 / 2) - (
        amp_i * sigma_i**2 * np.exp(-(sigma_i**2) * k2 / 2)
    )


def stationary_wavenumber(
    name: str,
    width,
    surround_scale=2.0,
    *,
    convention: str = "paper",
    alpha_e=1.0,
    alpha_i=1.0,
):
    """k* > 0 where dF/d(k^2) = 0 (rad/m), NaN where F has no such point."""
    sigma_e, sigma_i, amp_e, amp_i = _dog_parameters(
        name, width, surround_scale, convention, alpha_e, alpha_i
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        squared = (
            2
            * np.log(amp_i * sigma_i**4 / (amp_e * sigma_e**4))
            / (sigma_i**2 - sigma_e**2)
        )
        return np.where(squared > 0, np.sqrt(np.where(squared > 0, squared, 1)), np.nan)


def lattice_forms(name: str, width, surround_scale=2.0, **options) -> np.ndarray:
    """Whether the ring beats the uniform mode: ``|F(k*)| > |F(0)|``."""
    if name in NO_RING:
        return np.zeros(np.shape(width), dtype=bool)
    ring = stationary_wavenumber(name, width, surround_scale, **options)
    at_ring = np.abs(
        transform(name, np.nan_to_num(ring), width, surround_scale, **options)
    )
    at_zero = np.abs(transform(name, 0.0, width, surround_scale, **options))
    return np.isfinite(ring) & (at_ring > at_zero)


def ring_wavenumber(name: str, width, surround_scale=2.0, **options) -> np.ndarray:
    """The selected wavenumber (rad/m): k* where a lattice forms, else 0."""
    if name in NO_RING:
        return np.zeros(np.shape(width))
    ring = stationary_wavenumber(name, width, surround_scale, **options)
    return np.where(lattice_forms(name, width, surround_scale, **options), ring, 0.0)


def alpha_ratio_window(
    width: float, surround_scale: float, *, convention: str = "paper"
) -> tuple[float, float]:
    """The open interval of alpha_E / alpha_I where a general DoG forms a lattice.

    The upper edge is (sigma_I / sigma_E)^4, where the ring shrinks to k = 0;
    the lower edge, where ``|F(k*)| = |F(0)|`` with F(0) < 0, is found by
    root-finding (it lies below the balanced ratio (sigma_I / sigma_E)^2).
    """
    from scipy.optimize import brentq  # imported here: scipy.optimize is slow to load

    sigma_i = float(surround_width(width, surround_scale, convention))
    high = (sigma_i / width) ** 4
    balanced = (sigma_i / width) ** 2

    def margin(log_ratio):
        options = {
            "convention": convention,
            "alpha_e": np.exp(log_ratio),
            "alpha_i": 1.0,
        }
        ring = stationary_wavenumber("general_dog", width, surround_scale, **options)
        return abs(
            transform("general_dog", ring, width, surround_scale, **options)
        ) - abs(transform("general_dog", 0.0, width, surround_scale, **options))

    low = np.exp(brentq(margin, np.log(balanced) - 50, np.log(balanced), xtol=1e-13))
    return float(low), float(high)


@dataclass(frozen=True)
class Prediction:
    """The theory's answer for one encoding; see :func:`predict`."""

    encoding: str
    width: float | None
    surround_scale: float | None
    convention: str
    surround_width: float | None
    wavenumber: float
    wavelength: float
    grid_period: float
    pattern: str
    closed_form: str | None
    ring_closed_form: str | None
    fft_wavenumber: float | None
    fft_pattern: str | None
    fft_agrees: bool | None
    fft_resolution: float | None
    box_width: float
    box_height: float
    periodic: bool
    fits_box: bool
    periods_across_box: float
    box_note: str
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {key: getattr(self, key) for key in self.__dataclass_fields__}
        out.update(out.pop("extra"))
        return out


def predict(encoding: Encoding, *, fft: bool = True, seed: int = 0) -> Prediction:
    """Predict wavenumber, grid period and pattern for ``encoding``.

    Parameters
    ----------
    encoding : Encoding
        The target encoding and its parameters.
    fft : bool
        Also measure k* on the FFT of the exact targets (finite population).
    seed : int
        Seed of the population for the FFT check.

    Returns
    -------
    Prediction
        ``wavenumber`` (rad/m), ``wavelength`` and ``grid_period`` (m),
        ``pattern`` ("hexagonal" or "none"), the closed form (null where none
        exists), the FFT check and the box's effect.
    """
    name, convention = encoding.name, encoding.convention
    options = {
        "convention": convention,
        "alpha_e": encoding.alpha_e,
        "alpha_i": encoding.alpha_i,
    }
    heterogeneous = (
        encoding.widths_range is not None or encoding.surround_range is not None
    )
    extra: dict = {}

    spectrum = None
    if fft:
        from theory.spectrum import radial_spectrum

        spectrum = radial_spectrum(encoding, seed=seed)

    closed_form = ring_form = None
    if name in ("cartesian", "polar"):
        # Low-rank and not translation invariant: no ring (Sorscher et al. 2019).
        wavenumber = 0.0
        extra["source"] = "theory: targets are not translation invariant"
    elif heterogeneous:
        wavenumber = spectrum.peak_wavenumber if spectrum is not None else float("nan")
        extra["source"] = "fft" if spectrum is not None else "none"
    elif name in NO_RING:
        wavenumber, closed_form = 0.0, "0"
        extra["source"] = "closed_form"
    else:
        closed = "dos" if name == "multifield" else name
        ring_form = RING_CLOSED_FORMS[(closed, convention)]
        wavenumber = float(
            ring_wavenumber(name, encoding.width, encoding.surround_scale, **options)
        )
        closed_form = ring_form if wavenumber > 0 else "0"
        extra["source"] = "closed_form"
        if name == "multifield":
            extra["closed_form_note"] = (
                "single-field dense limit; extra fields keep the ring on average"
            )
        if name == "general_dog":
            low, high = alpha_ratio_window(
                encoding.width, encoding.surround_scale, convention=convention
            )
            extra["alpha_ratio"] = encoding.alpha_e / encoding.alpha_i
            extra["alpha_ratio_window"] = [low, high]

    fit = box_fit(wavenumber, encoding.box_width, encoding.box_height_m)
    if encoding.periodic and wavenumber > 0:
        extra["periodic_shells"] = periodic_shells(
            wavenumber, encoding.box_width, encoding.box_height_m
        )

    fft_wavenumber = fft_pattern = fft_agrees = resolution = None
    if spectrum is not None:
        fft_wavenumber = spectrum.peak_wavenumber
        fft_pattern = "hexagonal" if spectrum.lattice else "none"
        resolution = spectrum.resolution
        if np.isfinite(wavenumber):
            fft_agrees = bool(
                (wavenumber > 0) == spectrum.lattice
                and abs(fft_wavenumber - wavenumber) <= resolution
            )

    return Prediction(
        encoding=name,
        width=encoding.width,
        surround_scale=encoding.surround_scale if encoding.is_difference else None,
        convention=convention,
        surround_width=encoding.surround_width,
        wavenumber=float(wavenumber),
        wavelength=float(wavelength_from_wavenumber(wavenumber)),
        grid_period=float(grid_period_from_wavenumber(wavenumber)),
        pattern="hexagonal" if wavenumber > 0 and fit.fits else "none",
        closed_form=closed_form,
        ring_closed_form=ring_form,
        fft_wavenumber=fft_wavenumber,
        fft_pattern=fft_pattern,
        fft_agrees=fft_agrees,
        fft_resolution=resolution,
        box_width=encoding.box_width,
        box_height=encoding.box_height_m,
        periodic=encoding.periodic,
        fits_box=fit.fits,
        periods_across_box=fit.periods_across,
        box_note=fit.reason,
        extra=extra,
    )
