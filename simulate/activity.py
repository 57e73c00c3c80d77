"""Hidden activity of a trained network along fresh evaluation walks.

The walks have their own seed, so evaluating never disturbs the training
stream, and the same seed gives the same walks at every evaluation (maps of
successive evaluations differ only through the network).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from simulate.decoding import decode_positions, position_errors, torch_cells
from simulate.model import PathIntegrator
from simulate.trajectories import WalkConfig, random_walk
from theory.cells import PlaceCells
from theory.encodings import Encoding

#: Length of an evaluation walk, in input steps (the reference evaluates at 50).
EVAL_STEPS = 50
#: Number of evaluation walks: 4000 x 50 steps is about 100 samples per
#: 5 cm bin of the 2.2 m box.
EVAL_WALKS = 4000
#: Walks run through the network at once.
EVAL_CHUNK = 500


@dataclass(frozen=True)
class Activity:
    """Activity recorded along evaluation walks.

    Attributes
    ----------
    positions : ndarray, shape (S, 2)
        True positions (m) of every sample, S = walks x steps.
    hidden : ndarray, shape (S, H)
        Hidden-unit activity h_t at those positions (float32).
    decoding_error : float
        Mean distance (m) between decoded and true positions.
    """

    positions: np.ndarray
    hidden: np.ndarray
    decoding_error: float


@torch.no_grad()
def record_activity(
    model: PathIntegrator,
    encoding: Encoding,
    cells: PlaceCells,
    *,
    walk: WalkConfig,
    walks: int = EVAL_WALKS,
    steps: int = EVAL_STEPS,
    seed: int = 0,
    chunk: int = EVAL_CHUNK,
) -> Activity:
    """Run ``model`` along ``walks`` seeded walks and record its activity.

    Parameters
    ----------
    model : PathIntegrator
        The network (left in the mode it was in).
    encoding : Encoding
        Its target encoding.
    cells : PlaceCells
        The place-cell population (numpy arrays).
    walk : WalkConfig
        The environment and its walk.
    walks, steps : int
        Number and length (input steps) of the evaluation walks.
    seed : int
        Seed of the evaluation walks.
    chunk : int
        Walks per forward pass (memory).

    Returns
    -------
    Activity
    """
    parameter = next(model.parameters())
    device, dtype = parameter.device, parameter.dtype
    population = torch_cells(cells, dtype=dtype, device=device)
    rng = np.random.default_rng(seed)
    was_training = model.training
    model.eval()

    positions, hidden, errors = [], [], []
    try:
        for start in range(0, walks, chunk):
            size = min(chunk, walks - start)
            trajectories = random_walk(size, steps, config=walk, rng=rng)
            velocities = torch.as_tensor(
                trajectories.velocities, dtype=dtype, device=device
            )
            initial = torch.as_tensor(
                trajectories.initial_positions, dtype=dtype, device=device
            )
            true = torch.as_tensor(trajectories.positions, dtype=dtype, device=device)
            states = model.hidden_states(
                velocities, encoding.targets(initial, population)
            )
            decoded = decode_positions(model.decoder(states), encoding, population)
            errors.append(position_errors(decoded, true, population).sum().item())
            positions.append(trajectories.positions.reshape(-1, 2))
            hidden.append(states.reshape(-1, states.shape[-1]).float().cpu().numpy())
    finally:
        model.train(was_training)

    samples = walks * steps
    return Activity(
        positions=np.concatenate(positions),
        hidden=np.concatenate(hidden),
        decoding_error=float(sum(errors) / samples),
    )
