"""Random-walk trajectories of a simulated rat, the inputs of path integration.

The walk follows the reference generator of Sorscher et al. (2019), also used
by Schaeffer, Khona & Fiete (2022): at every step of ``dt`` seconds the speed
is drawn from a Rayleigh distribution and the heading turns by
``dt * N(0, turn_sd)``; within ``border`` metres of a wall, while heading
towards it, the speed is scaled by ``wall_slowdown`` and the heading turns
parallel to the wall. The walk is vectorised over the batch (a loop over time
only) and draws every random number from one numpy Generator, so a seed or a
saved generator state gives the same walk on any device.

The step that starts a trajectory is not an input: the network's initial state
encodes the position after the first step, ``x_0``, and the inputs are the
displacements ``v_t = x_t - x_{t-1}`` (m) of the following steps.

The reference code lets a fast step started just outside the border region
cross a wall: in its open 2.2 m box about 0.8 % of positions lie outside, by
up to about 9 cm. Here such a step is cut at the wall, so positions always lie
in the box, and the input is the displacement actually made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Reference time step (s).
DT = 0.02
#: Scale of the Rayleigh speed distribution (m/s): 0.13 * 2 pi.
SPEED_SCALE = 0.13 * 2 * math.pi
#: Standard deviation of the heading's angular velocity (rad/s).
TURN_SD = 11.52
#: Distance from a wall within which the rat slows and turns (m).
BORDER = 0.03
#: Factor applied to the speed near a wall, heading towards it.
WALL_SLOWDOWN = 0.25
#: Side of the reference box (m).
BOX_WIDTH = 2.2


@dataclass(frozen=True)
class WalkConfig:
    """Parameters of the random walk (SI units).

    Parameters
    ----------
    box_width : float
        Box side along x (m); the box is centred at the origin.
    box_height : float, optional
        Box side along y (m); defaults to ``box_width``.
    periodic : bool
        A torus: no walls, positions wrap into the box.
    dt : float
        Time step (s).
    speed_scale : float
        Scale of the Rayleigh speed distribution (m/s).
    turn_sd : float
        Standard deviation of the angular velocity (rad/s).
    border : float
        Width of the region along the walls where the rat avoids them (m).
    wall_slowdown : float
        Speed factor in the border region, heading towards the wall.
    """

    box_width: float = BOX_WIDTH
    box_height: float | None = None
    periodic: bool = False
    dt: float = DT
    speed_scale: float = SPEED_SCALE
    turn_sd: float = TURN_SD
    border: float = BORDER
    wall_slowdown: float = WALL_SLOWDOWN

    def __post_init__(self) -> None:
        for name in ("box_width", "dt", "speed_scale"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if self.box_height is not None and not (
            math.isfinite(self.box_height) and self.box_height > 0
        ):
            raise ValueError(
                f"box_height must be a positive number, got {self.box_height!r}"
            )
        for name in ("turn_sd", "border"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        if not 0 < self.wall_slowdown <= 1:
            raise ValueError(
                f"wall_slowdown must lie in (0, 1], got {self.wall_slowdown!r}"
            )

    @property
    def height(self) -> float:
        """Box side along y (m)."""
        return self.box_width if self.box_height is None else float(self.box_height)


@dataclass(frozen=True)
class Trajectories:
    """A batch of walks.

    Attributes
    ----------
    initial_positions : ndarray, shape (B, 2)
        ``x_0``, the position after the first step (m).
    velocities : ndarray, shape (B, T, 2)
        Inputs ``v_t``: displacement per step (m).
    positions : ndarray, shape (B, T, 2)
        ``x_1 ... x_T``, the positions after each input step (m), wrapped into
        the box when periodic.
    """

    initial_positions: np.ndarray
    velocities: np.ndarray
    positions: np.ndarray

    @property
    def batch_size(self) -> int:
        return int(self.positions.shape[0])

    @property
    def steps(self) -> int:
        return int(self.positions.shape[1])


def random_walk(
    batch_size: int,
    steps: int,
    *,
    config: WalkConfig | None = None,
    rng: int | np.random.Generator | None = 0,
) -> Trajectories:
    """Draw ``batch_size`` walks of ``steps`` input steps each.

    Parameters
    ----------
    batch_size : int
        Number of independent walks B.
    steps : int
        Number of input steps T (the walk makes T + 1 steps: the first one
        gives ``x_0``).
    config : WalkConfig, optional
        The walk's parameters; the reference open 2.2 m box by default.
    rng : int or numpy Generator
        Seed or generator of every random draw; a generator advances.

    Returns
    -------
    Trajectories
        Float64 arrays.
    """
    config = WalkConfig() if config is None else config
    for name, value in (("batch_size", batch_size), ("steps", steps)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    half = np.array([config.box_width, config.height]) / 2
    moves = steps + 1

    # Every draw up front, in a fixed order, so a seed fixes the walk.
    position = rng.uniform(-half, half, size=(batch_size, 2))
    heading = rng.uniform(0.0, 2 * math.pi, size=batch_size)
    turns = rng.normal(0.0, config.turn_sd, size=(moves, batch_size)) * config.dt
    speeds = rng.rayleigh(config.speed_scale, size=(moves, batch_size))

    path = np.empty((moves, batch_size, 2))
    step = np.empty((moves, batch_size, 2))
    for t in range(moves):
        speed = speeds[t]
        turn = turns[t]
        if not config.periodic:
            near, wall_turn = _avoid_walls(position, heading, half, config.border)
            speed = np.where(near, speed * config.wall_slowdown, speed)
            turn = turn + wall_turn
        move = (speed * config.dt)[:, None] * np.stack(
            [np.cos(heading), np.sin(heading)], axis=-1
        )
        new = position + move
        if not config.periodic:
            new = np.clip(new, -half, half)
        step[t] = new - position
        path[t] = new
        position = new
        heading = heading + turn

    if config.periodic:
        path = np.mod(path + half, 2 * half) - half
    path = np.moveaxis(path, 0, 1)  # (B, T + 1, 2)
    step = np.moveaxis(step, 0, 1)
    return Trajectories(
        initial_positions=path[:, 0],
        velocities=step[:, 1:],
        positions=path[:, 1:],
    )


def _avoid_walls(
    position: np.ndarray, heading: np.ndarray, half: np.ndarray, border: float
) -> tuple[np.ndarray, np.ndarray]:
    """Which walks are near a wall heading towards it, and their turn (rad).

    The nearest wall is the one at the smallest distance (east, north, west,
    south in that order on ties); the turn brings the heading parallel to it.
    """
    distances = np.stack(
        [
            half[0] - position[:, 0],
            half[1] - position[:, 1],
            half[0] + position[:, 0],
            half[1] + position[:, 1],
        ]
    )  # (4, B)
    nearest = np.argmin(distances, axis=0)
    wall_direction = nearest * (math.pi / 2)  # outward normal of that wall
    relative = np.mod(heading - wall_direction + math.pi, 2 * math.pi) - math.pi
    near = (distances[nearest, np.arange(position.shape[0])] < border) & (
        np.abs(relative) < math.pi / 2
    )
    turn = np.where(near, np.sign(relative) * (math.pi / 2 - np.abs(relative)), 0.0)
    return near, turn


def walk_to_dict(config: WalkConfig) -> dict[str, Any]:
    """The walk's parameters as a JSON-ready dict (box height resolved)."""
    return {
        "box_width": config.box_width,
        "box_height": config.height,
        "periodic": config.periodic,
        "dt": config.dt,
        "speed_scale": config.speed_scale,
        "turn_sd": config.turn_sd,
        "border": config.border,
        "wall_slowdown": config.wall_slowdown,
    }
