"""Every script in examples/ runs, on small settings, and prints what it promises."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lpm

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name, *args):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard; each runs in a few seconds
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def figures(directory, stem):
    return all((Path(directory) / f"{stem}.{ext}").stat().st_size > 0 for ext in ("png", "pdf"))


def test_every_example_has_a_test():
    tested = {"figure3", "balanced_etf", "theorem5", "oversampling", "phase_diagram", "own_network"}
    assert {p.stem for p in EXAMPLES.glob("*.py")} == tested


def test_figure3(tmp_path):
    out = run_example("figure3.py", tmp_path)
    # the digits rtol = 1e-8 supports (issue 15): 12.1924470806 had two wrong ones
    assert "R_0 = 12.1924471;" in out
    with open(tmp_path / "figure3.csv", newline="") as f:
        cos = [float(r["minority_cosine"]) for r in csv.DictReader(f)]
    assert len(cos) == 41 and cos[0] == pytest.approx(-1 / 9, abs=1e-15) and cos[-1] == 1.0
    assert figures(tmp_path, "figure3")


def test_balanced_etf(tmp_path):
    out = run_example("balanced_etf.py", tmp_path, 6)
    closed = lpm.balanced_optimum(6).objective
    assert f"closed form     {closed:.15g}" in out
    assert "simplex ETF (exact optimality test): True" in out
    assert figures(tmp_path, "balanced_etf")


def test_theorem5(tmp_path):
    out = run_example("theorem5.py", tmp_path, 3, 4, 1, 2)
    assert "Theorem 5 holds" in out
    assert figures(tmp_path, "theorem5") and (tmp_path / "theorem5.csv").exists()


def test_oversampling(tmp_path):
    out = run_example("oversampling.py", tmp_path, 200, 9)
    R0 = lpm.collapse_threshold(5, 5, 1, 5)
    assert f"w_r <= R / R_0 = {200 / R0:.6g}" in out
    assert "(simplex ETF: -0.111111111111111)" in out
    assert figures(tmp_path, "oversampling")


def test_phase_diagram(tmp_path):
    out = run_example("phase_diagram.py", tmp_path, 3)
    assert out.count("K_A =") == 4
    with open(tmp_path / "phase.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12
    assert float(rows[1]["R0"]) == lpm.collapse_threshold(5, 5, 1.0, float(rows[1]["EWEH"]))
    assert figures(tmp_path, "phase")


def test_own_network_demo_and_user_files(tmp_path):
    out = run_example("own_network.py", "--demo", tmp_path / "net")
    assert "lpm says exactly collapsed: True" in out
    assert figures(tmp_path / "net", "own_network")
    # the same comparison from class means and counts given by hand
    W = np.load(tmp_path / "net" / "W.npy")
    feats = np.load(tmp_path / "net" / "feats.npy")
    labels = np.load(tmp_path / "net" / "labels.npy")
    means = np.array([feats[labels == k].mean(axis=0) for k in range(W.shape[0])])
    np.save(tmp_path / "H.npy", means)
    counts = ",".join(str(c) for c in np.bincount(labels))
    again = run_example(
        "own_network.py", tmp_path / "net" / "W.npy", tmp_path / "H.npy", "--counts", counts
    )
    assert again.splitlines()[:4] == out.splitlines()[:4]
    # the network matches the model it was made from, up to its noise
    diff = float(out.split("classifier cosines: largest |network - lpm| = ")[1].split()[0])
    assert diff < 0.05
