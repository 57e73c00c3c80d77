"""``turing-grids train``: the run directory, resume, and bad input."""

import hashlib
import json

import numpy as np
import pytest
import torch

from validate.cli import main as cli_main

TINY = [
    "--encoding",
    "dos",
    "--width",
    "0.2",
    "--hidden",
    "16",
    "--place-cells",
    "32",
    "--batch-size",
    "4",
    "--sequence-length",
    "5",
    "--eval-walks",
    "20",
    "--null-samples",
    "20",
    "--threads",
    "1",
    "--no-progress",
    "--no-compile",
]
RUN_FILES = {
    "checkpoint.pt",
    "config.json",
    "metrics.jsonl",
    "place_cells.npz",
    "ratemaps.npz",
    "scores.json",
}


def main(argv):
    """Exit status of the command line (argparse errors exit via SystemExit)."""
    try:
        return cli_main(argv)
    except SystemExit as exc:
        return exc.code


def _train(out, *extra):
    return main(["train", "--out", str(out), *TINY, *extra])


def _snapshot(directory):
    """Contents and modification times of every file in a directory."""
    return {
        path.name: (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_mtime_ns,
        )
        for path in sorted(directory.iterdir())
    }


def _one_error_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "error" in lines[0]
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.fixture
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    assert _train(out, "--steps", "3") == 0
    return out


def test_a_run_writes_its_directory(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out, "--steps", "4", "--json") == 0
    result = json.loads(capsys.readouterr().out)  # one JSON object, nothing else
    assert result["step"] == 4
    assert RUN_FILES <= {path.name for path in out.iterdir()}

    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 0
    assert config["surround_convention"] == "paper"
    assert config["threads"] == 1
    assert config["openmp_waiting"] == "loaded"  # torch was loaded before the run
    assert config["torch_version"] == torch.__version__
    assert config["version"]
    assert config["encoding"]["name"] == "dos"
    assert config["encoding"]["width"] == 0.2
    assert config["model"]["hidden"] == 16
    assert config["train"]["steps"] == 4

    with np.load(out / "ratemaps.npz") as archive:
        assert archive["ratemaps"].shape == (16, 44, 44)
        assert float(archive["box_width"]) == float(archive["box_height"]) == 2.2
    scores = json.loads((out / "scores.json").read_text())
    assert len(scores["units"]) == 16
    assert {"score_60", "grid_period", "beats_null"} <= set(scores["units"][0])
    assert 0 <= result["fraction_beating_null"] <= 1
    lines = [
        json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()
    ]
    assert lines[-1]["step"] == 4 and "loss" in lines[-1]
    with np.load(out / "place_cells.npz") as archive:
        assert archive["centres"].shape == (32, 1, 2)


def test_resume_continues_to_the_uninterrupted_result(tmp_path):
    split, straight = tmp_path / "split", tmp_path / "straight"
    assert _train(split, "--steps", "4") == 0
    assert _train(split, "--steps", "7", "--resume") == 0
    assert _train(straight, "--steps", "7") == 0
    a = torch.load(split / "checkpoint.pt", weights_only=True)
    b = torch.load(straight / "checkpoint.pt", weights_only=True)
    assert a["step"] == b["step"] == 7
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    assert a["walk_rng"] == b["walk_rng"]
    config = json.loads((split / "config.json").read_text())
    assert config["train"]["steps"] == 7


@pytest.mark.parametrize(
    "flags",
    [
        ["--steps", "0"],
        ["--steps=-5"],
        ["--hidden", "0"],
        ["--hidden=-2"],
        ["--batch-size", "0"],
        ["--lr", "0"],
        ["--lr=-1e-3"],
        ["--width=-0.1"],
        ["--encoding", "nonsense"],
        ["--null-samples", "5"],
    ],
)
def test_bad_numbers_exit_2_and_write_nothing(tmp_path, capsys, flags):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY, *flags]) == 2
    _one_error_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize(
    "flags",
    [
        ["--steps", "0", "--resume"],
        ["--hidden", "0", "--resume"],
        ["--lr=-1", "--resume"],
        ["--steps", "9"],  # an existing run without --resume
        ["--resume", "--hidden", "64"],  # a resumed run keeps its shape
    ],
)
def test_bad_input_leaves_an_existing_run_untouched(finished_run, capsys, flags):
    capsys.readouterr()
    before = _snapshot(finished_run)
    assert main(["train", "--out", str(finished_run), *TINY[:-1], *flags]) == 2
    _one_error_line(capsys)
    assert _snapshot(finished_run) == before


def test_corrupt_checkpoint_exits_2_and_changes_nothing(finished_run, capsys):
    (finished_run / "checkpoint.pt").write_bytes(b"\x00garbage")
    before = _snapshot(finished_run)
    capsys.readouterr()
    assert _train(finished_run, "--steps", "6", "--resume") == 2
    assert "corrupt" in _one_error_line(capsys)
    assert _snapshot(finished_run) == before


def test_resume_without_a_checkpoint_exits_2(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _train(empty, "--steps", "3", "--resume") == 2
    assert "no checkpoint" in _one_error_line(capsys)
    assert list(empty.iterdir()) == []
    assert _train(tmp_path / "missing", "--resume") == 2
    _one_error_line(capsys)


def test_out_pointing_at_a_file_exits_2(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    assert _train(target, "--steps", "3") == 2
    assert "file" in _one_error_line(capsys)
    assert target.read_text() == "keep me"


def test_short_runs_are_not_compiled_by_default(tmp_path):
    out = tmp_path / "run"
    flags = [flag for flag in TINY if flag != "--no-compile"]
    assert main(["train", "--out", str(out), *flags, "--steps", "2"]) == 0
    assert json.loads((out / "config.json").read_text())["train"]["compile"] is False


def test_resume_keeps_the_compile_choice(finished_run, capsys):
    capsys.readouterr()
    before = _snapshot(finished_run)
    assert _train(finished_run, "--steps", "6", "--resume", "--compile") == 2
    assert "compile" in _one_error_line(capsys)
    assert _snapshot(finished_run) == before
