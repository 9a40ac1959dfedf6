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
        timeout=600,  # a hang guard only: each runs in seconds to a minute
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def figures(directory, stem):
    return all((Path(directory) / f"{stem}.{ext}").stat().st_size > 0 for ext in ("png", "pdf"))


def test_every_example_has_a_test():
    tested = {
        "figure3",
        "balanced_etf",
        "theorem5",
        "oversampling",
        "phase_diagram",
        "own_network",
        "trained_network",
    }
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
    # classes numbered from 0 as in the API, NC1 of the per-sample features, both figures
    assert "minority classifiers (classes [4, 5, 6])" in out
    nc1 = float(out.split("\n  nc1")[1].split()[0])
    assert nc1 == pytest.approx(lpm.nc1(feats, labels), rel=1e-3)
    assert "nc1" not in again  # class means only: no per-sample variability to measure


def test_own_network_says_when_W_is_transposed(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(7), 3)
    np.save(tmp_path / "WT.npy", rng.standard_normal((16, 7)))  # p x K: transposed
    np.save(tmp_path / "feats.npy", rng.standard_normal((labels.size, 16)))
    np.save(tmp_path / "labels.npy", labels)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "own_network.py"), tmp_path / "WT.npy"]
        + [tmp_path / "feats.npy", "--labels", tmp_path / "labels.npy"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "W has shape (16, 7)" in proc.stderr and "pass W.T (shape (7, 16))" in proc.stderr


def test_trained_network_reduced(tmp_path):
    # two of the six imbalances, one seed: the whole pipeline, from training to figure
    pytest.importorskip("sklearn")
    out = run_example("trained_network.py", tmp_path, "--R", "5,50", "--seeds", "0")
    assert "2 networks, largest training error 0\n" in out
    with open(tmp_path / "network.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["R"]) for r in rows] == [5.0, 50.0]
    assert [int(float(r["n_B"])) for r in rows] == [36, 4]  # round(180.2 / R)
    for r in rows:
        assert float(r["train_error"]) == 0.0  # the premise: zero training error
        # the prediction at the network's counts (the digits' own 0-4) and budgets, again
        counts = [178, 182, 177, 183, 181] + [float(r["n_B"])] * 5
        sol = lpm.solve_counts(counts, float(r["E_W"]), float(r["E_H"]), minority=[5, 6, 7, 8, 9])
        assert float(r["predicted_minority_cosine"]) == pytest.approx(
            sol.minority_cosine, abs=1e-12
        )
        assert -1 < float(r["minority_cosine"]) < 1
        assert f"{float(r['minority_cosine']):+.3f}" in out
    assert figures(tmp_path, "network")


def test_training_runs_on_one_blas_thread_whatever_the_caller_set():
    # the network, and so the experiment's numbers, do not depend on the caller's BLAS
    # threads (on two busy cores two threads cost 12x the CPU); the option is checked
    sklearn = pytest.importorskip("sklearn")
    from threadpoolctl import threadpool_limits

    from lpm.studies.network import train_mlp

    digits = sklearn.datasets.load_digits()
    X, y = digits.data[:300] / 16.0, digits.target[:300]
    with threadpool_limits(2):
        a = train_mlp(X, y, max_iter=200)
    with threadpool_limits(1):
        b = train_mlp(X, y, max_iter=200)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.features, b.features)
    assert a.iterations == b.iterations
    for bad in (0, 1.5, "2"):
        with pytest.raises(ValueError, match="blas_threads"):
            train_mlp(X, y, max_iter=5, blas_threads=bad)
