"""Progress bars and refusals: a bar per point on a terminal (the CLI under a
pseudo-terminal), nothing but results in a pipe, a validated progress= argument, and
grids or K too large refused before any work, with the numbers asked for."""

import os
import pty
import re
import select
import subprocess
import sys

import numpy as np
import pytest

import lpm
from lpm import _progress, _validation
from lpm.cli import main

ENV = {k: v for k, v in os.environ.items() if k != "CI"}


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class _Terminal:
    def isatty(self):
        return True


def test_a_bar_is_shown_on_a_terminal_only_and_never_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    assert _progress.wanted(None, _Terminal())
    assert not _progress.wanted(None, open(os.devnull, "w"))  # a file
    assert _progress.wanted(True, open(os.devnull, "w")) and not _progress.wanted(False)
    monkeypatch.setenv("CI", "true")
    assert not _progress.wanted(None, _Terminal())
    monkeypatch.setenv("CI", "false")
    assert _progress.wanted(None, _Terminal())


@pytest.mark.parametrize(
    "call",
    [
        lambda p: lpm.sweep(5, 5, R=[1.0, 2.0], progress=p),
        lambda p: lpm.phase_diagram([(5, 5)], EWEH=[1.0], progress=p),
        lambda p: lpm.verify_minority_collapse(5, 5, 1, 5, R_grid=[1.0, 100.0], progress=p),
        lambda p: lpm.sweep_models([lpm.Model([3.0, 1.0])], progress=p),
    ],
)
def test_progress_must_be_true_false_or_none(call):
    with pytest.raises(ValueError, match="progress must be True .* got 'yes'"):
        call("yes")
    with pytest.raises(ValueError, match="got 1"):
        call(1)


def test_the_bar_advances_once_per_point(capsys, monkeypatch):
    monkeypatch.setattr(_progress, "MININTERVAL", 0.0)
    lpm.sweep(5, 5, R=[1.0, 2.0, 4.0, 8.0, 16.0], progress=True)
    counts = [int(c) for c in re.findall(r"(\d)/5", capsys.readouterr().err)]
    assert sorted(set(counts)) == [0, 1, 2, 3, 4, 5]
    lpm.phase_diagram([(5, 5), (2, 8)], EWEH=[0.5, 1.0, 2.0], progress=True)
    counts = [int(c) for c in re.findall(r"(\d)/6", capsys.readouterr().err)]
    assert sorted(set(counts)) == [0, 1, 2, 3, 4, 5, 6]


def _read_all(fd, proc, timeout=120.0):
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            proc.kill()
            raise AssertionError("the command under the terminal stopped responding")
        try:
            data = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=timeout)
    return b"".join(chunks).decode(errors="replace")


def test_the_cli_under_a_terminal_shows_the_bar_advance_per_point():
    # the CLI's own main, in a child whose standard error is a pseudo-terminal (never
    # sized, as under `script`, where tqdm alone draws nothing); the bar's delay and
    # redraw interval set to 0 so that every point is drawn
    code = (
        "import sys, lpm._progress as p; p.DELAY = 0.0; p.MININTERVAL = 0.0; "
        "from lpm.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "curve", "--R", "1:1e4:12"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=ENV,
    )
    os.close(slave)
    shown = _read_all(master, proc)
    os.close(master)
    assert proc.returncode == 0
    counts = {int(c) for c in re.findall(r"lpm sweep: .*?(\d+)/12", shown)}
    assert counts == set(range(13)), shown
    table = proc.stdout.read().decode()
    assert "minority_cosine" in table and "lpm sweep" not in table


