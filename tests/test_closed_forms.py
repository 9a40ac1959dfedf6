"""The fast paths of one and two groups against independent routes, and the batched
sweep rows against single solves, bit for bit.

* ``lpm.model.few_groups``: the certificate's loss and gradient (against the general
  numpy route and the dense cross-entropy of ``conftest``), the 2 x 2 singular values
  (against LAPACK), the Gram matrices (against the dense Gram of the balanced factors).
* ``lpm.solvers.small_systems``: the closed-form Newton directions (against LAPACK).
* ``lpm.geometry.group_pair_arrays``: a stack gives each point its own numbers, and both
  agree with the pair statistics of the dense Gram matrix.
* ``lpm.studies.rows.solve_rows``: every row equals the row of the single solve.
"""

import numpy as np
import pytest
from conftest import assert_same_row, dense_cross_entropy
from hypothesis import given, settings
from hypothesis import strategies as st

import lpm
from lpm.geometry import group_pair_arrays, pair_stats_from_gram, pair_stats_from_groups
from lpm.model.few_groups import ce_derivatives, gram_geometry, singular_values_2x2
from lpm.model.groups import Groups
from lpm.model.logits import GroupedLogits, grouped_derivatives
from lpm.model.losses import CrossEntropy
from lpm.solvers.small_systems import eigh3, newton_direction
from lpm.studies.rows import solution_row, solve_rows
from lpm.studies.sweep import FIGURE3

finite = st.floats(-50.0, 50.0, allow_nan=False, allow_infinity=False)


def _layout(sizes, weights) -> Groups:
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return Groups(None, np.array(sizes), np.array(weights, float), first)


