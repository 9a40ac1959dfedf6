"""The command line: every subcommand succeeds on good arguments and fails on a bad one
with a single line and exit status 2; `lpm reproduce fig3` through the installed console
script writes the figure and the data."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lpm
from lpm.cli import main, parse_grid


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def lpm_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m lpm``."""
    script = shutil.which("lpm", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "lpm"]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# -- reproduce fig3: the README's main job --------------------------------------------
def test_reproduce_fig3_through_the_console_script(tmp_path):
    out = tmp_path / "fig3"
    proc = subprocess.run(
        [*lpm_command(), "reproduce", "fig3", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert str(out) in proc.stdout
    for name in ("figure3.png", "figure3.pdf", "figure3.csv", "figure3.json"):
        assert (out / name).stat().st_size > 0
    assert (out / "figure3.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "figure3.pdf").read_bytes()[:5] == b"%PDF-"
    rows = read_csv(out / "figure3.csv")
    assert len(rows) == 41
    cos = [float(r["minority_cosine"]) for r in rows]
    assert cos[0] == pytest.approx(-1 / 9, abs=1e-15)
    assert cos[-1] == 1.0  # exactly
    assert [float(r["R"]) for r in rows] == [10.0 ** (0.1 * i) for i in range(41)]


def test_reproduce_fig3_default_directory_and_json(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "reproduce", "fig3", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["R0"] == lpm.collapse_threshold(5, 5, 1, 5)
    assert data["last_cosine"] == 1.0 and len(data["rows"]) == 41
    assert sorted(Path(f).name for f in data["files"]) == sorted(
        ["figure3.csv", "figure3.json", "figure3.png", "figure3.pdf"]
    )
    assert (tmp_path / "lpm-fig3" / "figure3.png").exists()


def test_reproduce_rejects_an_unknown_figure(capsys):
    code, out, err = run(capsys, "reproduce", "fig9")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "invalid choice: 'fig9'" in err


def test_bad_argument_through_the_console_script_has_no_traceback():
    proc = subprocess.run(
        [*lpm_command(), "solve", "--R", "-3"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip() == "lpm solve: error: R must be a positive real number or inf, got -3.0"
    )
    assert "Traceback" not in proc.stderr


def test_python_dash_m_lpm_shows_help():
    proc = subprocess.run(
        [sys.executable, "-m", "lpm", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and "reproduce" in proc.stdout


# -- solve -------------------------------------------------------------------------------
def test_solve_prints_the_certified_solution(capsys):
    code, out, err = run(capsys, "solve", "--K_A", "5", "--K_B", "5", "--R", "100")
    assert code == 0 and err == ""
    sol = lpm.solve(5, 5, 100, 1, 5)
    assert f"{sol.objective:.10g}" in out
    assert "minority_collapsed   True" in out


def test_solve_json_and_out(tmp_path, capsys):
    code, out, _ = run(
        capsys, "solve", "--counts", "50,50,10,2,2", "--E_H", "2", "--json", "--out", str(tmp_path)
    )
    assert code == 0
    data = json.loads(out)
    sol = lpm.solve_counts([50, 50, 10, 2, 2], 1.0, 2.0)
    assert data["solution"]["objective"] == sol.objective
    assert len(data["W"]) == 5
    names = sorted(p.name for p in tmp_path.iterdir())
    structure = [f"collapse_map.{e}" for e in ("pdf", "png")]
    structure += [f"collapse_vs_budget.{e}" for e in ("csv", "json", "pdf", "png")]
    assert names == sorted(
        structure + ["geometry.pdf", "geometry.png", "solution.csv", "solution.json"]
    )
    assert float(read_csv(tmp_path / "solution.csv")[0]["objective"]) == sol.objective
    # the exact structure, in one line, and against the budget (E_W E_H = 1, 2, 5, 10)
    assert data["structure"] == sol.collapse.summary()
    rows = read_csv(tmp_path / "collapse_vs_budget.csv")
    assert [float(r["EWEH"]) for r in rows] == [1.0, 2.0, 5.0, 10.0]
    assert rows[1]["summary"] == data["structure"]  # E_W E_H = 2 is the solved model


@pytest.mark.parametrize(
    "argv, message",
    [
        (["solve"], "give --R"),
        (["solve", "--R", "abc"], "argument --R: not a number: 'abc'"),
        (["solve", "--R", "10", "--E_W", "0"], "E_W must be a finite real number > 0"),
        (["solve", "--R", "10", "--method", "magic"], "invalid choice: 'magic'"),
        (["solve", "--R", "10", "--p", "2"], "p must be an integer >= 9"),
        (["solve", "--R", "10", "--bogus"], "unrecognized arguments: --bogus"),
        (["solve", "--R", "10", "--p", "0"], "p must be an integer >= 9"),
        (["solve", "--counts", "10,10,1,1", "--oversample", "5"], "--counts replaces"),
        (["solve", "--counts", "10,10,1,1", "--R", "3", "--K_A", "2"], "--K_A, --R"),
        (["solve", "--R", "10", "--out", " "], "--out needs a directory name"),
        (["solve", "--K_A", "1e13", "--R", "10"], r"K_A must be an integer <= 2**40"),
        (["solve", "--K_A", "1e12", "--R", "10", "--method", "nuclear"], "does not fit"),
        ([], "give a command"),
    ],
)
def test_bad_arguments_give_one_line_and_status_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err
    assert err.startswith("lpm")


def test_an_unusable_out_directory_fails_before_solving(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    for command in (["solve", "--R", "10"], ["threshold"], ["curve", "--R", "1,10"]):
        code, out, err = run(capsys, *command, "--out", str(blocker / "sub"))
        assert code == 2 and out == "" and err.count("\n") == 1
        assert "cannot create the directory" in err


def test_solve_leaves_out_the_k_by_k_arrays_at_large_k(capsys, monkeypatch):
    monkeypatch.setattr(lpm.cli.commands, "MAX_K_ARRAYS", 8)  # K = 10 counts as large here
    code, out, _ = run(capsys, "solve", "--R", "100", "--json")
    data = json.loads(out)
    assert code == 0 and "W" not in data and "omitted for K > 8" in data["arrays"]
    assert data["solution"]["minority_collapsed"] is True


# -- curve -------------------------------------------------------------------------------
def test_curve_writes_table_and_figure(tmp_path, capsys):
    code, out, err = run(capsys, "curve", "--R", "1:1e3:7", "--E_H", "1,5", "--out", str(tmp_path))
    assert code == 0 and err == ""
    rows = read_csv(tmp_path / "curve.csv")
    assert len(rows) == 14
    ref = lpm.sweep(5, 5, R=parse_grid("1:1e3:7"), E_W=1.0, E_H=[1.0, 5.0])
    # NaN where the minority classifiers are 0 (E_W E_H = 1 beyond R_0): equal as NaN
    np.testing.assert_array_equal(
        [float(r["minority_cosine"]) for r in rows], list(ref["minority_cosine"])
    )
    assert {p.name for p in tmp_path.iterdir()} == {
        "curve.csv",
        "curve.json",
        "curve.png",
        "curve.pdf",
    }


def test_curve_json_over_the_oversampling_factor(capsys):
    code, out, _ = run(capsys, "curve", "--R", "100", "--oversample", "1:100:5", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["x"] == "oversample" and len(data["rows"]) == 5
    assert data["rows"][-1]["minority_cosine"] == pytest.approx(-1 / 9, abs=1e-13)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["curve", "--R", "1:10"], "a grid is START:STOP:COUNT"),
        (["curve", "--R", "10"], "give a grid"),
        (["curve", "--K_A", "3:1"], "empty range"),
        (["curve", "--E_H", "1", "--EWEH", "2"], "not both"),
        (["curve", "--y", "nope"], "--y must be a numeric column"),
        (["curve", "--y", "status"], "--y must be a numeric column"),
        (["curve", "--R", "1,10", "--x", "K_A"], "--x K_A is not swept"),
        (["curve", "--workers", "0"], "--workers must be >= 1"),
    ],
)
def test_curve_bad_arguments(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and message in err


# -- threshold ---------------------------------------------------------------------------
def test_threshold(tmp_path, capsys):
    code, out, _ = run(capsys, "threshold", "--json", "--out", str(tmp_path))
    assert code == 0
    assert json.loads(out)["R0"] == lpm.collapse_threshold(5, 5, 1.0, 5.0)
    assert float(read_csv(tmp_path / "threshold.csv")[0]["R0"]) == json.loads(out)["R0"]
    code, out, _ = run(capsys, "threshold", "--K_A", "2", "--K_B", "8", "--E_H", "1")
    # the digits that rtol = 1e-8 supports, not the float's 17 (issue 15); JSON has all
    assert code == 0 and f"R_0 = {lpm.collapse_threshold(2, 8, 1.0, 1.0):.9g} " in out


def test_threshold_bad_argument(capsys):
    code, _, err = run(capsys, "threshold", "--K_B", "1")
    assert code == 2 and "K_B must be an integer >= 2" in err and err.count("\n") == 1


# -- phase -------------------------------------------------------------------------------
def test_phase(tmp_path, capsys):
    code, out, _ = run(
        capsys, "phase", "--classes", "5/5,2/8", "--EWEH", "0.5,2", "--out", str(tmp_path)
    )
    assert code == 0
    rows = read_csv(tmp_path / "phase.csv")
    assert [(r["K_A"], r["K_B"], r["EWEH"]) for r in rows] == [
        ("5", "5", "0.5"),
        ("5", "5", "2.0"),
        ("2", "8", "0.5"),
        ("2", "8", "2.0"),
    ]
    assert float(rows[3]["R0"]) == lpm.collapse_threshold(2, 8, 1.0, 2.0)
    assert (tmp_path / "phase.pdf").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["phase", "--classes", "5x5"], "K_A/K_B pairs"),
        (["phase", "--classes", "5/1", "--EWEH", "1"], "K_B must be an integer >= 2"),
    ],
)
def test_phase_bad_arguments(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and err.count("\n") == 1


# -- verify ------------------------------------------------------------------------------
def test_verify_on_the_paper_setting(tmp_path, capsys):
    code, out, _ = run(capsys, "verify", "--R", "1:1e4:41", "--json", "--out", str(tmp_path))
    assert code == 0
    data = json.loads(out)
    assert data["holds"] and data["collapsed_above"] and data["shrinking_below"]
    rows = data["rows"]
    for r in rows:
        assert r["minority_collapsed"] == (r["R"] >= data["R0"])
        if r["R"] >= data["R0"]:
            assert r["max_distance"] == 0.0
    below = [r["max_distance"] for r in rows if r["R"] < data["R0"]]
    assert all(a > b > 0 for a, b in zip(below, below[1:]))
    assert {p.name for p in tmp_path.iterdir()} == {
        "verify.csv",
        "verify.json",
        "verify.png",
        "verify.pdf",
    }
    code, out, _ = run(capsys, "verify")
    assert code == 0 and "Theorem 5 holds" in out


def test_verify_bad_argument_and_failed_check(capsys):
    code, _, err = run(capsys, "verify", "--E_H", "-1")
    assert code == 2 and "E_H must be" in err and err.count("\n") == 1
    code, out, _ = run(capsys, "verify", "--R", "1,2")  # grid ends below R_0: not shown
    assert code == 1 and "INCONCLUSIVE" in out


# -- help ----------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["solve", "curve", "threshold", "phase", "verify", "reproduce"])
def test_every_command_has_help_with_an_example(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert "example" in out and f"lpm {command}" in out.split("example", 1)[1]


def test_grid_syntax():
    assert parse_grid("1,5,10") == [1.0, 5.0, 10.0]
    assert parse_grid("2:5", integer=True) == [2, 3, 4, 5]
    g = parse_grid("1:1e4:41")
    assert len(g) == 41 and g[0] == 1.0 and g[-1] == 1e4


def test_a_usage_error_creates_no_output_directory(tmp_path, capsys):
    out = tmp_path / "never"
    code, _, err = run(capsys, "solve", "--counts", "1,2", "--R", "3", "--out", str(out))
    assert code == 2 and "--counts replaces --R" in err and not out.exists()
    code, _, err = run(capsys, "curve", "--R", "1,10", "--y", "status", "--out", str(out))
    assert code == 2 and not out.exists()
