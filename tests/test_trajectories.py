"""Random walks: box, wrapping, speed and turn statistics, seeding.

Expected values come from the walk's definition: speeds away from walls are
Rayleigh(scale) with mean scale*sqrt(pi/2) and variance (4 - pi)/2 scale^2;
heading turns are N(0, dt * turn_sd).
"""

import math

import numpy as np
import pytest
from scipy import stats

from simulate.trajectories import (
    BORDER,
    DT,
    SPEED_SCALE,
    TURN_SD,
    WalkConfig,
    _avoid_walls,
    random_walk,
)

#: Tolerance of statistical checks, in standard errors.
Z = 5.0


def _speeds(walks):
    return np.linalg.norm(walks.velocities, axis=-1) / DT


def _previous_positions(walks):
    """Position before each input step, shape (B, T, 2)."""
    return np.concatenate(
        [walks.initial_positions[:, None], walks.positions[:, :-1]], 1
    )


def test_open_box_walks_stay_inside_a_rectangle():
    config = WalkConfig(box_width=1.0, box_height=0.6)
    walks = random_walk(400, 200, config=config, rng=1)
    half = np.array([0.5, 0.3])
    assert np.all(np.abs(walks.positions) <= half)
    assert np.all(np.abs(walks.initial_positions) <= half)
    # The walks do reach the walls (the check is not vacuous).
    assert np.any(np.isclose(np.abs(walks.positions), half).any(-1))


def test_inputs_are_displacements_between_positions():
    walks = random_walk(50, 30, rng=2)
    previous = _previous_positions(walks)
    np.testing.assert_allclose(walks.velocities, walks.positions - previous, atol=1e-15)
    assert walks.velocities.shape == walks.positions.shape == (50, 30, 2)
    assert walks.initial_positions.shape == (50, 2)


def test_periodic_positions_wrap_into_the_box():
    config = WalkConfig(box_width=0.5, periodic=True)
    walks = random_walk(200, 100, config=config, rng=3)
    assert np.all(np.abs(walks.positions) <= 0.25)
    unwrapped = walks.initial_positions[:, None] + np.cumsum(walks.velocities, axis=1)
    assert np.any(np.abs(unwrapped) > 0.25)  # some walks crossed an edge
    wrapped = np.mod(unwrapped + 0.25, 0.5) - 0.25
    np.testing.assert_allclose(walks.positions, wrapped, atol=1e-12)


def _check_rayleigh(speeds):
    mean = SPEED_SCALE * math.sqrt(math.pi / 2)
    sd = SPEED_SCALE * math.sqrt((4 - math.pi) / 2)
    assert abs(speeds.mean() - mean) < Z * sd / math.sqrt(speeds.size)
    assert stats.kstest(speeds, "rayleigh", args=(0, SPEED_SCALE)).pvalue > 1e-4


def test_speeds_without_walls_are_rayleigh():
    walks = random_walk(300, 100, config=WalkConfig(periodic=True), rng=4)
    _check_rayleigh(_speeds(walks).ravel())


def test_speeds_away_from_walls_are_rayleigh():
    # A step that starts 0.2 m from every wall is neither slowed nor cut
    # (reaching the wall would take a speed of 10 m/s: probability ~e^-75).
    walks = random_walk(300, 100, rng=5)
    previous = _previous_positions(walks)
    clearance = 1.1 - np.abs(previous).max(axis=-1)
    away = clearance > 0.2
    assert away.mean() > 0.5
    _check_rayleigh(_speeds(walks)[away])


def test_heading_turns_are_gaussian():
    walks = random_walk(300, 100, config=WalkConfig(periodic=True), rng=6)
    heading = np.arctan2(walks.velocities[..., 1], walks.velocities[..., 0])
    turns = np.angle(np.exp(1j * np.diff(heading, axis=1))).ravel()
    sd = DT * TURN_SD
    assert abs(turns.mean()) < Z * sd / math.sqrt(turns.size)
    assert abs(turns.std() - sd) < Z * sd / math.sqrt(2 * turns.size)


def test_near_a_wall_heading_turns_parallel_to_it():
    half = np.array([1.1, 1.1])
    position = np.array([[1.1 - BORDER / 2, 0.0]] * 3 + [[0.0, -1.1 + BORDER / 2]])
    heading = np.array([0.3, -0.3, math.pi - 0.3, -math.pi / 2 + 0.2])
    near, turn = _avoid_walls(position, heading, half, BORDER)
    np.testing.assert_array_equal(near, [True, True, False, True])
    new = heading + turn
    np.testing.assert_allclose(np.cos(new[near]), [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(np.abs(np.sin(new[near])), [1, 1, 0], atol=1e-12)


def test_steps_towards_a_close_wall_are_slowed():
    walks = random_walk(400, 200, rng=7)
    previous = _previous_positions(walks)
    # Steps starting within the border of the east wall, moving east, were
    # taken towards that wall: slowed by the factor 0.25 (or cut at it).
    east = (previous[..., 0] > 1.1 - BORDER) & (np.abs(previous[..., 1]) < 1.0)
    moving_east = walks.velocities[..., 0] > 0
    speeds = _speeds(walks)[east & moving_east]
    assert speeds.size > 200
    slowed = 0.25 * SPEED_SCALE
    mean, sd = slowed * math.sqrt(math.pi / 2), slowed * math.sqrt((4 - math.pi) / 2)
    assert speeds.mean() < mean + Z * sd / math.sqrt(speeds.size)


def test_seeds_fix_the_walk():
    a = random_walk(20, 10, rng=11)
    b = random_walk(20, 10, rng=11)
    c = random_walk(20, 10, rng=12)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert not np.allclose(a.positions, c.positions)
    generator = np.random.default_rng(11)
    first = random_walk(20, 10, rng=generator)
    second = random_walk(20, 10, rng=generator)
    np.testing.assert_array_equal(first.positions, a.positions)
    assert not np.allclose(first.positions, second.positions)


@pytest.mark.parametrize(
    ("batch", "steps"), [(0, 5), (5, 0), (-1, 5), (2.5, 5), (True, 5)]
)
def test_bad_sizes_raise(batch, steps):
    with pytest.raises(ValueError, match="positive integer"):
        random_walk(batch, steps)


def test_bad_config_raises():
    with pytest.raises(ValueError, match="box_width"):
        WalkConfig(box_width=0)
    with pytest.raises(ValueError, match="wall_slowdown"):
        WalkConfig(wall_slowdown=1.5)
