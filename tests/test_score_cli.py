"""``turing-grids score``: JSON contract, text, plot, and bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.analytic_maps import hexagonal_map, square_map
from validate.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def maps_file(tmp_path):
    maps = np.stack(
        [
            hexagonal_map((30, 30), 0.4, 12.0, box=(1.5, 1.5)),
            square_map((30, 30), 0.4, 0.0, box=(1.5, 1.5)),
            np.full((30, 30), np.nan),
            np.zeros((30, 30)),
        ]
    )
    path = tmp_path / "maps.npz"
    np.savez(path, ratemaps=maps, box_width=1.5, box_height=1.5)
    return path


def run_cli(capsys, *argv):
    code = main(["score", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_contract(maps_file, capsys):
    code, out, err = run_cli(capsys, maps_file, "--json")
    assert code == 0 and err == ""
    result = json.loads(out)
    assert len(result["units"]) == 4
    hexagonal, square, empty, dead = result["units"]
    assert hexagonal["score_60"] > 0.8
    assert hexagonal["grid_period"] == pytest.approx(0.4, rel=0.01)
    assert abs(hexagonal["orientation"] - 12.0) < 1.0
    assert square["score_90"] > 1.0 and square["score_60"] < 0
    for unit in (empty, dead):
        for key in ("score_60", "score_90", "grid_period", "orientation"):
            assert unit[key] is None
    assert result["form"] == "minmax"
    assert result["n_above"] == {"0.3": 1, "0.8": 1, "1.15": 1}
    assert result["n_undefined"] == 2
    assert "nan_policy" in result["conventions"]


def test_mean_form_and_text(maps_file, capsys):
    code, out, _ = run_cli(capsys, maps_file, "--form", "mean")
    assert code == 0
    assert "form mean" in out and "null" in out
    # Best unit first.
    assert out.splitlines()[2].split()[0] == "0"


def test_plot_is_written(maps_file, tmp_path, capsys):
    figure = tmp_path / "scores.png"
    code, out, _ = run_cli(capsys, maps_file, "--plot", figure, "--json")
    assert code == 0
    assert json.loads(out)["plot"] == str(figure)
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.npz", "scores.png"]


def _bad_inputs(tmp_path):
    maps = np.zeros((2, 10, 10))
    cases = {}

    def npz(name, **arrays):
        np.savez(tmp_path / name, **arrays)
        return tmp_path / name

    cases["missing file"] = [tmp_path / "absent.npz"]
    (tmp_path / "text.npz").write_text("not an archive\n")
    cases["not an npz"] = [tmp_path / "text.npz"]
    np.save(tmp_path / "single.npy", maps)
    cases["single npy"] = [tmp_path / "single.npy"]
    cases["no ratemaps"] = [npz("a.npz", maps=maps, box_width=1.0, box_height=1.0)]
    cases["2-D ratemaps"] = [
        npz("b.npz", ratemaps=maps[0], box_width=1.0, box_height=1.0)
    ]
    cases["no box size"] = [npz("c.npz", ratemaps=maps)]
    cases["no box height"] = [npz("d.npz", ratemaps=maps, box_width=1.0)]
    cases["negative box"] = [
        npz("e.npz", ratemaps=maps, box_width=-1.0, box_height=1.0)
    ]
    cases["text ratemaps"] = [
        npz("f.npz", ratemaps=np.array(["a", "b"]), box_width=1.0, box_height=1.0)
    ]
    good = npz("good.npz", ratemaps=maps, box_width=1.0, box_height=1.0)
    cases["unknown form"] = [good, "--form", "max"]
    cases["unknown figure format"] = [good, "--plot", tmp_path / "figure.xyz"]
    cases["plot directory missing"] = [good, "--plot", tmp_path / "no" / "f.png"]
    return cases


BAD = [
    "missing file",
    "not an npz",
    "single npy",
    "no ratemaps",
    "2-D ratemaps",
    "no box size",
    "no box height",
    "negative box",
    "text ratemaps",
    "unknown form",
    "unknown figure format",
    "plot directory missing",
]


def main_exit_code(argv):
    """Exit status of the CLI, whether argparse exits or main returns."""
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_and_exit_2(case, tmp_path, capsys):
    argv = _bad_inputs(tmp_path)[case]
    code = main_exit_code(["score", *map(str, argv), "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob(".*"))


def test_all_nan_units_are_null_but_an_all_nan_file_is_bad_input(tmp_path, capsys):
    maps = np.full((3, 8, 8), np.nan)
    maps[2] = np.random.default_rng(0).random((8, 8))
    path = tmp_path / "some.npz"
    np.savez(path, ratemaps=maps, box_width=1.0, box_height=1)
    code, out, _ = run_cli(capsys, path, "--json")
    assert code == 0
    units = json.loads(out)["units"]
    assert units[0]["score_60"] is None and units[1]["score_60"] is None
    empty = tmp_path / "empty.npz"
    np.savez(empty, ratemaps=np.full((3, 8, 8), np.nan), box_width=1.0, box_height=1)
    code, out, err = run_cli(capsys, empty, "--json")
    assert code == 2 and out == "" and "all NaN" in err and err.count("\n") == 1


def test_console_entry_point_without_traceback(tmp_path):
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    completed = subprocess.run(
        [sys.executable, "-m", "validate", "score", str(tmp_path / "x.npz")],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.startswith("turing-grids score: error:")
    assert completed.stderr.count("\n") == 1
