"""The trainer: learning, the one-definition spectrum check, exact resume, seeds.

Expected values come from mathematics (the closed-form DoS wavenumber, a
float64 log-sum-exp, an independent FLOP count) or from a second,
uninterrupted run, never from a stored run.
"""

import json
import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from torch.utils.flop_counter import FlopCounterMode

from simulate.config import ModelConfig, TrainConfig
from simulate.decoding import decode_positions, position_errors, torch_cells
from simulate.model import (
    PathIntegrator,
    cross_entropy,
    mean_squared_error,
    relu_recurrence,
    step_flops,
)
from simulate.trainer import (
    CHECKPOINT,
    METRICS,
    Trainer,
    draw_run_cells,
    read_checkpoint,
)
from theory.encodings import Encoding

TINY = {"hidden": 24}
TINY_TRAIN = {
    "batch_size": 8,
    "sequence_length": 6,
    "threads": 1,
    "log_every": 1,
    "compile": False,
}


def _trainer(tmp_path=None, *, encoding=None, seed=0, steps=8, **options):
    encoding = encoding or Encoding("dos", width=0.2, n_cells=48)
    config = TrainConfig(steps=steps, seed=seed, **{**TINY_TRAIN, **options})
    model = ModelConfig(outputs=encoding.n_outputs, **TINY)
    cells = draw_run_cells(encoding, seed)
    return Trainer(encoding, cells, model, config, run_dir=tmp_path)


def _metrics(run_dir):
    lines = (run_dir / METRICS).read_text().splitlines()
    return [(row["step"], row["loss"]) for row in map(json.loads, lines)]


# -- learning -------------------------------------------------------------


def test_loss_falls_on_a_tiny_run():
    trainer = _trainer(steps=120, learning_rate=1e-2, batch_size=16)
    losses = [trainer.train_step()[1].item() for _ in range(120)]
    assert np.mean(losses[-20:]) < np.mean(losses[:20]) - 0.05


# -- the one definition: targets used for training peak at theory's k* -------


def _ring_peak(targets: np.ndarray, side: float) -> float:
    """Wavenumber (rad/m) of the radially averaged power maximum, DC removed."""
    maps = targets - targets.mean(axis=(0, 1), keepdims=True)  # (n, n, cells)
    power = (np.abs(np.fft.fft2(maps, axes=(0, 1))) ** 2).mean(axis=-1)
    n = maps.shape[0]
    index = np.fft.fftfreq(n) * n  # integer wave indices
    radius = np.hypot(*np.meshgrid(index, index, indexing="ij"))
    rings = np.rint(radius).astype(int)
    profile = np.bincount(rings.ravel(), power.ravel()) / np.bincount(rings.ravel())
    profile[0] = 0.0
    return float(np.argmax(profile[: n // 2]) * 2 * math.pi / side)


def _dos_wavenumber(sigma_e: float, sigma_i: float) -> float:
    """k* of a difference of unit-mass Gaussians (Sorscher et al. 2019)."""
    return math.sqrt(2 * math.log(sigma_i**2 / sigma_e**2) / (sigma_i**2 - sigma_e**2))


#: Surround sigma / centre sigma for s = 2 in each convention.
RATIOS = {"paper": 2.0, "sorscher": 2**0.5}


@pytest.mark.parametrize("convention", ["paper", "sorscher"])
@pytest.mark.parametrize(("side", "n_cells"), [(2.2, 512), (4.4, 2048)])
def test_targets_the_trainer_uses_peak_at_the_dos_wavenumber(convention, side, n_cells):
    width = 0.12
    encoding = Encoding(
        "dos",
        width=width,
        surround_scale=2.0,
        convention=convention,
        n_cells=n_cells,
        box_width=side,
    )
    trainer = _trainer(encoding=encoding)
    n = 88  # bins of 2.5 cm (2.2 m box) or 5 cm (4.4 m box)
    axis = (np.arange(n) + 0.5) * side / n - side / 2
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1)
    peak = _ring_peak(trainer.targets(grid).double().numpy(), side)

    frequency_bin = 2 * math.pi / side
    assert (
        abs(peak - _dos_wavenumber(width, width * RATIOS[convention])) <= frequency_bin
    )
    if side > 4:  # resolution enough to tell the conventions apart
        other = "sorscher" if convention == "paper" else "paper"
        assert abs(peak - _dos_wavenumber(width, width * RATIOS[other])) > frequency_bin


# -- exact resume -----------------------------------------------------------


class _Killed(Exception):
    pass


def _kill_at(step):
    def evaluate(context):
        if context.step == step:
            raise _Killed
        return {"probe": context.step}

    return evaluate


def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path):
    steps = 9
    straight_dir = tmp_path / "straight"
    straight_dir.mkdir()
    straight = _trainer(straight_dir, steps=steps, checkpoint_every=3, eval_every=5)
    straight.run(evaluate=_kill_at(-1), progress=False)

    broken_dir = tmp_path / "broken"
    broken_dir.mkdir()
    broken = _trainer(broken_dir, steps=steps, checkpoint_every=3, eval_every=5)
    with pytest.raises(_Killed):
        broken.run(evaluate=_kill_at(5), progress=False)
    assert read_checkpoint(broken_dir / CHECKPOINT)["step"] == 3
    with open(broken_dir / METRICS, "a") as stream:
        stream.write('{"step": 4, "loss"')  # a line torn by the kill

    resumed = _trainer(broken_dir, steps=steps, checkpoint_every=3, eval_every=5)
    resumed.load_checkpoint()
    assert resumed.step == 3
    resumed.run(evaluate=_kill_at(-1), progress=False)

    for name, tensor in straight.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[name]), name
    a, b = straight.optimizer.state_dict(), resumed.optimizer.state_dict()
    for key in a["state"]:
        for name in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(a["state"][key][name], b["state"][key][name])
    assert _metrics(straight_dir) == _metrics(broken_dir)
    assert straight.rng.bit_generator.state == resumed.rng.bit_generator.state


