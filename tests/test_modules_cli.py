"""``turing-grids modules``: analytic lattices end to end, inputs, bad input."""

import json

import numpy as np
import pytest
from scipy.stats import norm

from tests.analytic_maps import hexagonal_map
from validate.cli import main

BOX = 1.5  # m
BINS = 40
RATIO = 1.4
UNITS_PER_MODULE = 12
#: Spread of periods inside a module (natural log), small against log 1.4.
LOG_SPREAD = 0.02
THRESHOLD = ["--threshold", "0.3"]


def lattice_maps(periods, *, units=UNITS_PER_MODULE, first_orientation=5.0):
    """Hexagonal maps, ``units`` per module period (m), spread by normal
    quantiles of LOG_SPREAD around each period. Module j is oriented at
    ``first_orientation + 20 j`` degrees, give or take up to 1.5 degrees in
    an order (5 i mod units) weakly correlated with the period."""
    z = norm.ppf((np.arange(units) + 0.5) / units)
    maps, truth = [], []
    for j, period in enumerate(periods):
        for i in range(units):
            unit_period = period * np.exp(LOG_SPREAD * z[i])
            scatter = 3.0 * ((5 * i) % units / (units - 1) - 0.5)
            orientation = (first_orientation + 20.0 * j + scatter) % 60.0
            maps.append(
                hexagonal_map((BINS, BINS), unit_period, orientation, box=(BOX, BOX))
            )
            truth.append(j)
    return np.stack(maps), np.array(truth)


def save_maps(path, maps):
    np.savez(path, ratemaps=maps, box_width=BOX, box_height=BOX)
    return path


