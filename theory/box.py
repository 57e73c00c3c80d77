"""What a finite box does to the predicted lattice.

An open box of side L holds no wave longer than L; a torus of sides
(Lx, Ly) holds only the wavevectors 2 pi (m / Lx, n / Ly), on which three
waves of equal length 120 degrees apart (a perfect hexagon) generally do not
exist. These functions say how close the box lets the lattice come.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.conventions import grid_period_from_wavenumber


@dataclass(frozen=True)
class BoxFit:
    """Whether a lattice of wavenumber k* fits in a box.

    Attributes
    ----------
    fits : bool
        True when a plane wave of wavenumber k* fits along the shorter side
        (wavelength below that side, i.e. k* above 2 pi / L).
    periods_across : float
        Shorter side divided by the grid period: how many lattice spacings
        the box holds.
    reason : str
        Empty when it fits; otherwise why not, in one sentence.
    """

    fits: bool
    periods_across: float
    reason: str


def box_fit(wavenumber: float, box_width: float, box_height: float) -> BoxFit:
    """Check that a ring at ``wavenumber`` (rad/m) fits the box (m)."""
    shorter = min(box_width, box_height)
    if not wavenumber > 0:
        return BoxFit(False, 0.0, "no ring: the spectrum peaks at k = 0")
    period = float(grid_period_from_wavenumber(wavenumber))
    lowest = 2 * np.pi / shorter
    if wavenumber <= lowest:
        return BoxFit(
            False,
            shorter / period,
            f"wavelength {2 * np.pi / wavenumber:.3g} m exceeds the box side "
            f"{shorter:.3g} m, so the ring lies below 2*pi/L = {lowest:.3g} rad/m",
        )
    return BoxFit(True, shorter / period, "")


@dataclass(frozen=True)
class Triad:
    """Three allowed wavevectors of a torus summing to zero, nearest a hexagon.

    Attributes
    ----------
    wavevectors : array, shape (3, 2)
        (kx, ky) in rad/m; they sum to zero.
    integers : array of int, shape (3, 2)
        The mode numbers (m, n) of each wavevector.
    detuning : array, shape (3,)
        Relative length error |k_j| / k* - 1.
    angle_error : float
        Largest deviation of the angles between them from 120 degrees (deg).
    """

    wavevectors: np.ndarray
    integers: np.ndarray
    detuning: np.ndarray
    angle_error: float


def periodic_shells(
    wavenumber: float, box_width: float, box_height: float, *, count: int = 4
) -> list[dict]:
    """The allowed wavenumbers of a torus nearest ``wavenumber`` (rad/m).

    Returns up to ``count`` shells, nearest first, each a dict with
    ``wavenumber`` (rad/m), ``detuning`` (relative), ``multiplicity`` (number
    of allowed wavevectors on it) and ``modes`` (their (m, n), m >= 0).
    """
    modes = _modes(wavenumber, box_width, box_height, reach=1.5)
    lengths = np.hypot(*_wavevectors(modes, box_width, box_height).T)
    rounded = np.round(lengths, 9)
    shells = []
    for length in np.unique(rounded):
        members = modes[rounded == length]
        shells.append(
            {
                "wavenumber": float(length),
                "detuning": float(length / wavenumber - 1),
                "multiplicity": int(len(members)),
                "modes": [tuple(int(v) for v in m) for m in members if m[0] >= 0],
            }
        )
    shells.sort(key=lambda shell: abs(shell["detuning"]))
    return shells[:count]


def best_triad(wavenumber: float, box_width: float, box_height: float) -> Triad:
    """The zero-sum triad of allowed wavevectors closest to a k* hexagon.

    Closeness is the largest relative length error plus the largest angle
    error (in radians) from the perfect 120-degree star.
    """
    modes = _modes(wavenumber, box_width, box_height, reach=0.35)
    vectors = _wavevectors(modes, box_width, box_height)
    lengths = np.hypot(*vectors.T)
    # k3 = -(k1 + k2): search all pairs with k3 also near the ring.
    first, second = np.triu_indices(len(modes), k=1)
    third_modes = -(modes[first] + modes[second])
    third = _wavevectors(third_modes, box_width, box_height)
    third_length = np.hypot(*third.T)
    lengths3 = np.stack([lengths[first], lengths[second], third_length], axis=1)
    detuning = lengths3 / wavenumber - 1
    cos12 = np.sum(vectors[first] * vectors[second], axis=1) / (
        lengths[first] * lengths[second]
    )
    angle = np.degrees(np.arccos(np.clip(cos12, -1, 1)))
    cost = np.max(np.abs(detuning), axis=1) + np.radians(np.abs(angle - 120))
    best = int(np.argmin(cost))
    triple = np.stack([modes[first[best]], modes[second[best]], third_modes[best]])
    wavevectors = _wavevectors(triple, box_width, box_height)
    angles = []
    for i in range(3):
        a, b = wavevectors[i], wavevectors[(i + 1) % 3]
        c = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
        angles.append(abs(np.degrees(np.arccos(np.clip(c, -1, 1))) - 120))
    return Triad(
        wavevectors=wavevectors,
        integers=triple,
        detuning=detuning[best],
        angle_error=float(max(angles)),
    )


def _modes(wavenumber, box_width, box_height, *, reach):
    """Integer (m, n) with |k| within ``reach`` * k* of the ring."""
    m_max = int(np.ceil((1 + reach) * wavenumber * box_width / (2 * np.pi)))
    n_max = int(np.ceil((1 + reach) * wavenumber * box_height / (2 * np.pi)))
    m, n = np.meshgrid(np.arange(-m_max, m_max + 1), np.arange(-n_max, n_max + 1))
    modes = np.stack([m.ravel(), n.ravel()], axis=1)
    lengths = np.hypot(*_wavevectors(modes, box_width, box_height).T)
    near = (np.abs(lengths / wavenumber - 1) <= reach) & (lengths > 0)
    return modes[near]


def _wavevectors(modes, box_width, box_height):
    return 2 * np.pi * modes / np.array([box_width, box_height])