def test_checkpoint_of_another_run_is_refused(tmp_path):
    _trainer(tmp_path, steps=2, checkpoint_every=1).run(progress=False)
    other = _trainer(tmp_path, steps=2, learning_rate=0.5)
    with pytest.raises(ValueError, match="learning_rate"):
        other.load_checkpoint()


def test_corrupt_checkpoint_is_a_value_error(tmp_path):
    (tmp_path / CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="corrupt"):
        read_checkpoint(tmp_path / CHECKPOINT)
    with pytest.raises(ValueError, match="no checkpoint"):
        read_checkpoint(tmp_path / "missing.pt")


def test_runs_are_deterministic_for_a_seed():
    a, b = _trainer(steps=3), _trainer(steps=3)
    for _ in range(3):
        assert torch.equal(a.train_step()[0], b.train_step()[0])
    for name, tensor in a.model.state_dict().items():
        assert torch.equal(tensor, b.model.state_dict()[name])


# -- seeds ------------------------------------------------------------------


def test_two_seeds_give_different_walks_centres_and_weights():
    a, b, c = _trainer(seed=1), _trainer(seed=2), _trainer(seed=1)
    assert not np.allclose(a.cells.centres, b.cells.centres)
    np.testing.assert_array_equal(a.cells.centres, c.cells.centres)
    va, vb, vc = a.batch()[0], b.batch()[0], c.batch()[0]
    assert not torch.allclose(va, vb)
    assert torch.equal(va, vc)
    assert not torch.allclose(a.model.recurrent_weight, b.model.recurrent_weight)


# -- losses -----------------------------------------------------------------


def test_cross_entropy_is_finite_for_zero_targets_and_huge_logits():
    logits = torch.tensor([[0.0, -150.0, -20.0], [0.0, -150.0, -20.0]])
    targets = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.3, 0.7]])
    expected = (
        -(
            targets.double().numpy()
            * (
                logits.double().numpy()
                - logsumexp(logits.double().numpy(), axis=-1)[:, None]
            )
        )
        .sum(-1)
        .mean()
    )
    loss = cross_entropy(logits.requires_grad_(), targets)
    assert math.isfinite(loss.item())
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert torch.isfinite(logits.grad).all()

    minus_inf = torch.tensor([[0.0, -math.inf, -20.0]])
    assert math.isfinite(
        cross_entropy(minus_inf, torch.tensor([[1.0, 0.0, 0.0]])).item()
    )