def test_in_a_pipe_nothing_but_results_is_printed():
    proc = subprocess.run(
        [sys.executable, "-m", "lpm", "phase", "--classes", "5/5", "--EWEH", "0.5:5:8"],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split() == ["K_A", "K_B", "EWEH", "R0"] and len(lines) == 9


# -- refusals ------------------------------------------------------------------------------
def test_too_large_grids_are_refused_before_any_work(monkeypatch):
    calls = []
    monkeypatch.setattr(lpm.Model, "two_group", lambda *a, **k: calls.append(a))
    big = np.ones(10**4)
    with pytest.raises(ValueError, match=r"the sweep would have 1,000,000,000 points"):
        lpm.sweep(5, 5, R=big, E_H=big, oversample=np.ones(10))
    assert not calls  # not one model was built
    limit = _validation.MAX_GRID_POINTS
    with pytest.raises(ValueError, match=f"{4 * (limit // 2):,} points"):
        lpm.phase_diagram([(5, 5)] * 4, EWEH=np.ones(limit // 2))
    with pytest.raises(ValueError, match="the Theorem-5 grid would have"):
        lpm.verify_minority_collapse(5, 5, R_grid=np.ones(limit + 1))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["curve", "--R", "1:10:1e9"], "'1:10:1e9' asks for 1,000,000,000 values"),
        (["curve", "--K_A", "1:2000000"], "asks for 2,000,000 values"),
        (["curve", "--R", "1:10:1000", "--E_H", "1:5:1001", "--oversample", "1,2"], "2,002,000"),
        (["phase", "--EWEH", "1:10:600000", "--classes", "5/5,2/8"], "1,200,000 points"),
        # two groups need no per-class array (any K solves); a dense route does
        (["solve", "--K_A", "1e11", "--R", "10", "--method", "nuclear"], "does not fit in memory"),
        (
            ["curve", "--K_A", "1e11", "--R", "1,10", "--method", "nuclear"],
            "does not fit in memory",
        ),
    ],
)
def test_the_cli_refuses_them_in_one_line_with_exit_status_2(capsys, argv, message):
    code, out, err = _cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_classes_beyond_memory_are_a_value_error_before_any_work():
    # two groups at any K (issue 15: no per-class array); a route that needs K-sized
    # arrays is refused before any work, with a ValueError that is a MemoryError too
    assert lpm.solve(10**12, 5, 10.0).success
    with pytest.raises(ValueError, match="per-class loss weights would be a 1000000000005"):
        lpm.solve(10**12, 5, 10.0, method="nuclear")
    with pytest.raises(MemoryError):  # and still the MemoryError it always was
        lpm.solve(10**12, 5, 10.0, method="nuclear")
    # the threshold of cross-entropy needs no array of size K at all
    assert lpm.collapse_threshold(10**12, 10**12, 1.0, 1.0) > 1.0
    with pytest.raises(ValueError, match="class layout would be"):
        lpm.collapse_threshold(10**12, 10**12, 1.0, 1.0, loss="label_smoothing")


def test_slow_routes_tick_as_each_point_is_done(monkeypatch):
    # a chunk of low-rank (or conic) models is solved one model at a time, each row ticked
    # when it is done: a bar over solves of seconds advances per point, not per chunk
    from lpm.studies import rows as rows_module

    events = []
    solve = rows_module.solve_models

    def recorded(models, **options):
        events.append(("solve", len(models)))
        return solve(models, **options)

    monkeypatch.setattr(rows_module, "solve_models", recorded)
    models = [lpm.Model(lpm.counts.long_tailed(10, rho), 1.0, 5.0) for rho in (10, 20, 50)]
    models.append(lpm.Model.two_group(5, 5, 10.0, 1.0, 5.0))  # a batched row, ticked too
    rows = rows_module.solve_rows(models, method="auto", tick=lambda: events.append("tick"))
    assert [r["method"] for r in rows] == ["lowrank"] * 3 + ["reduced"]
    assert events == [("solve", 1), "tick"] * 3 + ["tick"]
    alone = [rows_module.solution_row(lpm.solve_model(m)) for m in models[:3]]
    assert [r["objective"] for r in rows[:3]] == [r["objective"] for r in alone]