@settings(max_examples=60)
@given(
    K=st.lists(st.integers(1, 30), min_size=1, max_size=2),
    w=st.lists(st.floats(1e-6, 1.0), min_size=2, max_size=2),
    M=st.lists(finite, min_size=4, max_size=4),
    s=st.lists(st.floats(0.0, 50.0), min_size=2, max_size=2),
)
def test_two_group_loss_and_gradient_are_those_of_the_general_route(K, w, M, s):
    G = len(K)
    M = np.array(M[: G * G]).reshape(G, G)
    s = np.array([v if k > 1 else 0.0 for v, k in zip(s, K)])
    value, G_M, gamma = ce_derivatives(K, w[:G], M.tolist(), s.tolist())
    ref = grouped_derivatives(np.array(K), np.array(w[:G])[None], M[None], s[None], CrossEntropy())
    scale = max(1.0, abs(float(ref[0][0])))
    assert value == pytest.approx(float(ref[0][0]), rel=1e-13, abs=1e-15 * scale)
    np.testing.assert_allclose(G_M, ref[1][0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(gamma, ref[2][0], rtol=1e-12, atol=1e-15)


def test_two_group_certificate_loss_is_the_dense_cross_entropy():
    # the grouped logits of a solve, written out as a K x K matrix: an independent route
    sol = lpm.solve(3, 4, 20.0, 1.0, 2.0)
    Z = sol.logits_repr.dense()
    value, grad = dense_cross_entropy(sol.model.pi, Z)
    v, g = sol.logits_repr.value_and_gradient(sol.model)
    assert v == pytest.approx(value, rel=1e-14)
    np.testing.assert_allclose(g.dense(), grad, atol=1e-15)


@settings(max_examples=200)
@given(M=st.lists(finite, min_size=4, max_size=4), rank_one=st.booleans())
def test_singular_values_2x2_are_lapacks(M, rank_one):
    A = np.array(M).reshape(2, 2)
    if rank_one:  # the two-group block M = mu q^T, rounded
        A = np.outer(A[0], A[1])
    sv = singular_values_2x2(*A.ravel().tolist())
    ref = np.linalg.svd(A, compute_uv=False)
    top = max(ref[0], 1e-300)
    np.testing.assert_allclose(sv, ref, rtol=0, atol=8 * np.finfo(float).eps * top)
    assert sv[0] >= sv[1] >= 0


@settings(max_examples=60)
@given(
    K=st.lists(st.integers(1, 6), min_size=1, max_size=2),
    M=st.lists(finite, min_size=4, max_size=4),
    s=st.lists(st.floats(0.0, 50.0), min_size=2, max_size=2),
    side=st.sampled_from(["W", "H"]),
)
def test_two_group_gram_is_the_dense_gram_of_the_factors(K, M, s, side):
    G = len(K)
    layout = _layout(K, [1.0 / sum(K)] * G)
    s = [v if k > 1 else 0.0 for v, k in zip(s, K)]
    z = GroupedLogits(layout, np.array(M[: G * G]).reshape(G, G), np.array(s[:G]))
    norm2, inner, cos = gram_geometry(
        z.M.tolist(), z.s.tolist(), list(K), z.block_singular_values, side
    )
    # the dense route: the Gram of the balanced factors, (Z^T Z)^(1/2) or (Z Z^T)^(1/2)
    U, S, Vt = np.linalg.svd(z.dense())
    gram = (Vt.T * S) @ Vt if side == "W" else (U * S) @ U.T
    scale = max(float(S.max(initial=0.0)), 1.0)
    lab = layout.labels
    for g in range(G):
        members = np.flatnonzero(lab == g)
        assert norm2[g] == pytest.approx(gram[members[0], members[0]], abs=1e-12 * scale)
        for h in range(G):
            others = np.flatnonzero(lab == h)
            pair = [(i, j) for i in members for j in others if i != j]
            if pair:
                i, j = pair[0]
                assert inner[g][h] == pytest.approx(gram[i, j], abs=1e-12 * scale)


def _symmetric(values, n):
    H = np.zeros((n, n))
    H[np.tril_indices(n)] = values
    return H + np.tril(H, -1).T


@settings(max_examples=200)
@given(
    n=st.integers(1, 3),
    values=st.lists(st.floats(-10.0, 10.0), min_size=6, max_size=6),
    g=st.lists(st.floats(-10.0, 10.0), min_size=3, max_size=3),
)
def test_newton_directions_are_the_saddle_free_steps_of_lapack(n, values, g):
    lower = values[: n * (n + 1) // 2]
    H = _symmetric(lower, n)
    x, decrement = newton_direction(lower, g[:n])
    ev, U = np.linalg.eigh(H)
    floor = max(1e-14 * np.abs(ev).max(), 1e-300)
    coef = (U.T @ np.array(g[:n])) / np.maximum(np.abs(ev), floor)
    if np.abs(ev).min() < 1e-6 * max(np.abs(ev).max(), 1e-300):
        return  # nearly singular: the floored step is ill-conditioned either way
    np.testing.assert_allclose(x, U @ coef, rtol=1e-8, atol=1e-10 * np.abs(U @ coef).max())
    assert decrement == pytest.approx(float(coef @ (U.T @ np.array(g[:n]))), rel=1e-8, abs=1e-12)


@settings(max_examples=200)
@given(values=st.lists(st.floats(-10.0, 10.0), min_size=6, max_size=6))
def test_closed_form_eigenpairs_of_order_3(values):
    out = eigh3(values)
    H = _symmetric(values, 3)
    if out is None:  # too close for the closed form: then two eigenvalues nearly meet
        ev = np.linalg.eigvalsh(H)
        spread = max(np.ptp(ev), 1e-300)
        assert min(ev[1] - ev[0], ev[2] - ev[1]) <= 1e-4 * spread + 1e-12
        return
    ev, vectors = out
    U = np.array(vectors).T
    scale = max(np.abs(H).max(), 1e-300)
    np.testing.assert_allclose(H @ U, U * np.array(ev), atol=1e-10 * scale)
    np.testing.assert_allclose(U.T @ U, np.eye(3), atol=1e-10)


@settings(max_examples=40)
@given(
    K=st.lists(st.integers(1, 5), min_size=1, max_size=2),
    seed=st.integers(0, 2**16),
    member=st.lists(st.integers(0, 5), min_size=2, max_size=2),
)
def test_pair_statistics_of_a_stack_are_each_points_own(K, seed, member):
    rng = np.random.default_rng(seed)
    G = len(K)
    K[0] = max(K[0], 2)
    counts = np.minimum(np.array(member[:G]), K)
    if counts.sum() < 2:
        counts[0] = 2
    layout = _layout(K, [1.0] * G)
    points = [
        GroupedLogits(layout, rng.normal(size=(G, G)), rng.uniform(0, 2, G)) for _ in range(5)
    ]
    norm2, inner = (np.array(x) for x in zip(*(z.group_gram() for z in points)))
    cos = np.array([z.group_cosines() for z in points])
    stacked = group_pair_arrays(norm2, inner, cos, counts)
    for i, z in enumerate(points):
        alone = pair_stats_from_groups(*z.group_gram(), z.group_cosines(), counts)
        assert alone.mean_cosine == stacked[0][i] and alone.max_distance == stacked[2][i]
        # the dense route: the pairs of the members' K x K Gram matrix
        members = np.concatenate([layout.members(g)[: counts[g]] for g in range(G) if counts[g]])
        dense = pair_stats_from_gram(z.classifier_gram(), members)
        assert alone.mean_cosine == pytest.approx(dense.mean_cosine, abs=1e-12)
        assert alone.max_distance == pytest.approx(dense.max_distance, abs=1e-12)


def test_sweep_rows_are_the_single_solves_rows_on_the_figure3_grid():
    f = FIGURE3
    table = lpm.sweep(f["K_A"], f["K_B"], R=f["R"], E_W=f["E_W"], E_H=f["E_H"])
    for row in table:
        sol = lpm.solve(f["K_A"], f["K_B"], row["R"], f["E_W"], f["E_H"])
        assert_same_row({k: row[k] for k in solution_row(sol)}, solution_row(sol))


@settings(max_examples=40)
@given(
    K_A=st.integers(1, 40),
    K_B=st.integers(1, 40),
    log10_R=st.floats(0.0, 8.0),
    log10_E=st.floats(-3.0, 3.0),
    oversample=st.sampled_from([1.0, 3.0]),
    loss=st.sampled_from(["ce", "label_smoothing"]),
)
def test_batched_rows_are_the_rows_of_single_solves(K_A, K_B, log10_R, log10_E, oversample, loss):
    params = {"alpha": 0.1} if loss == "label_smoothing" else None
    models = [
        lpm.Model.two_group(
            K_A,
            K_B,
            10.0**r,
            1.0,
            10.0**log10_E,
            oversample=oversample,
            loss=loss,
            loss_params=params,
        )
        for r in (0.0, log10_R, 2 * log10_R)
    ]
    for model, row in zip(models, solve_rows(models)):
        assert_same_row(row, solution_row(lpm.solve_model(model)))


def test_batched_rows_of_counts_and_other_routes_are_the_single_solves_rows():
    models = [
        lpm.Model([5, 5, 5, 1, 1]),  # two distinct counts: batched
        lpm.Model([4, 4, 4]),  # one group
        lpm.Model([3, 3, 2, 1]),  # three groups: through lpm.solve_models
        lpm.Model([5, 1], constraint="per_class"),  # the SDP route
    ]
    for model, row in zip(models, solve_rows(models)):
        assert_same_row(row, solution_row(lpm.solve_model(model)))
