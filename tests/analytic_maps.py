"""Rate maps with known answers: sums of plane waves on a grid of bin centres."""

import numpy as np


def bin_centres(n, side):
    """Centres (m) of ``n`` bins spanning ``[-side / 2, side / 2]``."""
    return (np.arange(n) + 0.5) * side / n - side / 2


def plane_waves(shape, wavelength, angles_deg, *, box=(1.0, 1.0), offset=(0.1, 0.07)):
    """Sum of cosines of one wavelength (m) along the given directions.

    ``shape`` is (ny, nx), ``box`` (height, width) in metres; rows are y and
    columns x. ``offset`` (x, y) moves the pattern off the bin grid.
    """
    ny, nx = shape
    y = bin_centres(ny, box[0])[:, None]
    x = bin_centres(nx, box[1])[None, :]
    wavenumber = 2 * np.pi / wavelength
    total = np.zeros(shape)
    for angle in np.deg2rad(angles_deg):
        along = np.cos(angle) * (x - offset[0]) + np.sin(angle) * (y - offset[1])
        total = total + np.cos(wavenumber * along)
    return total


def hexagonal_map(shape, grid_period, orientation_deg, **kwargs):
    """Three cosines 60 degrees apart: a hexagonal lattice.

    Neighbouring peaks are ``grid_period`` apart (m) along the directions
    ``orientation_deg + 60 k``: the wave vectors are perpendicular to the
    lattice vectors, at ``orientation - 30 + 60 k``, and have wavelength
    ``grid_period * sqrt(3) / 2``.
    """
    angles = orientation_deg - 30 + np.array([0, 60, 120])
    return plane_waves(shape, grid_period * np.sqrt(3) / 2, angles, **kwargs)


def square_map(shape, grid_period, orientation_deg, **kwargs):
    """Two cosines 90 degrees apart: a square lattice of side ``grid_period``."""
    angles = orientation_deg + np.array([0, 90])
    return plane_waves(shape, grid_period, angles, **kwargs)


def stripes_map(shape, wavelength, angle_deg, **kwargs):
    """One cosine: parallel stripes."""
    return plane_waves(shape, wavelength, [angle_deg], **kwargs)
