"""The exact structure for any counts (lpm.analysis.structure): the same answers as the
exact two-group test, confirmed by an independent interior-point solve on small mixed
counts, decided on real long-tailed counts, with memory O(G^2)."""

import math
import tracemalloc

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lpm
from lpm.analysis.structure import structure_report

# Clarabel warns at these tolerances ("may be inaccurate"); what it returns is checked
pytestmark = pytest.mark.filterwarnings("ignore:Solution may be inaccurate")


# -- against the exact two-group test (reduced Newton, exact to 1e-15) ---------------------
@pytest.mark.parametrize("K_A, K_B, E_H", [(5, 5, 5.0), (3, 7, 1.0), (7, 3, 2.0)])
def test_two_groups_give_the_exact_tests_answer_on_both_sides_of_R0(K_A, K_B, E_H):
    R0 = lpm.collapse_threshold(K_A, K_B, 1.0, E_H)
    for R in (1.0, 0.5 * R0, R0 * (1 - 1e-6), R0 * (1 + 1e-6), 3.0 * R0):
        model = lpm.Model.two_group(K_A, K_B, R, 1.0, E_H)
        exact = lpm.collapse_report(model)  # the reduced route (two groups)
        general = structure_report(model)
        assert not general.undecided and not exact.undecided
        np.testing.assert_array_equal(general.collapsed, exact.collapsed)
        np.testing.assert_array_equal(general.vanished, exact.vanished)
        assert general.rank == exact.rank
        assert general.minority_collapsed is exact.minority_collapsed is (R >= R0)


def test_the_vanishing_phase_of_the_two_group_model():
    # K_A = 7, K_B = 3, E_W E_H = 5: from R = 6.31 on the whole group block is 0, so the
    # minority's classifiers and features are 0 (lpm-math.md, section 10)
    for R, gone in ((5.0, False), (10.0, True), (100.0, True)):
        model = lpm.Model.two_group(7, 3, R, 1.0, 5.0)
        for report in (lpm.collapse_report(model), structure_report(model)):
            assert bool(report.vanished[1]) is gone and report.collapsed[1]
            assert report.rank == (0 if gone else 1)
            assert report.block_margin > 100 * report.noise
            assert report.minority_collapsed is True
            np.testing.assert_array_equal(report.vanished_classes(), [7, 8, 9] if gone else [])


# -- against an independent interior-point solve of the nuclear-norm program -------------
def clarabel_logits(model):
    Z = cp.Variable((model.K, model.K))
    problem = cp.Problem(cp.Minimize(model.loss.cvx(Z, model.pi)), [cp.normNuc(Z) <= model.tau])
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-13, tol_gap_rel=1e-13, tol_feas=1e-13)
    assert problem.status in ("optimal", "optimal_inaccurate")
    return Z.value, problem.value


def confirm_with_clarabel(model):
    """Every collapse, vanishing and the rank the report gives, on Clarabel's optimum:
    tied columns within 1e-6 relative, untied ones 1e-3 apart, vanished rows and columns
    at 1e-6, and singular values beyond the reported rank at 1e-6."""
    report = structure_report(model)
    assert not report.undecided, report.undecided
    Z, value = clarabel_logits(model)
    assert report.logits.value_and_gradient(model)[0] == pytest.approx(value, abs=1e-8)
    scale = np.linalg.norm(Z)
    groups = model.groups
    for g in range(groups.G):
        members = groups.members(g)
        if members.size < 2:
            continue
        apart = max(np.linalg.norm(Z[:, i] - Z[:, j]) for i in members for j in members)
        if report.collapsed[g]:
            assert apart <= 1e-6 * scale, (g, apart / scale)
        else:
            assert apart >= 1e-3 * scale, (g, apart / scale)
    dead = report.vanished_classes()
    assert np.abs(Z[:, dead]).max(initial=0.0) <= 1e-6 * scale
    assert np.abs(Z[dead, :]).max(initial=0.0) <= 1e-6 * scale
    # rank of Z: the group block's plus each uncollapsed group's within-group directions
    rank = report.rank + int(((groups.sizes - 1) * ~report.collapsed).sum())
    sv = np.linalg.svd(Z, compute_uv=False) / scale
    assert np.all(sv[rank:] <= 1e-6), sv[rank:]
    assert rank == 0 or sv[rank - 1] >= 1e-4
    return report


