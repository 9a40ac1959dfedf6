"""The command line as a new user meets it (issue 15): what --out writes and claims, an
interrupted solve, negative grid values, a NaN explained, R_0 in the files, the digits a
threshold supports."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from test_cli import lpm_command, read_csv, run

import lpm
from lpm.cli import main
from lpm.cli.main import build_parser


def test_every_option_of_every_command_has_help():
    # curve --x, phase --EWEH and reproduce --method had none
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"lpm {name} {action.option_strings[0]} has no help"


@pytest.mark.parametrize(
    "argv",
    [
        ["solve", "--R", "10", "--K_A", "3", "--K_B", "2"],
        ["curve", "--R", "1,100", "--K_A", "3", "--K_B", "2"],
        ["threshold", "--K_A", "3", "--K_B", "2"],
        ["phase", "--classes", "3/2", "--EWEH", "1,5"],
        ["verify", "--K_A", "3", "--K_B", "2", "--R", "1,10,1000"],
        ["reproduce", "fig3"],
    ],
    ids=lambda argv: argv[0],
)
def test_out_writes_exactly_the_files_its_help_names(tmp_path, capsys, argv):
    # threshold --out claimed figures but wrote CSV and JSON only
    sub = build_parser()._subparsers._group_actions[0].choices[argv[0]]
    (out_action,) = [a for a in sub._actions if "--out" in a.option_strings]
    code, _, err = run(capsys, *argv, "--out", str(tmp_path / "o"))
    assert code == 0, err
    written = sorted(p.name for p in (tmp_path / "o").iterdir())
    claimed = sorted(w for w in out_action.help.replace(",", " ").split() if "." in w[1:-1])
    assert written == claimed, (written, out_action.help)


def test_a_library_error_leaves_no_out_directory(tmp_path, capsys):
    # the budget product is refused by the library, after the command line parsed fine
    target = tmp_path / "run1"
    code, out, err = run(capsys, "solve", "--R", "10", "--E_W", "1e-300", "--out", str(target))
    assert code == 2 and "E_W * E_H must be at least" in err and err.count("\n") == 1
    assert not target.exists()  # was created, and left empty
    code, _, _ = run(capsys, "verify", "--R", "-1,2", "--out", str(target / "deep"))
    assert code == 2 and not target.exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["curve", "--R", "-1,1"], "R must be a positive real number or inf, got -1.0"),
        (["solve", "--R", "-1"], "R must be a positive real number or inf, got -1.0"),
        (["solve", "--R", "-1e3"], "R must be a positive real number or inf, got -1000.0"),
        (["solve", "--R", "-inf"], "R must be a positive real number or inf, got -inf"),
        (["verify", "--R", "-1,2,3"], "R_grid must be a finite real number > 0, got -1.0"),
        (["solve", "--R", "10", "--E_H", "-.5"], "E_H must be a finite real number > 0"),
    ],
)
def test_negative_values_reach_the_checks(capsys, argv, message):
    # argparse read "-1,1" as an option: "expected one argument"
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and "expected one argument" not in err


def test_a_nan_minority_cosine_says_why(tmp_path, capsys):
    code, out, _ = run(capsys, "solve", "--R", "100", "--E_H", "1", "--out", str(tmp_path))
    assert code == 0
    line = next(x for x in out.splitlines() if "minority_cosine" in x)
    assert "nan" in line and "vanish" in line and "0 vectors" in line
    row = read_csv(tmp_path / "solution.csv")[0]
    assert row["minority_cosine"] == "nan" and row["minority_vanished"] == "True"
    data = json.loads((tmp_path / "solution.json").read_text())
    assert data["solution"]["minority_cosine"] is None
    assert data["solution"]["minority_vanished"] is True
    # a cosine that is a number is not explained; one class has no pairs, and says so
    code, out, _ = run(capsys, "solve", "--R", "10", "--K_A", "1")
    assert "majority_cosine      nan  (the majority has 1 class" in out
    assert "minority_vanished" not in out.split("minority_cosine")[1].split("\n")[0]


def test_curve_says_why_cosines_are_nan(capsys):
    code, out, _ = run(capsys, "curve", "--R", "1,100", "--E_H", "1")
    header, first, last = out.splitlines()[:3]
    assert code == 0 and "minority_vanished" in header
    assert last.split()[1:3] == ["nan", "True"] and first.split()[2] == "False"


def test_budgets_out_of_range_are_one_line_errors(capsys):
    # LinAlgError and a 7-line traceback before
    code, out, err = run(capsys, "solve", "--R", "10", "--E_W", "1e200", "--E_H", "1e200")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "E_W * E_H must be at most 3.636e+05 for K=10" in err
    code, out, err = run(capsys, "solve", "--R", "10", "--E_W", "1e-300", "--E_H", "1e10")
    assert code == 2 and "must be at least 1e-24" in err  # exited 0 with -inf in H


def test_figure3_and_curve_json_carry_r0(tmp_path, capsys):
    R0 = lpm.collapse_threshold(5, 5, 1.0, 5.0)
    assert run(capsys, "reproduce", "fig3", "--out", str(tmp_path / "f"))[0] == 0
    settings = json.loads((tmp_path / "f" / "figure3.json").read_text())["settings"]
    assert settings["R0"] == R0 and settings["R0_rtol"] == 1e-8
    argv = ["curve", "--R", "1:1e3:5", "--E_H", "1,5", "--oversample", "1,2"]
    assert run(capsys, *argv, "--out", str(tmp_path / "c"))[0] == 0
    R0s = json.loads((tmp_path / "c" / "curve.json").read_text())["settings"]["R0"]
    assert len(R0s) == 4
    for entry in R0s:
        expected = entry["oversample"] * lpm.collapse_threshold(5, 5, 1.0, entry["E_H"])
        assert entry["R0"] == expected and entry["K_A"] == 5 and entry["E_W"] == 1.0


@pytest.mark.parametrize("rtol, digits", [(1e-8, 9), (1e-4, 5), (1e-2, 3)])
def test_threshold_prints_the_digits_its_rtol_supports(capsys, rtol, digits):
    code, out, _ = run(capsys, "threshold", "--rtol", str(rtol))
    R0 = lpm.collapse_threshold(5, 5, 1.0, 5.0, rtol=rtol)
    shown = out.split("R_0 = ")[1].split()[0]
    assert code == 0 and shown == f"{R0:.{digits}g}" and len(shown.replace(".", "")) <= digits
    assert float(shown) == pytest.approx(12.1924470803259352633, rel=rtol)  # 30 digits
    code, out, _ = run(capsys, "threshold", "--rtol", str(rtol), "--json")
    assert json.loads(out)["R0"] == R0  # every digit in the machine-readable output


def test_ctrl_c_during_a_conic_solve_is_an_interrupt(tmp_path):
    # SCS catches SIGINT and returns "interrupted", which cvxpy reports as a failure: it
    # was "lpm: solver failed", exit 1; and no empty --out directory is left
    target = tmp_path / "run"
    argv = [*lpm_command(), "solve", "--K_A", "40", "--K_B", "40", "--R", "10"]
    proc = subprocess.Popen(
        [*argv, "--method", "sdp", "--out", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    time.sleep(5.0)  # imports and compile take 2 s; SCS then iterates for 2 minutes
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "lpm: interrupted" in err and "solver failed" not in err
    assert not target.exists()


def test_main_reports_an_interrupt_with_status_130(capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("lpm.cli.commands.collapse_threshold", interrupted)
    assert main(["threshold"]) == 130
    assert capsys.readouterr().err == "lpm: interrupted\n"