def run_cli(capsys, *argv):
    code = main_exit_code(["modules", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def main_exit_code(argv):
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


@pytest.fixture
def two_module_file(tmp_path):
    maps, _ = lattice_maps([0.3, 0.3 * RATIO])
    return save_maps(tmp_path / "two.npz", maps)


def test_two_lattice_spacings_give_two_modules(two_module_file, capsys):
    code, out, err = run_cli(
        capsys, two_module_file, *THRESHOLD, "--bootstrap", "200", "--json"
    )
    assert code == 0 and err == ""
    result = json.loads(out)
    (population,) = result["populations"]
    assert population["n_grid"] == 2 * UNITS_PER_MODULE
    estimate = result["pooled"]
    assert estimate["status"] == "determined"
    assert estimate["n_modules"] == 2
    # Each module's geometric mean period is its construction period (the
    # quantile spread is symmetric in log); the scorer's sub-bin period is
    # good to about 1 %.
    periods = [module["period"] for module in estimate["modules"]]
    np.testing.assert_allclose(periods, [0.3, 0.3 * RATIO], rtol=0.02)
    (ratio,) = estimate["ratios"]
    assert ratio["ratio"] == pytest.approx(RATIO, rel=0.02)
    assert ratio["ci"][0] < ratio["ratio"] < ratio["ci"][1]
    assert [module["n_units"] for module in estimate["modules"]] == [12, 12]
    assert estimate["unimodal"] is False
    assert result["grid_call"] == {"method": "threshold", "score_60_above": 0.3}


def test_default_grid_call_is_the_ring_null(two_module_file, capsys):
    # 99 surrogates: the fewest with which a unit can reach p <= 0.01.
    code, out, _ = run_cli(
        capsys, two_module_file, "--null-samples", "99", "--bootstrap", "0", "--json"
    )
    assert code == 0
    result = json.loads(out)
    call = result["grid_call"]
    assert call["method"] == "null" and call["null"] == "ring"
    assert call["samples"] == 99
    (population,) = result["populations"]
    # Perfect lattices beat their own phase-randomised surrogates.
    assert population["n_grid"] >= 2 * UNITS_PER_MODULE - 2
    assert all(p <= call["alpha"] for p in population["p_value_60"])
    assert result["pooled"]["n_modules"] == 2


def test_text_output_and_plot(two_module_file, tmp_path, capsys):
    figure = tmp_path / "modules.png"
    code, out, _ = run_cli(
        capsys, two_module_file, *THRESHOLD, "--bootstrap", "50", "--plot", figure
    )
    assert code == 0
    assert "2 modules by BIC" in out and "ratio module 2/1" in out
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["modules.png", "two.npz"]


def test_sweep_directory_pools_its_runs(tmp_path, capsys):
    # Two runs, one module each at different periods: each run alone is one
    # module, the pooled population two.
    sweep = tmp_path / "sweep"
    for name, period in (("run_a", 0.3), ("run_b", 0.3 * RATIO)):
        (sweep / name).mkdir(parents=True)
        maps, _ = lattice_maps([period])
        save_maps(sweep / name / "ratemaps.npz", maps)
    (sweep / "not_a_run").mkdir()
    code, out, _ = run_cli(capsys, sweep, *THRESHOLD, "--bootstrap", "0", "--json")
    assert code == 0
    result = json.loads(out)
    assert [p["path"].split("/")[-2] for p in result["populations"]] == [
        "run_a",
        "run_b",
    ]
    assert [p["estimate"]["n_modules"] for p in result["populations"]] == [1, 1]
    assert result["pooled"]["n_modules"] == 2
    assert result["pooled"]["ratios"][0]["ci"] is None


def test_run_directory_is_read(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    maps, _ = lattice_maps([0.3, 0.3 * RATIO])
    save_maps(run / "ratemaps.npz", maps)
    code, out, _ = run_cli(capsys, run, *THRESHOLD, "--bootstrap", "0", "--json")
    assert code == 0
    assert json.loads(out)["pooled"]["n_modules"] == 2


def test_too_few_grid_units_are_undetermined_not_an_error(tmp_path, capsys):
    maps, _ = lattice_maps([0.3], units=6)
    path = save_maps(tmp_path / "few.npz", maps)
    code, out, _ = run_cli(capsys, path, *THRESHOLD, "--json")
    assert code == 0
    estimate = json.loads(out)["pooled"]
    assert estimate["status"] == "undetermined"
    assert estimate["n_modules"] is None
    assert "6 units" in estimate["reason"]
    code, out, _ = run_cli(capsys, path, *THRESHOLD)
    assert "modules undetermined" in out


def test_help_states_the_library_bootstrap_default():
    from validate.commands.modules import BOOTSTRAP_HELP_DEFAULT
    from validate.modules import DEFAULT_BOOTSTRAP

    assert BOOTSTRAP_HELP_DEFAULT == DEFAULT_BOOTSTRAP


def test_orientation_model_is_named(two_module_file, capsys):
    code, out, _ = run_cli(
        capsys, two_module_file, *THRESHOLD, "--orientation", "--bootstrap", "0"
    )
    assert code == 0
    assert "von Mises" in out and "2 modules by BIC" in out


def _bad_inputs(tmp_path):
    cases = {}
    noise = np.random.default_rng(0).random((12, BINS, BINS))
    cases["no grid unit"] = [save_maps(tmp_path / "noise.npz", noise), *THRESHOLD]
    (tmp_path / "empty_dir" / "sub").mkdir(parents=True)
    cases["directory without rate maps"] = [tmp_path / "empty_dir", *THRESHOLD]
    (tmp_path / "text.npz").write_text("not an archive\n")
    cases["not an npz"] = [tmp_path / "text.npz", *THRESHOLD]
    cases["missing path"] = [tmp_path / "absent", *THRESHOLD]
    np.savez(tmp_path / "other.npz", maps=noise)
    cases["npz without ratemaps"] = [tmp_path / "other.npz", *THRESHOLD]
    good, _ = lattice_maps([0.3])
    good = save_maps(tmp_path / "good.npz", good)
    cases["unknown null"] = [good, "--null", "shuffle"]
    cases["threshold and null"] = [good, "--threshold", "0.3", "--null", "noise"]
    cases["too few null samples"] = [good, "--null", "noise", "--null-samples", "3"]
    cases["negative bootstrap"] = [good, *THRESHOLD, "--bootstrap", "-1"]
    cases["unknown figure format"] = [good, *THRESHOLD, "--plot", tmp_path / "f.xyz"]
    cases["no path"] = [*THRESHOLD]
    return cases


BAD = [
    "no grid unit",
    "directory without rate maps",
    "not an npz",
    "missing path",
    "npz without ratemaps",
    "unknown null",
    "threshold and null",
    "too few null samples",
    "negative bootstrap",
    "unknown figure format",
    "no path",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_and_exit_2(case, tmp_path, capsys):
    argv = _bad_inputs(tmp_path)[case]
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not list(tmp_path.glob("*.xyz")) and not list(tmp_path.glob(".*"))