@pytest.mark.parametrize(
    "counts, E_H, collapsed, rank",
    [
        # the tail of three counts is aligned (rank 1: parallel classifiers of different
        # norms), not tied: the tied program's optimum is 4.4e-9 worse
        ([100, 100, 100, 2, 1.5, 1], 1.0, [False] * 4, 1),
        ([1000, 300, 100, 30, 10, 3, 1], 1.0, [False] * 7, 2),
        ([100, 100, 100, 2, 2, 1, 1], 1.0, [False, True, True], 1),
        ([10] * 7 + [1] * 3, 5.0, [False, True], 0),  # the minority vanishes
        ([50, 50, 20, 20, 3, 3, 1, 1], 5.0, [False, False, False, True], 2),
        ([8, 8, 8, 4, 4, 2, 1, 1], 0.3, [False, True, False, True], 1),
    ],
)
def test_small_mixed_counts_are_confirmed_by_an_interior_point_solve(counts, E_H, collapsed, rank):
    report = confirm_with_clarabel(lpm.Model(counts, 1.0, E_H))
    assert list(report.collapsed) == collapsed
    assert report.rank == rank


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counts=st.lists(st.sampled_from([1.0, 2.0, 3.0, 8.0, 30.0, 200.0]), min_size=3, max_size=8),
    log_E=st.floats(-1.0, 1.0),
)
def test_random_small_counts_are_confirmed_by_an_interior_point_solve(counts, log_E):
    if len(set(counts)) < 2:
        counts = counts + [counts[0] * 4.0]
    confirm_with_clarabel(lpm.Model(counts, 1.0, 10.0**log_E))


def test_ties_across_counts_are_not_optimal():
    # why no two classes of different counts share a nonzero classifier: forcing the three
    # tail classifiers of [100, 100, 100, 2, 1.5, 1] to be equal costs 4.4e-9 of objective
    # (KKT would need pi_j h_j = pi_k h_k; docs/mathematics.md), against a gap of 1e-14
    model = lpm.Model([100, 100, 100, 2, 1.5, 1], 1.0, 1.0)
    best = lpm.solve_model(model, method="lowrank", gap_tol=1e-13)
    Z = cp.Variable((6, 6))
    tied = [Z[:, 4] == Z[:, 3], Z[:, 5] == Z[:, 3], cp.normNuc(Z) <= model.tau]
    problem = cp.Problem(cp.Minimize(model.loss.cvx(Z, model.pi)), tied)
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-13, tol_gap_rel=1e-13, tol_feas=1e-13)
    assert problem.value - best.objective == pytest.approx(4.35e-9, rel=0.05)
    assert best.gap < 1e-12


# -- real counts ---------------------------------------------------------------------------
def test_cifar100_lt_structure_is_decided():
    model = lpm.Model(lpm.counts.cifar_lt(100, 100), 1.0, 5.0)
    sol = lpm.solve_model(model)
    assert sol.method == "lowrank" and sol.collapse_unavailable() is None
    report = sol.collapse
    assert not report.undecided and not report.undecided_groups.any()
    # the ten groups of 2-4 classes of equal count (5 to 15 images) all collapse, with
    # margins far above the noise; nothing vanishes; the group block has rank 44
    multi = model.groups.sizes > 1
    assert report.collapsed[multi].all() and not report.vanished.any()
    assert report.rank == 44
    assert report.margin[multi].min() > 1e6 * report.noise
    assert sol.minority_collapsed is True  # the four classes of 5 images
    assert report.summary() == (
        "10 of 10 groups of equal count collapse (25 classes, counts 5-15), each to one "
        "classifier; no class vanishes; group block of rank 44"
    )


def test_imagenet_lt_collapse_map_is_decided_in_memory_of_order_g_squared():
    model = lpm.Model(lpm.counts.imagenet_lt(), 1.0, 5.0)
    tracemalloc.start()
    try:
        sol = lpm.solve_model(model)
        report = sol.collapse
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024**3  # K = 1000: nothing of K x K x G (the old route wanted 34 GiB)
    assert sol.success and not report.undecided and not report.undecided_groups.any()
    # the groups of equal count collapse exactly up to a count: <= 110 images, not above
    groups = model.groups
    multi = groups.sizes > 1
    counts = model.counts[groups.first]
    np.testing.assert_array_equal(report.collapsed[multi], counts[multi] <= 110)
    assert int(groups.sizes[report.collapsed & multi].sum()) == 647
    assert not report.vanished.any() and report.rank == 204


