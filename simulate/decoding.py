"""Position decoded from a network's readout, and the decoding error.

Probability encodings (every encoding with a width) are decoded as in
Sorscher et al. (2019) and Schaeffer, Khona & Fiete (2022): the mean centre of
the ``top`` most active readout cells (their first field; a multi-field
cell's other fields are ignored). In a periodic box the mean is taken on the
torus (a circular mean per axis). Cartesian readouts are inverted by least
squares; polar readouts give the radius by least squares on their radial half
and the angle from the first circular harmonic of their angular half.
"""

from __future__ import annotations

import math

import torch

from theory.cells import PlaceCells
from theory.encodings import Encoding

#: Readout cells averaged by the top-k decoder (Sorscher et al. 2019).
TOP_CELLS = 3


def torch_cells(cells: PlaceCells, *, dtype: torch.dtype, device) -> PlaceCells:
    """The population as torch tensors (floats in ``dtype``) on ``device``."""

    def convert(array):
        tensor = torch.as_tensor(array, device=device)
        return tensor.to(dtype) if tensor.is_floating_point() else tensor

    return cells.convert(convert)


def decode_positions(
    outputs: torch.Tensor,
    encoding: Encoding,
    cells: PlaceCells,
    *,
    top: int = TOP_CELLS,
) -> torch.Tensor:
    """Positions (m) read from the network's outputs.

    Parameters
    ----------
    outputs : tensor, shape (..., N)
        Readout (logits for probability encodings).
    encoding : Encoding
        The encoding the network was trained on.
    cells : PlaceCells
        The population, as torch tensors on the outputs' device.
    top : int
        Number of most active cells averaged (probability encodings).

    Returns
    -------
    tensor, shape (..., 2)
    """
    if encoding.name == "cartesian":
        if encoding.low_dim:
            return outputs
        # y = A x + b: least squares x = (y - b) pinv(A)^T.
        return (outputs - cells.offsets) @ torch.linalg.pinv(cells.weights).T
    if encoding.name == "polar":
        return _decode_polar(outputs, cells)

    index = torch.topk(outputs, top, dim=-1).indices  # (..., top)
    centres = cells.centres[:, 0, :].to(outputs.dtype)[index]  # (..., top, 2)
    if not cells.periodic:
        return centres.mean(dim=-2)
    box = torch.tensor(
        [cells.box_width, cells.box_height], dtype=outputs.dtype, device=outputs.device
    )
    angles = centres * (2 * math.pi / box)
    mean_angle = torch.atan2(torch.sin(angles).mean(-2), torch.cos(angles).mean(-2))
    return mean_angle * (box / (2 * math.pi))


def position_errors(
    decoded: torch.Tensor, positions: torch.Tensor, cells: PlaceCells
) -> torch.Tensor:
    """Euclidean distance (m) between decoded and true positions, shape (...)."""
    difference = decoded - positions
    if cells.periodic:
        box = torch.tensor(
            [cells.box_width, cells.box_height],
            dtype=difference.dtype,
            device=difference.device,
        )
        difference = difference - box * torch.round(difference / box)
    return torch.linalg.vector_norm(difference, dim=-1)


def _decode_polar(outputs: torch.Tensor, cells: PlaceCells) -> torch.Tensor:
    """Radius from the radial units, angle from the angular units' harmonic."""
    half = cells.n_cells // 2
    radial, angular = outputs[..., :half], outputs[..., half:]
    slopes, offsets = cells.weights[:half, 0], cells.offsets[:half]
    radius = ((radial - offsets) @ slopes) / (slopes @ slopes)
    # Fit y_j = a + b cos(mu_j) + c sin(mu_j) by least squares; angle atan2(c, b).
    mu = cells.angles[half:]
    design = torch.stack([torch.ones_like(mu), torch.cos(mu), torch.sin(mu)], dim=-1)
    coefficients = angular @ torch.linalg.pinv(design).T  # (..., 3)
    angle = torch.atan2(coefficients[..., 2], coefficients[..., 1])
    return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=-1)