def test_mse_is_a_mean_over_batch_time_and_units():
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=(2, 3, 4, 5))
    assert mean_squared_error(torch.tensor(y), torch.tensor(p)).item() == pytest.approx(
        np.sum((y - p) ** 2) / y.size
    )


# -- the ReLU recurrence ------------------------------------------------------


def _recurrence_problem(seed=0, steps=7, batch=5, hidden=6):
    generator = torch.Generator().manual_seed(seed)

    def draw(*shape, scale=1.0):
        return (
            scale * torch.randn(*shape, generator=generator, dtype=torch.float64)
        ).requires_grad_()

    velocities = torch.randn(steps, batch, 2, generator=generator, dtype=torch.float64)
    return (
        velocities,
        draw(batch, hidden),
        draw(hidden, 2),
        draw(hidden, hidden, scale=0.5),
    )


def test_relu_recurrence_matches_torchs_rnn_and_its_gradients():
    velocities, h0, w_in, w_rec = _recurrence_problem()
    reference = torch.nn.RNN(2, 6, nonlinearity="relu", bias=False).double()
    with torch.no_grad():
        reference.weight_ih_l0.copy_(w_in)
        reference.weight_hh_l0.copy_(w_rec)
    expected, _ = reference(velocities, h0.detach()[None].requires_grad_())
    states = relu_recurrence(velocities, h0, w_in, w_rec)
    assert 0.2 < (states > 0).double().mean() < 0.8  # both sides of the kink
    torch.testing.assert_close(states, expected, rtol=1e-12, atol=1e-12)

    readout = torch.randn(
        states.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    mine = torch.autograd.grad((states * readout).sum(), (h0, w_in, w_rec))
    h0_ref = h0.detach()[None].requires_grad_()
    expected, _ = reference(velocities, h0_ref)
    theirs = torch.autograd.grad(
        (expected * readout).sum(),
        (h0_ref, reference.weight_ih_l0, reference.weight_hh_l0),
    )
    for got, want in zip(mine, (theirs[0][0], *theirs[1:]), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_relu_recurrence_gradients_match_finite_differences():
    velocities, h0, w_in, w_rec = _recurrence_problem(
        seed=2, steps=4, batch=3, hidden=4
    )
    assert torch.autograd.gradcheck(
        lambda *weights: relu_recurrence(velocities, *weights), (h0, w_in, w_rec)
    )


def test_time_major_and_batch_first_networks_agree():
    model = PathIntegrator(ModelConfig(hidden=8, outputs=5)).double()
    velocities, code = torch.randn(3, 4, 2).double(), torch.rand(3, 5).double()
    batch_first = model(velocities, code)
    time_major = model(velocities.transpose(0, 1), code, time_major=True)
    torch.testing.assert_close(time_major.transpose(0, 1), batch_first)


def test_relu_recurrence_refuses_differentiable_inputs():
    velocities, h0, w_in, w_rec = _recurrence_problem()
    with pytest.raises(ValueError, match="inputs"):
        relu_recurrence(velocities.requires_grad_(), h0, w_in, w_rec)


# -- FLOPs ------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_flop_count_matches_torchs_counter(cell):
    config = ModelConfig(hidden=16, outputs=12, cell=cell)
    model = PathIntegrator(config)
    velocities, code = torch.randn(5, 7, 2), torch.randn(5, 12)
    with FlopCounterMode(display=False) as counter:
        model(velocities, code).sum().backward()
    assert (
        step_flops(config, batch_size=5, sequence_length=7) == counter.get_total_flops()
    )


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_gated_cells_train(cell):
    encoding = Encoding("dos", width=0.2, n_cells=48)
    config = TrainConfig(steps=2, **TINY_TRAIN)
    model = ModelConfig(outputs=48, hidden=16, cell=cell)
    trainer = Trainer(encoding, draw_run_cells(encoding, 0), model, config)
    assert math.isfinite(trainer.train_step()[0].item())


# -- evaluation hooks and decoding ------------------------------------------


def test_evaluation_callback_metrics_reach_metrics_file(tmp_path):
    trainer = _trainer(tmp_path, steps=4, eval_every=2, log_every=3)
    seen = []

    def evaluate(context):
        seen.append((context.step, context.final))
        return {"probe": context.step * 10}

    trainer.run(evaluate=evaluate, progress=False)
    assert seen == [(2, False), (4, True)]
    rows = [json.loads(line) for line in (tmp_path / METRICS).read_text().splitlines()]
    assert [row["step"] for row in rows] == [2, 3, 4]
    assert [row.get("probe") for row in rows] == [20, None, 40]
    assert all(math.isfinite(row["loss"]) for row in rows)


@pytest.mark.parametrize(
    ("name", "options", "tolerance"),
    [
        ("dos", {"width": 0.12}, 0.10),
        ("gaussian", {"width": 0.12, "periodic": True}, 0.10),
        ("cartesian", {}, 1e-4),
        ("polar", {}, 0.05),
    ],
)
def test_exact_targets_decode_to_their_positions(name, options, tolerance):
    encoding = Encoding(name, n_cells=512, **options)
    cells = encoding.draw_cells(0)
    population = torch_cells(cells, dtype=torch.float64, device="cpu")
    positions = torch.as_tensor(np.random.default_rng(1).uniform(-1, 1, (400, 2)))
    outputs = encoding.targets(positions, population)
    if encoding.loss == "cross_entropy":
        outputs = torch.log(outputs + 1e-300)  # logits whose softmax is the target
    errors = position_errors(
        decode_positions(outputs, encoding, population), positions, population
    )
    assert errors.mean().item() < tolerance


@pytest.mark.slow
def test_compiled_run_resumes_exactly(tmp_path):
    """torch.compile'd targets and loss: still bit-for-bit after a resume."""
    straight = _trainer(steps=4, compile=True)
    for _ in range(4):
        straight.train_step()
    first = _trainer(tmp_path, steps=2, compile=True, checkpoint_every=2)
    first.run(progress=False)
    resumed = _trainer(tmp_path, steps=4, compile=True, checkpoint_every=2)
    resumed.load_checkpoint()
    for _ in range(2):
        resumed.train_step()
    for name, tensor in straight.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[name]), name


def test_a_failing_compile_falls_back_to_eager(monkeypatch, caplog):
    def broken_compile(function, **options):
        def fail(*args):
            raise RuntimeError("no C++ compiler")

        return fail

    monkeypatch.setattr(torch, "compile", broken_compile)
    eager, compiled = _trainer(steps=2), _trainer(steps=2, compile=True)
    with caplog.at_level("WARNING"):
        for _ in range(2):
            assert torch.equal(eager.train_step()[0], compiled.train_step()[0])
    assert "running eagerly" in caplog.text


def test_null_summary_interval_is_over_all_units():
    # 3 of 10 units beat the null, 4 are dead (undefined): the fraction is
    # 3 / 10 and its Wilson interval must be the one of 3 in 10 (closed form:
    # centre (p + z^2 / 2n) / (1 + z^2 / n), half-width
    # z sqrt(p (1 - p) / n + z^2 / 4n^2) / (1 + z^2 / n)).
    from validate.evaluation import summarise_null

    beats = np.array([True] * 3 + [False] * 7)
    calibrated = {
        "beats_null": beats,
        "null": "ring",
        "samples": 100,
        "fraction_ci": (0.2, 0.9),  # calibrate's, over the 6 defined units
        "chance_fraction": 0.0099,
    }
    summary = summarise_null(calibrated)
    z, n, p = 1.959963984540054, 10, 0.3
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert summary["fraction_beating_null"] == 0.3
    np.testing.assert_allclose(
        summary["fraction_beating_null_ci"], [centre - half, centre + half]
    )
