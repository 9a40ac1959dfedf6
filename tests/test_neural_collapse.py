"""The neural-collapse measurements NC1-NC4: exact cases (a simplex ETF, rotated and
scaled), known expectations of random features, agreement with the definitions written
out independently here, any dtype, absent classes, array-likes, and the ends of the
double range."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lpm
from lpm.geometry import simplex_etf_gram


def etf(K, p, rng, scale=1.0):
    """K rows forming a simplex ETF of norm ``scale`` in R^p, randomly rotated."""
    assert p >= K - 1
    vals, vecs = np.linalg.eigh(simplex_etf_gram(K))
    base = vecs[:, 1:] * np.sqrt(vals[1:])  # K x (K-1), Gram = the ETF Gram
    Q, _ = np.linalg.qr(rng.standard_normal((p, p)))
    return scale * base @ Q[: K - 1]


# -- independent implementations: the definitions, written with loops --------------------
def ref_means(X, y, classes):
    return np.array([X[y == k].mean(axis=0) for k in classes])


def ref_nc1(X, y):
    classes = np.unique(y)
    M = ref_means(X, y, classes)
    D = X - M[np.searchsorted(classes, y)]
    B = M - X.mean(axis=0)
    sw, sb = D.T @ D / len(X), B.T @ B / len(classes)
    return np.trace(sw @ np.linalg.pinv(sb, rcond=1e-12, hermitian=True)) / len(classes)


def ref_cdnv(X, y):
    classes = np.unique(y)
    M = ref_means(X, y, classes)
    V = [np.mean(np.sum((X[y == k] - M[i]) ** 2, axis=1)) for i, k in enumerate(classes)]
    vals = [
        (V[i] + V[j]) / (2 * np.sum((M[i] - M[j]) ** 2))
        for i, j in itertools.combinations(range(len(classes)), 2)
    ]
    return np.mean(vals)


def ref_cosines(X):
    return [
        X[i] @ X[j] / (np.linalg.norm(X[i]) * np.linalg.norm(X[j]))
        for i, j in itertools.combinations(range(len(X)), 2)
    ]


def ref_etf_error(A, B):
    K = len(A)
    C = B @ A.T
    return np.linalg.norm(C / np.linalg.norm(C) - (np.eye(K) - 1 / K) / np.sqrt(K - 1))


def ref_agreement(W, X, y):
    classes = np.unique(y)
    M = ref_means(X, y, classes)
    hits = 0
    for h in X:
        ncc = classes[np.argmin([np.linalg.norm(h - m) for m in M])]
        hits += int(np.argmax(W @ h) == ncc)
    return hits / len(X)


# -- exact cases --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "K, p, scale, shift", [(2, 1, 1.0, 0.0), (5, 4, 1.0, 0.0), (6, 9, 37.5, 2.0)]
)
def test_a_simplex_etf_is_collapse_in_every_measurement(K, p, scale, shift):
    rng = np.random.default_rng(K)
    W = etf(K, p, rng)
    M = scale * W  # self-dual: the class means are a multiple of the classifiers
    y = np.repeat(np.arange(K), 2)  # x + x is exact: the class means are exactly M
    X = M[y] + shift
    assert lpm.nc1(X, y) == 0.0
    assert lpm.variability_cdnv(X, y) == 0.0
    for A in (W, M):
        assert lpm.etf_distance(A) < 1e-15
        assert lpm.simplex_etf_error(A) < 1e-15
        assert lpm.equinorm(A) < 1e-15
        assert lpm.equiangularity(A) < 1e-15
        assert lpm.max_equiangularity(A) < 1e-15
    assert lpm.self_duality_error(W, M) < 1e-15
    assert lpm.self_duality_distance(W, M) < 1e-15
    assert lpm.clf_ncc_agreement(W, X, y) == 1.0
    report = lpm.neural_collapse_metrics(W, X, y)
    for name, _, _, ideal in lpm.geometry.METRICS:
        assert getattr(report, name) == pytest.approx(ideal, abs=1e-14), name
    assert report.absent.size == 0 and not report.undefined


def test_measurements_of_a_non_etf_are_their_closed_forms():
    # two orthonormal classifiers and one of norm 2 at 90 degrees: cosines 0, 0, 0
    W = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 2.0]])
    assert lpm.equiangularity(W) == 0.0  # equal angles, not the simplex ones
    assert lpm.max_equiangularity(W) == pytest.approx(0.5, rel=1e-15)  # |0 + 1/2|
    norms = np.array([1.0, 1.0, 2.0])
    assert lpm.equinorm(W) == pytest.approx(norms.std() / norms.mean(), rel=1e-15)
    # one nonzero norm: the largest variation, sqrt(K - 1)
    assert lpm.equinorm(np.diag([0.0, 0, 0, 3.0])) == pytest.approx(math.sqrt(3), rel=1e-15)
    # two classes on a line, variance 1 each, means 4 apart: CDNV (1 + 1) / (2 * 16)
    X = np.array([[-3.0], [-1.0], [1.0], [3.0]])
    assert lpm.variability_cdnv(X, np.array([0, 0, 1, 1])) == pytest.approx(1 / 16, rel=1e-15)


def test_random_features_have_their_expected_nc1_and_cdnv():
    # Gaussian clusters of variance sigma^2 per coordinate around an ETF of norm r:
    # Sigma_W -> sigma^2 I, Sigma_B = r^2/(K-1) P, so NC1 -> sigma^2 (K-1)^2 / (K r^2);
    # V_k -> p sigma^2, ||mu_k - mu_l||^2 = 2 r^2 K/(K-1): CDNV -> p sigma^2 (K-1)/(2 r^2 K)
    rng = np.random.default_rng(0)
    K, p, n, sigma, r = 4, 3, 20000, 0.5, 2.0
    M = etf(K, p, rng, r)
    y = np.repeat(np.arange(K), n)
    X = M[y] + sigma * rng.standard_normal((y.size, p))
    assert lpm.nc1(X, y) == pytest.approx(sigma**2 * (K - 1) ** 2 / (K * r**2), rel=0.02)
    expected = p * sigma**2 * (K - 1) / (2 * r**2 * K)
    assert lpm.variability_cdnv(X, y) == pytest.approx(expected, rel=0.02)
    # the sample means as classifiers with the bias -||mu_k||^2 / 2: argmax
    # <mu_k, h> - ||mu_k||^2 / 2 is the nearest mean, always; the ETF itself decides like
    # the nearest sample mean but near the boundaries (where the two means differ by
    # their noise, about sigma / sqrt(n): measured 2 samples of 80000 on one machine, 0
    # on another)
    means = np.array([X[y == k].mean(axis=0) for k in range(K)])
    assert lpm.clf_ncc_agreement(means, X, y, bias=-0.5 * (means**2).sum(axis=1)) == 1.0
    assert lpm.clf_ncc_agreement(M, X, y) > 0.999
    # random Gaussian classifiers: cosines of mean 0 and standard deviation 1/sqrt(p)
    W = rng.standard_normal((30, 4000))
    assert lpm.equiangularity(W) == pytest.approx(1 / math.sqrt(4000), rel=0.1)
    assert lpm.equinorm(W) == pytest.approx(1 / math.sqrt(2 * 4000), rel=0.3)


@settings(max_examples=25)
@given(
    K=st.integers(2, 6),
    p=st.integers(1, 7),
    extra=st.integers(0, 12),
    seed=st.integers(0, 2**31),
    shift=st.floats(-5, 5),
)
def test_every_measurement_matches_its_definition(K, p, extra, seed, shift):
    rng = np.random.default_rng(seed)
    y = np.r_[np.arange(K), np.arange(K), rng.integers(0, K, extra)]
    X = rng.standard_normal((y.size, p)) + 2 * rng.standard_normal((K, p))[y] + shift
    W = rng.standard_normal((K, p))
    assert lpm.nc1(X, y) == pytest.approx(ref_nc1(X, y), rel=1e-8, abs=1e-12)
    assert lpm.variability_cdnv(X, y) == pytest.approx(ref_cdnv(X, y), rel=1e-10)
    assert lpm.clf_ncc_agreement(W, X, y) == ref_agreement(W, X, y)
    n = np.linalg.norm(W, axis=1)
    assert lpm.equinorm(W) == pytest.approx(n.std() / n.mean(), rel=1e-10)
    c = np.array(ref_cosines(W))
    assert lpm.equiangularity(W) == pytest.approx(c.std(), rel=1e-9, abs=1e-15)
    assert lpm.max_equiangularity(W) == pytest.approx(np.abs(c + 1 / (K - 1)).mean(), rel=1e-10)
    assert lpm.simplex_etf_error(W) == pytest.approx(ref_etf_error(W, W), rel=1e-10)
    M = ref_means(X, y, range(K)) - X.mean(axis=0)
    assert lpm.self_duality_error(W, M) == pytest.approx(ref_etf_error(M, W), rel=1e-10)
    report = lpm.neural_collapse_metrics(W, X, y)
    assert report.self_duality_error == lpm.self_duality_error(W, M)
    assert report.etf_error_means == pytest.approx(ref_etf_error(M, M), rel=1e-10)
    assert report.nc1 == lpm.nc1(X, y) and report.agreement == lpm.clf_ncc_agreement(W, X, y)


def test_a_bias_changes_the_decisions_of_nc4():
    X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    y = np.array([0, 0, 1, 1])
    W = np.eye(2)
    assert lpm.clf_ncc_agreement(W, X, y) == 1.0
    assert lpm.clf_ncc_agreement(W, X, y, bias=[5.0, 0.0]) == 0.5  # all say class 0
    # unweighted: the mean of the per-class rates (1 and 0)
    X3, y3 = np.vstack([X, X[:2]]), np.r_[y, 0, 0]
    assert lpm.clf_ncc_agreement(W, X3, y3, bias=[5.0, 0.0]) == 4 / 6
    assert lpm.clf_ncc_agreement(W, X3, y3, bias=[5.0, 0.0], weighted=False) == 0.5


# -- inputs: dtypes, absent classes, array-likes ------------------------------------------
class TensorLike:
    """What a CPU torch tensor offers numpy: ``__array__`` and nothing else."""

    def __init__(self, array):
        self._array = np.asarray(array)

    def __array__(self, dtype=None, copy=None):
        return self._array if dtype is None else self._array.astype(dtype)


@pytest.mark.parametrize("label_dtype", [np.int8, np.uint8, np.int16, np.int64, np.uint64])
def test_any_float_dtype_any_integer_labels_and_array_likes_give_the_same_numbers(label_dtype):
    rng = np.random.default_rng(1)
    y = np.r_[np.arange(4), rng.integers(0, 4, 40)]
    X = (rng.standard_normal((y.size, 5)) + 3 * rng.standard_normal((4, 5))[y]).astype(np.float32)
    W = rng.standard_normal((4, 5)).astype(np.float32)
    expected = lpm.neural_collapse_metrics(W.astype(float), X.astype(float), y).summary()
    for feats, cls in ((X, W), (TensorLike(X), TensorLike(W)), (X.astype(np.float16), W)):
        got = lpm.neural_collapse_metrics(cls, feats, y.astype(label_dtype)).summary()
        if feats is not X and not isinstance(feats, TensorLike):  # float16: other numbers
            assert got["nc1"] == pytest.approx(expected["nc1"], rel=1e-2)
            continue
        assert got == expected
    assert lpm.nc1(TensorLike(X), TensorLike(y)) == lpm.nc1(X.astype(float), y)


def test_an_absent_class_is_left_out_and_reported():
    rng = np.random.default_rng(2)
    y = np.r_[np.arange(5), rng.integers(0, 5, 50)]
    y = y[y != 2]  # class 2 is absent from this batch
    X = rng.standard_normal((y.size, 6)) + 3 * rng.standard_normal((5, 6))[y]
    W = rng.standard_normal((5, 6))
    # the present classes, relabelled 0..3, give the same NC1 and CDNV
    relabel = np.searchsorted([0, 1, 3, 4], y)
    assert lpm.nc1(X, y, num_classes=5) == pytest.approx(lpm.nc1(X, relabel), rel=1e-12)
    assert lpm.variability_cdnv(X, y, num_classes=5) == pytest.approx(
        ref_cdnv(X, relabel), rel=1e-12
    )
    with pytest.raises(ValueError, match=r"classes \[2\] are empty \(pass num_classes=5"):
        lpm.nc1(X, y)
    stats = lpm.class_means(X, y, num_classes=5)
    assert stats.absent.tolist() == [2] and np.isnan(stats.means[2]).all()
    report = lpm.neural_collapse_metrics(W, X, y)
    assert report.absent.tolist() == [2] and report.counts[2] == 0
    assert report.nc1 == lpm.nc1(X, y, num_classes=5)
    M = stats.means[[0, 1, 3, 4]] - X.mean(axis=0)
    assert report.self_duality_error == lpm.self_duality_error(W[[0, 1, 3, 4]], M)
    assert report.equinorm_classifiers == lpm.equinorm(W)  # every classifier counts
    assert "absent classes [2]" in str(report)


def test_bad_inputs_name_the_argument():
    X, y = np.ones((4, 2)), np.array([0, 0, 1, 1])
    cases = [
        (lambda: lpm.nc1(X, y, rtol="x"), r"rtol must be a number"),
        (lambda: lpm.nc1(X, np.array([0, 0, 1, 1], bool)), r"labels must be a 1-D array"),
        (lambda: lpm.nc1(X, np.array([0, 0, 1, 2]), num_classes=2), r"labels must lie in \[0, 2\)"),
        (lambda: lpm.nc1(X.astype(complex), y), r"features must be .* got dtype complex128"),
        (lambda: lpm.nc1(np.array([["a", "b"]] * 4), y), r"features must be .* got dtype <U1"),
        (lambda: lpm.nc1(np.full((4, 2), np.nan), y), r"features must be finite"),
        (lambda: lpm.variability_cdnv(X, np.zeros(4, int)), r"at least 2 classes present"),
        (
            lambda: lpm.equiangularity(np.array([[1.0, 0], [0, 0]])),
            r"rows of norm 0 \(rows \[1\]\)",
        ),
        (lambda: lpm.equinorm(np.zeros((3, 2))), r"X has only rows of norm 0"),
        (lambda: lpm.clf_ncc_agreement(np.ones((2, 3)), X, y), r"same number of columns"),
        (lambda: lpm.clf_ncc_agreement(np.eye(2), X, y, bias=[1.0]), r"bias must be 2 finite"),
        (lambda: lpm.self_duality_error(np.eye(2), np.eye(3)), r"W and H must have the same"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_a_degenerate_measurement_is_nan_with_its_reason():
    # one class mean at the global mean: its angles (NC2 of the means) are undefined
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, -1.0], [0.0, 0.0]])
    y = np.array([0, 1, 2, 0, 1, 2])
    report = lpm.neural_collapse_metrics(np.eye(3, 2), X, y)
    assert math.isnan(report.equiangularity_means)
    assert "rows of norm 0" in report.undefined["equiangularity_means"]
    assert "rows of norm 0" in str(report)


# -- the ends of the double range (issue 15): scale-invariant, so scaled internally -------
@pytest.mark.parametrize("scale", [1e160, 1e-170, 1e300, 1e-300])
def test_a_scaled_etf_is_an_etf(scale):
    W = etf(6, 6, np.random.default_rng(3), scale)
    assert lpm.is_simplex_etf(W)
    assert lpm.etf_distance(W) < 1e-14
    C = lpm.cosine_matrix(W)
    assert np.all(np.isfinite(C))
    np.testing.assert_allclose(C[~np.eye(6, dtype=bool)], -1 / 5, rtol=1e-13)
    np.testing.assert_allclose(lpm.norms(W), scale, rtol=1e-13)
    assert lpm.simplex_etf_error(W) < 1e-14 and lpm.equinorm(W) < 1e-14
    assert lpm.self_duality_distance(W, W / scale) < 1e-14
    stats = lpm.minority_collapse_stats(W, [3, 4, 5])
    assert stats.mean_cosine == pytest.approx(-1 / 5, rel=1e-13)
    assert stats.max_distance == pytest.approx(scale * math.sqrt(2 * 6 / 5), rel=1e-13)


@pytest.mark.parametrize("scale", [1e-200, 1e200, 2.0**-1000])
def test_nc1_of_tiny_and_huge_features_is_that_of_unit_features(scale):
    rng = np.random.default_rng(4)
    y = np.r_[np.arange(3), rng.integers(0, 3, 30)]
    X = rng.standard_normal((y.size, 4)) + 2 * rng.standard_normal((3, 4))[y]
    for f in (lpm.nc1, lpm.variability_cdnv):
        assert f(X * scale, y) == pytest.approx(f(X, y), rel=1e-12)
    W = rng.standard_normal((3, 4))
    assert lpm.clf_ncc_agreement(W, X * scale, y) == lpm.clf_ncc_agreement(W, X, y)


def test_gram_distance_is_zero_for_proportional_grams_and_checks_its_input():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((4, 6))
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    G = X @ X.T
    assert lpm.gram_distance(7.0 * (X @ Q) @ (X @ Q).T, G) < 1e-15
    assert lpm.etf_distance(X) == pytest.approx(
        lpm.gram_distance(G, simplex_etf_gram(4)), rel=1e-14
    )
    Y = X + 0.1 * rng.standard_normal(X.shape)
    direct = np.linalg.norm(Y @ Y.T / np.trace(Y @ Y.T) - G / np.trace(G)) / np.linalg.norm(
        G / np.trace(G)
    )
    assert lpm.gram_distance(Y @ Y.T, G) == pytest.approx(direct, rel=1e-14)
    assert lpm.gram_distance(np.zeros((4, 4)), G) == math.inf
    with pytest.raises(ValueError, match="gram must be finite"):
        lpm.gram_distance(np.full((4, 4), np.nan), G)
    with pytest.raises(ValueError, match="same size"):
        lpm.gram_distance(np.eye(3), G)
