"""Turing-instability theory of grid cells: encodings, spectra, periods.

Pure numpy/scipy/sympy; this package never imports torch.
"""

from theory.cells import PlaceCells, draw_place_cells
from theory.conventions import (
    CONVENTIONS,
    grid_period_from_wavenumber,
    surround_width,
    wavelength_from_wavenumber,
    wavenumber_from_grid_period,
)
from theory.encodings import ENCODINGS, Encoding, get_encoding

__all__ = [
    "CONVENTIONS",
    "ENCODINGS",
    "Encoding",
    "PlaceCells",
    "draw_place_cells",
    "get_encoding",
    "grid_period_from_wavenumber",
    "surround_width",
    "wavelength_from_wavenumber",
    "wavenumber_from_grid_period",
]