# -- the count profiles --------------------------------------------------------------------
def test_cifar_lt_gives_the_published_totals():
    totals = {(10, 10): 20431, (10, 50): 13996, (10, 100): 12406}
    totals |= {(100, 10): 19573, (100, 50): 12608, (100, 100): 10847}
    for (K, rho), total in totals.items():
        assert int(lpm.counts.cifar_lt(K, rho).sum()) == total
    np.testing.assert_array_equal(
        lpm.counts.cifar_lt(10, 100), [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    )
    with pytest.raises(ValueError, match="needs n_max"):
        lpm.counts.cifar_lt(20, 10)


def test_imagenet_lt_counts_as_documented():
    c = lpm.counts.imagenet_lt()
    assert c.shape == (1000,) and c.dtype == np.int64 and int(c.sum()) == 115846
    assert (c.max(), c.min(), int(np.median(c)), np.unique(c).size) == (1280, 5, 73, 310)
    assert ((c > 100).sum(), ((c >= 20) & (c <= 100)).sum(), (c < 20).sum()) == (385, 479, 136)


def test_long_tailed_fast_path_equals_the_exact_floors():
    from fractions import Fraction

    from lpm.model.counts import _floor_of_power

    for K, rho in ((10, 100.0), (100, 100.0), (1000, 100.0), (50, 16.0), (9, 4.0), (5, 16.0)):
        exact = [_floor_of_power(5000, rho, Fraction(rho), k, K - 1) for k in range(K)]
        np.testing.assert_array_equal(lpm.counts.long_tailed(K, rho), exact)
    big = lpm.counts.long_tailed(10**6, 10.0)  # once minutes; vectorized now
    assert big[0] == 5000 and big[-1] == 500 and np.all(np.diff(big) <= 0)


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("5\n3\n0\n", r"line 3: counts must be finite and > 0, got 0"),
        ("5\n-2\n", r"line 2: counts must be finite and > 0, got -2"),
        ("5\nten\n", r"line 2: 'ten' is not a number"),
        ("5\n\n3\n", r"line 2: empty line"),
        ("", r"no counts"),
    ],
)
def test_counts_files_name_the_bad_line(tmp_path, text, pattern):
    path = tmp_path / "counts.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=pattern):
        lpm.counts.from_file(path)


def test_counts_from_a_file_of_labels(tmp_path):
    (tmp_path / "c.txt").write_text("500\n500\n20\n")
    np.testing.assert_array_equal(lpm.counts.from_file(tmp_path / "c.txt"), [500, 500, 20])
    np.save(tmp_path / "labels.npy", np.array([0, 2, 2, 1, 2], dtype=np.int8))
    np.testing.assert_array_equal(lpm.counts.from_file(tmp_path / "labels.npy"), [1, 1, 3])
    np.save(tmp_path / "gap.npy", np.array([0, 2, 2]))
    with pytest.raises(ValueError, match=r"classes \[1\] have no sample"):
        lpm.counts.from_file(tmp_path / "gap.npy")


# -- the low-rank engine -------------------------------------------------------------------
def test_a_warm_start_revives_a_group_that_stopped_collapsing():
    # at E_W E_H = 10 the CIFAR-100-LT group of count 15 is collapsed (s = 0, so y = 0 in
    # the factored coordinates, a stationary point); at 20 it is not: started from the
    # former, the solve must leave y = 0 (it once stalled at a gap of 2e-2)
    counts = lpm.counts.cifar_lt(100, 100)
    at10 = lpm.solve_counts(counts, 1.0, 10.0)
    model = lpm.Model(counts, 1.0, 20.0)
    warm = lpm.solve_model(model, method="lowrank", solver_options={"start": at10})
    cold = lpm.solve_model(model, method="lowrank")
    assert warm.success and warm.objective == pytest.approx(cold.objective, abs=1e-8)
    g = int(np.flatnonzero(model.groups.sizes > 1)[0])
    assert model.counts[model.groups.first[g]] == 15 and warm.logits_repr.s[g] > 1.0
    assert math.isfinite(warm.gap)
