"""The predict and spectrum commands, run as a user runs them."""

import subprocess
import sys

import numpy as np
import pytest

from tests.cli_helpers import ROOT, assert_bad_input, run_cli, run_json


def test_predict_json_contract():
    result = run_json("predict", "--encoding", "dos", "--width", "0.12")
    for key in (
        "encoding",
        "width",
        "surround_scale",
        "wavenumber",
        "wavelength",
        "grid_period",
        "pattern",
        "closed_form",
        "fft_wavenumber",
    ):
        assert key in result
    k = np.sqrt(2 * np.log(4) / (0.12**2 * 3))
    assert result["wavenumber"] == pytest.approx(k)
    assert result["wavelength"] == pytest.approx(2 * np.pi / k)
    assert result["grid_period"] == pytest.approx(4 * np.pi / (np.sqrt(3) * k))
    assert result["pattern"] == "hexagonal"
    assert result["convention"] == "paper"
    closed = result["closed_form"]
    import sympy

    value = sympy.sympify(closed).subs({"sigma": 0.12, "s": 2})
    assert float(value) == pytest.approx(k)


def test_predict_sorscher_convention_is_stated():
    result = run_json(
        "predict",
        "--encoding",
        "dos",
        "--width",
        "0.12",
        "--surround-convention",
        "sorscher",
    )
    assert result["convention"] == "sorscher"
    assert result["grid_period"] == pytest.approx(0.7394, abs=1e-3)


def test_predict_widthless_and_no_lattice():
    polar = run_json("predict", "--encoding", "polar")
    assert polar["pattern"] == "none" and polar["grid_period"] is None
    gaussian = run_json("predict", "--encoding", "gaussian", "--width", "0.12")
    assert gaussian["pattern"] == "none" and gaussian["closed_form"] == "0"


def test_spectrum_json_and_plot(tmp_path):
    figure = tmp_path / "spectrum.png"
    result = run_json(
        "spectrum", "--encoding", "dos", "--width", "0.12", "--plot", figure
    )
    assert result["pattern"] == "hexagonal"
    assert len(result["wavenumbers"]) == len(result["power"])
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--encoding", "bogus", "--width", "0.1"], ["unknown encoding", "bogus"]),
        (["--encoding", "dos", "--width", "0"], ["width"]),
        (["--encoding", "dos", "--width", "-0.1"], ["width"]),
        (["--encoding", "dos", "--width", "nan"], ["width"]),
        (["--encoding", "dos", "--width", "inf"], ["width"]),
        (
            ["--encoding", "dos", "--width", "0.1", "--surround-scale", "0.9"],
            ["surround"],
        ),
        (
            ["--encoding", "general_dog", "--width", "0.1", "--alpha-e", "0"],
            ["alpha_e"],
        ),
        (["--encoding", "dos", "--width", "0.1", "--place-cells", "0"], ["cells"]),
        (["--encoding", "dos", "--width", "x"], ["--width"]),
        (["--encoding", "dos"], ["width"]),
    ],
)
def test_predict_bad_input(args, words):
    assert_bad_input(run_cli("predict", *args), *words)


def test_spectrum_bad_plot_path_leaves_nothing(tmp_path):
    target = tmp_path / "missing" / "figure.png"
    assert_bad_input(
        run_cli("spectrum", "--encoding", "dos", "--width", "0.12", "--plot", target),
        "does not exist",
    )
    assert not target.exists()


def test_theory_never_imports_torch():
    code = (
        "import sys, theory, theory.prediction, theory.spectrum, theory.symbolic, "
        "theory.box\nassert 'torch' not in sys.modules, 'torch imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr
