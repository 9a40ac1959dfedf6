"""lpm.compare: a network's last layer against the LPM's prediction. On the LPM's own
optimum every distance is 0; the comparison is invariant to what the LPM cannot see
(rotations, W -> a W with H -> H / a, a feature offset once centred); bad input is named;
`lpm compare` on the command line."""

import json

import numpy as np
import pytest

import lpm
from lpm.cli import main


def own_optimum(K_A, K_B, R, E_W, E_H, p=None, seed=0):
    """W and per-sample features H[labels] of the LPM optimum, rotated into p dims."""
    sol = lpm.solve(K_A, K_B, R, E_W, E_H)
    K = K_A + K_B
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((p or K, p or K)))
    labels = np.repeat(np.arange(K), sol.model.counts.astype(int))
    Q = Q[: sol.p]  # sol.W is K x sol.p
    return sol, sol.W @ Q, (sol.H @ Q)[labels], labels


@pytest.mark.parametrize("R, collapsed", [(10, False), (100, True)])
def test_the_lpm_optimum_is_its_own_prediction(R, collapsed):
    sol, W, H, labels = own_optimum(5, 5, R, 1.0, 5.0, p=13)
    c = lpm.compare(W, H, labels)
    assert c.E_W == pytest.approx(1.0, rel=1e-13) and c.E_H == pytest.approx(5.0, rel=1e-13)
    assert c.classifier_gram_distance < 1e-8 and c.feature_gram_distance < 1e-8
    s = c.summary()
    assert s["classifier_cosine_error"] < 1e-8 and s["feature_cosine_error"] < 1e-8
    assert c.minority.tolist() == [5, 6, 7, 8, 9]
    assert c.minority_collapsed is collapsed
    assert c.minority_stats.mean_cosine == pytest.approx(sol.minority_cosine, abs=1e-8)
    assert c.predicted_minority_stats.mean_cosine == pytest.approx(sol.minority_cosine, abs=1e-12)
    if collapsed:  # the predicted collapse, with the network's (here: exact) cosines
        (classes, stats), *_ = c.collapsed
        assert classes.tolist() == [5, 6, 7, 8, 9]
        assert stats.min_cosine == pytest.approx(1.0, abs=1e-8)
    assert c.metrics.nc1 < 1e-20
    if collapsed:
        # the five minority classifiers are equal, and so are their features' means: the
        # argmax and the nearest mean between them are ties broken by rounding (machine
        # dependent: one of the five minority samples measured off here), the majority's
        # 500 samples are decided
        assert c.metrics.agreement >= 500 / 505
    else:
        assert c.metrics.agreement == 1.0
    assert f"Gram distance {c.classifier_gram_distance:.3e}" in str(c)


def test_three_groups_and_the_exact_collapse_report():
    counts = np.array([40] * 3 + [8] * 3 + [1] * 3)
    sol = lpm.solve_counts(counts, 1.0, 8.0)
    labels = np.repeat(np.arange(9), counts)
    c = lpm.compare(sol.W, sol.H[labels], labels)
    assert c.classifier_gram_distance < 1e-8 and c.feature_gram_distance < 1e-8
    assert c.collapse_unavailable is None
    assert [g.tolist() for g, _ in c.collapsed] == [g.tolist() for g in sol.collapsed_groups]


def test_what_the_lpm_cannot_see_does_not_change_the_comparison():
    _, W, H, labels = own_optimum(3, 2, 10, 1.0, 5.0, p=6)
    rng = np.random.default_rng(1)
    Wn = W + 0.05 * rng.standard_normal(W.shape)  # a network near the optimum
    Hn = H + 0.05 * rng.standard_normal(H.shape)
    base = lpm.compare(Wn, Hn, labels)
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    for other in (
        lpm.compare(Wn @ Q, Hn @ Q, labels),  # a rotation
        lpm.compare(4.0 * Wn, Hn / 4.0, labels),  # only E_W E_H matters
    ):
        assert other.classifier_gram_distance == pytest.approx(
            base.classifier_gram_distance, rel=1e-9
        )
        assert other.feature_gram_distance == pytest.approx(base.feature_gram_distance, rel=1e-9)
        assert other.E_W * other.E_H == pytest.approx(base.E_W * base.E_H, rel=1e-12)
    assert base.classifier_gram_distance > 1e-3  # and the noise is seen
    # centred features: a common offset (a last layer's bias absorbs it) is removed
    centred = lpm.compare(Wn, Hn, labels, center="global")
    offset = lpm.compare(Wn, Hn + rng.standard_normal(6), labels, center="global")
    assert offset.E_H == pytest.approx(centred.E_H, rel=1e-12)
    assert offset.feature_gram_distance == pytest.approx(centred.feature_gram_distance, rel=1e-9)
    # NC4 is the network's own decision: the features as given, with its bias
    b = rng.standard_normal(5)
    with_bias = lpm.compare(Wn, Hn, labels, center="global", bias=b)
    assert with_bias.metrics.agreement == lpm.clf_ncc_agreement(Wn, Hn, labels, bias=b)
    assert with_bias.metrics.nc1 == lpm.nc1(Hn, labels)


def test_class_means_with_counts_and_given_budgets():
    sol, W, H, labels = own_optimum(5, 5, 100, 1.0, 5.0)
    means = lpm.class_means(H, labels).means
    c = lpm.compare(W, means, np.arange(10), counts=sol.model.counts)
    assert c.classifier_gram_distance < 1e-8 and c.metrics is None  # one row per class
    given = lpm.compare(W, H, labels, E_W=2.0, E_H=2.5)  # the same product
    assert (given.E_W, given.E_H) == (2.0, 2.5)
    assert given.classifier_gram_distance < 1e-8


def test_bad_inputs_are_named():
    _, W, H, labels = own_optimum(3, 2, 10, 1.0, 5.0, p=8)
    with pytest.raises(ValueError, match=r"looks transposed, pass W\.T \(shape \(5, 8\)\)"):
        lpm.compare(W.T, H, labels)
    with pytest.raises(ValueError, match=r"labels have no sample of classes \[3\]"):
        keep = labels != 3
        lpm.compare(W, H[keep], labels[keep])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 5\)"):
        lpm.compare(W, H, labels + 1)
    with pytest.raises(ValueError, match=r"center must be one of None, 'global', got 'mean'"):
        lpm.compare(W, H, labels, center="mean")
    with pytest.raises(ValueError, match=r"counts must have one entry per class \(5\)"):
        lpm.compare(W, H, labels, counts=[1, 2])
    with pytest.raises(ValueError, match=r"minority must name each class once"):
        lpm.compare(W, H, labels, minority=[3, 3])
    c = lpm.compare(W, H, labels, minority=np.arange(5) >= 3)  # a mask is a mask
    assert c.minority.tolist() == [3, 4]


def test_the_comparison_figure():
    _, W, H, labels = own_optimum(3, 2, 10, 1.0, 5.0)
    fig = lpm.compare(W, H, labels).plot()
    assert len(fig.axes) == 5  # four heatmaps and a colorbar


def test_lpm_compare_on_the_command_line(tmp_path, capsys):
    _, W, H, labels = own_optimum(3, 2, 100, 1.0, 5.0, p=7)
    for name, a in (("W", W), ("H", H), ("y", labels)):
        np.save(tmp_path / f"{name}.npy", a)
    args = [str(tmp_path / f) for f in ("W.npy", "H.npy", "y.npy")]
    code = main(["compare", *args, "--json", "--out", str(tmp_path / "cmp")])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["classifier_gram_distance"] < 1e-8 and data["feature_gram_distance"] < 1e-8
    assert data["predicted_minority_collapsed"] is True
    for f in ("comparison.json", "comparison.png", "comparison.pdf"):
        assert (tmp_path / "cmp" / f).stat().st_size > 0
    assert main(["compare", *args]) == 0
    out, _ = capsys.readouterr()
    assert "lpm says exactly collapsed: True" in out and "nc1" in out
    np.save(tmp_path / "WT.npy", W.T)
    code = main(["compare", str(tmp_path / "WT.npy"), *args[1:]])
    _, err = capsys.readouterr()
    assert code == 2 and "looks transposed, pass W.T" in err and len(err.splitlines()) == 1


def test_lpm_reproduce_network(tmp_path, capsys):
    pytest.importorskip("sklearn")
    code = main(["reproduce", "network", "--R", "50", "--seeds", "1", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "predicted_minority_cosine" in out
    text = (tmp_path / "network.csv").read_text().splitlines()
    assert len(text) == 2 and text[0].startswith("R,seed,K,n_A,n_B,train_error")
    assert all((tmp_path / f"network.{ext}").stat().st_size > 0 for ext in ("png", "pdf", "json"))
    code = main(["reproduce", "fig3", "--seeds", "0", "--out", str(tmp_path / "f")])
    _, err = capsys.readouterr()
    assert code == 2 and "--R and --seeds are for network" in err
