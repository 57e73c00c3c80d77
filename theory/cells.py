"""Place-cell populations: centres, fields, widths and surrounds, seeded.

A population is plain arrays so that the same encoding formulas run on numpy
(theory) and on torch (the trainer): see :meth:`PlaceCells.convert`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from theory.conventions import DEFAULT_CONVENTION, surround_width


@dataclass(frozen=True)
class PlaceCells:
    """A population of ``n`` readout cells with up to ``f`` fields each.

    Attributes
    ----------
    centres : array, shape (n, f, 2)
        Field centres (x, y) in metres, box centred at the origin. Absent
        fields (see ``field_mask``) hold zeros.
    field_mask : array of bool, shape (n, f)
        True where a cell has that field; every cell has its field 0.
    widths : array, shape (n,)
        Sigma of each cell's centre Gaussian (m).
    surround_widths : array, shape (n,)
        Sigma of each cell's surround Gaussian (m), the surround convention
        already applied.
    weights : array, shape (n, 2)
        Random readout weights of the Cartesian and polar encodings.
    offsets : array, shape (n,)
        Random offsets of the Cartesian and polar encodings.
    angles : array, shape (n,)
        Preferred directions (rad) of the polar encoding's angular units.
    box_width, box_height : float
        The box (m), x in [-w/2, w/2] and y in [-h/2, h/2].
    periodic : bool
        Whether distances wrap around the box (a torus).
    """

    centres: Any
    field_mask: Any
    widths: Any
    surround_widths: Any
    weights: Any
    offsets: Any
    angles: Any
    box_width: float
    box_height: float
    periodic: bool = False

    ARRAYS = (
        "centres",
        "field_mask",
        "widths",
        "surround_widths",
        "weights",
        "offsets",
        "angles",
    )

    @property
    def n_cells(self) -> int:
        return int(self.widths.shape[0])

    def convert(self, function: Callable[[Any], Any]) -> PlaceCells:
        """A copy with ``function`` applied to every array (e.g. to torch)."""
        return dataclasses.replace(
            self, **{name: function(getattr(self, name)) for name in self.ARRAYS}
        )

    def to_dict(self) -> dict[str, Any]:
        """Arrays and box as a flat dict, ready for ``numpy.savez``."""
        out = {name: np.asarray(getattr(self, name)) for name in self.ARRAYS}
        out["box"] = np.array([self.box_width, self.box_height])
        out["periodic"] = np.array(self.periodic)
        return out

    @classmethod
    def from_dict(cls, arrays: dict[str, Any]) -> PlaceCells:
        """Inverse of :meth:`to_dict` (e.g. from a loaded ``.npz``)."""
        missing = [name for name in (*cls.ARRAYS, "box") if name not in arrays]
        if missing:
            raise ValueError(f"place-cell file lacks {', '.join(missing)}")
        box = np.asarray(arrays["box"], dtype=float)
        return cls(
            **{name: np.asarray(arrays[name]) for name in cls.ARRAYS},
            box_width=float(box[0]),
            box_height=float(box[1]),
            periodic=bool(np.asarray(arrays.get("periodic", False))),
        )


def draw_place_cells(
    n_cells: int,
    *,
    width: float,
    surround_scale: float = 2.0,
    convention: str = DEFAULT_CONVENTION,
    box_width: float = 2.2,
    box_height: float | None = None,
    periodic: bool = False,
    fields_rate: float = 0.0,
    width_range: tuple[float, float] | None = None,
    surround_scale_range: tuple[float, float] | None = None,
    centres: np.ndarray | None = None,
    seed: int | np.random.Generator | None = 0,
) -> PlaceCells:
    """Draw a seeded population with centres uniform in the box.

    Parameters
    ----------
    n_cells : int
        Number of readout cells.
    width : float
        Sigma of the centre Gaussian (m), used unless ``width_range`` is given.
    surround_scale : float
        Surround scale s, read with ``convention``.
    convention : {"paper", "sorscher"}
        How s sets the surround's sigma (see :mod:`theory.conventions`).
    box_width, box_height : float
        Box size (m); the height defaults to the width.
    periodic : bool
        Whether the box is a torus.
    fields_rate : float
        Each cell has 1 + Poisson(fields_rate) fields (0: one field each).
    width_range, surround_scale_range : (low, high), optional
        Draw each cell's width / surround scale uniformly from this range
        (heterogeneous populations).
    centres : array, shape (n_cells, 2), optional
        Given single-field centres (m) instead of random ones.
    seed : int or numpy Generator
        Seed of every random draw.

    Returns
    -------
    PlaceCells
    """
    rng = np.random.default_rng(seed)
    box_height = box_width if box_height is None else box_height
    half = np.array([box_width, box_height]) / 2

    if width_range is None:
        widths = np.full(n_cells, float(width))
    else:
        widths = rng.uniform(*width_range, size=n_cells)
    if surround_scale_range is None:
        scales = np.full(n_cells, float(surround_scale))
    else:
        scales = rng.uniform(*surround_scale_range, size=n_cells)

    n_fields = 1 + (rng.poisson(fields_rate, size=n_cells) if fields_rate > 0 else 0)
    n_fields = np.broadcast_to(n_fields, (n_cells,))
    max_fields = int(n_fields.max())
    field_mask = np.arange(max_fields)[None, :] < n_fields[:, None]
    field_centres = rng.uniform(-half, half, size=(n_cells, max_fields, 2))
    if centres is not None:
        field_centres[:, 0, :] = np.asarray(centres, dtype=float)
    field_centres[~field_mask] = 0.0

    return PlaceCells(
        centres=field_centres,
        field_mask=field_mask,
        widths=widths,
        surround_widths=surround_width(widths, scales, convention),
        weights=rng.uniform(-1.0, 1.0, size=(n_cells, 2)),
        offsets=rng.uniform(-1.0, 1.0, size=n_cells),
        angles=rng.uniform(-np.pi, np.pi, size=n_cells),
        box_width=float(box_width),
        box_height=float(box_height),
        periodic=bool(periodic),
    )
