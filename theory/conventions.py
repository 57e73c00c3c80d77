"""Units and naming conventions shared by every part of turing-grids.

Lengths are metres and wavenumbers radians per metre. Three lengths are kept
apart on purpose:

- ``wavenumber`` k* is the radius of the spectral ring (rad/m);
- ``wavelength`` is 2 pi / k*, the period of one plane wave;
- ``grid_period`` is the nearest-neighbour spacing of the hexagonal lattice
  made of three plane waves of wavenumber k*, 60 degrees apart:
  4 pi / (sqrt(3) k*) = wavelength * 2 / sqrt(3).

Surround conventions for the difference encodings (width sigma, surround
scale s):

- ``"paper"`` (Schaeffer, Khona & Fiete 2022 and their code, the default):
  the surround's sigma is s * sigma;
- ``"sorscher"`` (Sorscher et al. 2019 code): s multiplies the variance, so
  the surround's sigma is sqrt(s) * sigma.
"""

from __future__ import annotations

import numpy as np

CONVENTIONS = ("paper", "sorscher")
DEFAULT_CONVENTION = "paper"

#: The grid period is this many wavelengths: 2 / sqrt(3).
PERIOD_PER_WAVELENGTH = 2.0 / np.sqrt(3.0)


def check_convention(convention: str) -> str:
    """Return ``convention`` if known, else raise a ValueError naming it."""
    if convention not in CONVENTIONS:
        raise ValueError(
            f"surround convention must be one of {', '.join(CONVENTIONS)}, "
            f"got {convention!r}"
        )
    return convention


def surround_width(width, surround_scale, convention: str = DEFAULT_CONVENTION):
    """Sigma of the surround Gaussian (m) for a centre of sigma ``width`` (m).

    Parameters
    ----------
    width : float or array
        Sigma of the centre Gaussian, metres.
    surround_scale : float or array
        The surround scale s (dimensionless, > 1).
    convention : {"paper", "sorscher"}
        ``"paper"``: s is a ratio of widths; ``"sorscher"``: a ratio of
        variances.

    Returns
    -------
    float or array
        The surround's sigma in metres.
    """
    check_convention(convention)
    ratio = surround_scale if convention == "paper" else np.sqrt(surround_scale)
    return np.asarray(width, dtype=float) * ratio


def wavelength_from_wavenumber(wavenumber):
    """Plane-wave wavelength 2 pi / k (m); infinite where k = 0."""
    k = np.asarray(wavenumber, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(k > 0, 2 * np.pi / np.where(k > 0, k, 1.0), np.inf)


def grid_period_from_wavenumber(wavenumber):
    """Hexagonal nearest-neighbour spacing 4 pi / (sqrt(3) k) (m); inf at k = 0."""
    return wavelength_from_wavenumber(wavenumber) * PERIOD_PER_WAVELENGTH


def wavenumber_from_grid_period(grid_period):
    """Inverse of :func:`grid_period_from_wavenumber` (rad/m)."""
    return 4 * np.pi / (np.sqrt(3.0) * np.asarray(grid_period, dtype=float))
