"""What a new user meets first (issue 15): no false alarm on rounding, no inf or wrong
digit from budgets at the ends of the double range, no error of the wrong kind, and the
closed forms and two-group models at any K."""

import json
import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lpm
from lpm.studies.theorem5 import ROUNDING, MinorityCollapseCheck, _gram_distance


# -- Theorem 5: never false on rounding -------------------------------------------------
@pytest.mark.parametrize(
    "K_A, K_B, EWEH",
    # settings whose distances to the R = inf solution sit at rounding level (1e-16)
    # after exact zeros; each was reported "Theorem 5 check FAILED" before
    [(10, 10, 1.0), (1, 2, 1000.0), (8, 2, 4.393970560760786), (7, 3, 0.7196856730011514)],
)
def test_verify_holds_where_the_limit_is_reached_to_rounding(K_A, K_B, EWEH):
    check = lpm.verify_minority_collapse(K_A, K_B, 1.0, EWEH)
    d = check.distance_to_limit[check.above]
    # at rounding level (exact zeros since the two-group solver of issue 12; the
    # synthetic reports below keep distances of 1e-16 after zeros under test)
    assert d.max() <= ROUNDING
    assert check.limit_reached and check.approaches_limit and check.holds
    assert "Theorem 5 holds" in check.verdict


@settings(max_examples=10, deadline=None, derandomize=True)
@given(
    K_A=st.integers(1, 12),
    K_B=st.integers(2, 12),
    log_EWEH=st.floats(-8, 3),
)
def test_theorem5_holds_across_settings(K_A, K_B, log_EWEH):
    # the sweep of the issue: 59 of 135 such settings were reported false on rounding
    check = lpm.verify_minority_collapse(K_A, K_B, 1.0, 10.0**log_EWEH)
    assert check.holds, check.verdict


def _check(distance_to_limit, max_distance=None):
    """A synthetic report: 3 points below R_0 = 10, the rest above, all exactly decided."""
    d = np.asarray(distance_to_limit, float)
    n = 3 + d.size
    R = np.r_[[1.0, 2.0, 5.0], np.geomspace(20.0, 1e4, d.size)]
    md = np.r_[[3.0, 2.0, 1.0], np.zeros(d.size)] if max_distance is None else max_distance
    return MinorityCollapseCheck(
        K_A=5,
        K_B=5,
        E_W=1.0,
        E_H=5.0,
        R=R,
        max_distance=np.asarray(md, float),
        within=np.zeros(n),
        minority_cosine=np.ones(n),
        distance_to_limit=np.r_[[0.5, 0.4, 0.3], d],
        collapsed=np.r_[[False] * 3, [True] * d.size],
        gap=np.zeros(n),
        R0=10.0,
        limit_collapsed=True,
        limit_gap=0.0,
    )


def test_the_limit_check_reads_rounding_as_rounding_and_a_rise_as_a_rise():
    assert _check([0.0, 1.3e-16, 0.0, 1.3e-16]).holds  # was: FAILED (0 -> 1.3e-16)
    assert _check([0.2, 0.1, 0.05, 0.05 + 1e-17]).holds  # decreasing, flat at rounding
    # a real increase, or no decrease at all, is still a failure: the check can fail
    assert not _check([0.1, 0.2, 0.3, 0.4]).holds
    assert not _check([0.1, 0.1, 0.1, 0.1]).holds
    assert not _check([0.1, 0.05, 0.02, 0.01], max_distance=[1.0, 2.0, 3.0, 0, 0, 0, 0]).holds


def test_gram_distance_of_tiny_grams_does_not_underflow():
    x = np.array([1e-170, -2e-171, 1e-170, 1e-170, 0.0])
    assert _gram_distance(x, np.zeros(5), 5, 5) > 0  # was 0 (squares underflow): 0/0
    big = _gram_distance(x * 1e170, np.zeros(5), 5, 5)
    assert _gram_distance(x, np.zeros(5), 5, 5) == pytest.approx(big * 1e-170, rel=1e-15)


# -- budgets at the ends of the double range --------------------------------------------
def test_budgets_far_apart_are_exact():
    # only E_W E_H matters for the logits; W and H are scaled by (E_H/E_W)^(1/4), which
    # E_H / E_W = 1e-400 underflowed to 0 (W = inf, status 'optimal') before
    ref = lpm.solve(5, 5, 10.0, 1.0, 1.0)
    for E_W, E_H in ((1e200, 1e-200), (1e-200, 1e200), (1e160, 1e-160)):
        sol = lpm.solve(5, 5, 10.0, E_W, E_H)
        assert sol.status == "optimal" and np.all(np.isfinite(sol.W)) and np.all(np.isfinite(sol.H))
        assert sol.objective == ref.objective
        np.testing.assert_allclose(sol.W / math.sqrt(E_W), ref.W, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(sol.H / math.sqrt(E_H), ref.H, rtol=1e-14, atol=1e-15)
        # within budget to rounding (1e160 / 1e-160 was over by 5.6e-6 relative)
        assert (sol.W**2).sum() / 10 <= E_W * (1 + 1e-14)
        assert (sol.H**2).sum() / 10 <= E_H * (1 + 1e-14)
        with pytest.warns(RuntimeWarning, match="norm 0"):  # was ZeroDivisionError
            assert math.isnan(sol.minority_cosine)
        assert sol.minority_vanished is True


@settings(max_examples=25, deadline=None)
@given(log_E_W=st.floats(-300, 300), log_EWEH=st.floats(-20, 2))
def test_only_the_product_of_the_budgets_matters_at_any_scale(log_E_W, log_EWEH):
    E_W, EWEH = 10.0**log_E_W, 10.0**log_EWEH
    E_H = EWEH / E_W
    sol = lpm.solve(3, 4, 7.0, E_W, E_H)
    ref = lpm.solve(3, 4, 7.0, 1.0, E_W * E_H)  # the same product, in floating point
    assert sol.success and sol.objective == ref.objective
    np.testing.assert_allclose(sol.classifier_gram() / E_W, ref.classifier_gram(), rtol=1e-12)
    np.testing.assert_allclose(
        sol.feature_gram() / E_H, ref.feature_gram() / ref.model.E_H, rtol=1e-12
    )


@pytest.mark.parametrize(
    "E_W, E_H, pattern",
    [
        (1e200, 1e200, r"E_W \* E_H must be at most 3\.636e\+05 for K=10 .* about 1e\+400"),
        (1.0, 1e6, r"E_W \* E_H must be at most 3\.636e\+05 .* out of double precision"),
        (1e-300, 1e10, r"E_W \* E_H must be at least 1e-24.*product 1e-290"),
        (1e-170, 1.0, r"E_W \* E_H must be at least 1e-24"),
    ],
)
def test_budget_products_outside_the_double_range_are_refused_up_front(E_W, E_H, pattern):
    # before: LinAlgError, an H with -inf entries and status 'optimal', ZeroDivisionError
    with pytest.raises(ValueError, match=pattern):
        lpm.solve(5, 5, 10.0, E_W, E_H)
    with pytest.raises(ValueError, match=r"E_W \* E_H must be at"):
        lpm.verify_minority_collapse(5, 5, E_W, E_H)
    with pytest.raises(ValueError, match=r"E_W \* E_H must be at"):
        lpm.solve_counts([3, 2, 1], E_W, E_H)


def test_the_largest_budget_product_is_where_the_etf_loss_reaches_the_floor():
    from lpm.model.precision import LOSS_FLOOR, max_budget_product

    for K in (2, 10, 1000):
        top = max_budget_product(lpm.CrossEntropy(), K)
        c = K * math.sqrt(top) / (K - 1)  # the ETF margin: loss log1p((K-1) e^-c)
        assert math.log1p((K - 1) * math.exp(-c)) == pytest.approx(LOSS_FLOOR, rel=1e-9)
        lpm.Model.two_group(K - 1, 1, 10.0, 1.0, top * (1 - 1e-9))  # accepted
        with pytest.raises(ValueError, match="must be at most"):
            lpm.Model.two_group(K - 1, 1, 10.0, 1.0, top * (1 + 1e-9))
    # a loss with a finite minimizer goes slack instead: no upper limit
    assert lpm.solve(5, 5, 10.0, 1e100, 1e100, loss="squared").success


def test_weight_decay_near_zero_is_refused_and_the_penalty_weight_never_underflows():
    with pytest.raises(ValueError, match=r"lambda_W \* lambda_H must be at least 1e-100.*1e-340"):
        lpm.solve_penalized(3, 2, 10, 1e-170, 1e-170, method="nonconvex")  # ZeroDivisionError
    # lambda_W lambda_H = 1e-340 underflows, sqrt(lambda_W) sqrt(lambda_H) does not
    sol = lpm.solve_penalized(3, 2, 10, 1e-300, 1e250)
    ref = lpm.solve_penalized(3, 2, 10, 1e-25, 1e-25)
    assert sol.model.beta == pytest.approx(1e-25, rel=1e-15)
    assert sol.objective == pytest.approx(ref.objective, rel=1e-12)


@pytest.mark.parametrize("method", ["reduced", "lowrank", "nonconvex"])
def test_success_is_a_python_bool(method):
    # with a small budget the gap target is numpy's float; success was numpy.bool_
    sol = lpm.solve(5, 5, 10.0, 1e-8, 1e-8, method=method)
    assert sol.success is True or sol.success is False
    assert type(sol.gap_tol) is float
    json.dumps(sol.summary())


# -- errors of the right kind, naming the argument ---------------------------------------
def _model():
    return lpm.Model.two_group(2, 3, 10.0)


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: lpm.solve(2, 3, 10, loss_params=[1]), r"loss_params must be a dict"),
        (lambda: lpm.solve(2, 3, 10, solver_options={"max_iter": "x"}), r"max_iter must be"),
        (lambda: lpm.solve(2, 3, 10, solver_options={"max_iter": -1}), r"max_iter must be"),
        (lambda: lpm.solve(2, 3, 10, solver_options={"decrement_tol": -1}), "decrement_tol"),
        (lambda: lpm.solve(2, 3, 10, solver_options={"decrement_tol": math.nan}), "decrement_"),
        (lambda: lpm.solve(2, 3, 10, solver_options="x"), r"solver_options must be a dict"),
        (
            lambda: lpm.solve(2, 3, 10, method="nuclear", solver_options={"eps_abs": "x"}),
            r"solver_options \['eps_abs'\] for SCS",
        ),
        (lambda: lpm.solve(2, 3, 10, method="nuclear", solver=1), r"solver must be the name"),
        (lambda: lpm.solve(2, 3, 10, method="sdp", solver=""), r"solver must be the name"),
        (lambda: lpm.solve_penalized(2, 3, 10, 1, 1, solver=2.0), r"solver must be the name"),
        (lambda: lpm.solve(2, 3, 10, method=["auto"]), r"method must be one of"),
        (lambda: lpm.solve_model(None), r"model must be an lpm\.Model"),
        (lambda: lpm.solve_model("5,5"), r"model must be an lpm\.Model"),
        (lambda: lpm.solve_models([_model(), 3]), r"models\[1\] must be an lpm\.Model"),
        (lambda: lpm.solve_models(_model()), r"models must be a list"),
        (
            lambda: lpm.solve_model(lpm.PenalizedModel([1, 2], 0.1, 0.1)),
            r"model is a PenalizedModel .* lpm\.solve_penalized_model",
        ),
        (lambda: lpm.solve_lowrank(None), r"model must be an lpm\.Model"),
        (lambda: lpm.solve_nonconvex([1, 2]), r"model must be an lpm\.Model"),
        (lambda: lpm.etf_is_optimal(None), r"model must be an lpm\.Model"),
        (lambda: lpm.collapse_report("model"), r"model must be an lpm\.Model"),
        (lambda: lpm.phase_diagram(None, [1.0]), r"settings must be a sequence"),
        (lambda: lpm.is_simplex_etf(np.eye(3), tol="x"), r"tol must be a finite real"),
        (lambda: lpm.is_simplex_etf(np.eye(3), tol=-1), r"tol must be a finite real"),
        (lambda: lpm.is_simplex_etf(np.eye(3), tol=math.nan), r"tol must be a finite real"),
        (lambda: lpm.solve(2, 3, 10).is_simplex_etf(tol=-1), r"tol must be a finite real"),
        (lambda: lpm.nc1(np.eye(3), [0, 1, 2], rtol="x"), r"rtol must be a number in \(0, 0.5\]"),
        (lambda: lpm.solve(2, 3, 10).etf_distance(side="X"), r"side must be one of 'W', 'H'"),
        (lambda: lpm.solve(2, 3, 10).group_geometry(side=1), r"side must be one of"),
        (lambda: lpm.solve(2, 3, 10).pair_stats([0, 1], side="w"), r"side must be one of"),
        (lambda: lpm.solve(2, 3, 10).classifier_gram(memory_limit="x"), r"memory_limit must"),
        (lambda: lpm.solve(2, 3, 10).factors(memory_limit=-1), r"memory_limit must"),
        (lambda: lpm.collapse_margin(2.5, 5, 10), r"K_A must be an integer"),
        (lambda: lpm.collapse_margin(5, 5, 0), r"R must be a positive real number"),
        (lambda: lpm.collapse_margin(5, 5, [[1, 2]]), r"R must be a number or a 1-D"),
        (lambda: lpm.collapse_margin(5, 1, 10), r"K_B must be an integer >= 2"),
        (lambda: lpm.collapse_margin(5, 5, 10, -1), r"E_W must be a finite real number"),
        (lambda: lpm.collapse_margin(5, 5, 10, loss="hinge"), r"loss must be one of"),
    ],
)
def test_bad_arguments_raise_a_value_error_naming_them(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# -- closed forms and two groups at any K ------------------------------------------------
def test_balanced_optimum_at_a_billion_classes_is_the_closed_form():
    started = time.perf_counter()
    opt = lpm.balanced_optimum(10**9, 1.0, 5.0)  # allocated a 10^9 x 10^9 array before
    assert time.perf_counter() - started < 1.0
    K, b = 10**9, math.sqrt(5.0)
    assert opt.objective == pytest.approx(math.log1p((K - 1) * math.exp(-K * b / (K - 1))))
    with pytest.raises(MemoryError, match="the objective needs no array"):
        opt.factors()
    small = lpm.balanced_optimum(6, 2.0, 0.5)
    np.testing.assert_allclose(small.W @ small.W.T, 2.0 * 6 / 5 * (np.eye(6) - 1 / 6), atol=1e-14)
    np.testing.assert_allclose(small.H, 0.5 * small.W, atol=1e-15)


def test_two_groups_at_two_hundred_million_classes():
    # the README: "two groups: 6 unknowns, any K"; before, the per-class arrays were
    # refused (MemoryError) from K ~ 7e7 on
    K_A = K_B = 10**8
    K = K_A + K_B
    balanced = lpm.solve(K_A, K_B, 1.0, 1.0, 5.0)
    assert balanced.success
    closed = lpm.balanced_optimum(K, 1.0, 5.0).objective
    assert balanced.objective == pytest.approx(closed, rel=1e-13)
    assert balanced.minority_cosine == pytest.approx(-1.0 / (K - 1), rel=1e-9)
    sol = lpm.solve(K_A, K_B, 100.0, 1.0, 5.0)
    assert sol.success and sol.minority_collapsed is True
    assert sol.minority_vanished is True  # the vanishing phase of K_A = K_B, R = 100
    assert "minority" not in sol.model.__dict__ and "pi" not in sol.model.__dict__
    with pytest.raises(MemoryError, match="W and H would be"):
        sol.factors()


# -- what print shows -----------------------------------------------------------------------
def test_print_of_a_sweep_table_shows_its_numbers():
    R = 10 ** (0.1 * np.arange(21))
    table = lpm.sweep(5, 5, R=R, E_W=1.0, E_H=[1.0, 5.0])
    text = str(table)  # was the repr: the column names only
    lines = text.splitlines()
    assert lines[0] == "SweepTable: 42 rows over R, E_H, EWEH"
    assert "in every row: K_A=5, K_B=5, K=10, E_W=1" in text and "method=reduced" in text
    header = lines[lines.index(next(x for x in lines if x.split()[:1] == ["R"]))]
    assert header.split()[:4] == ["R", "E_H", "EWEH", "objective"]
    assert f"{table['objective'][0]:.6g}" in text and f"{table['objective'][-1]:.6g}" in text
    assert sum("..." in x for x in lines) == 1  # the first and last 5 rows of 42
    one = str(lpm.sweep(5, 5, R=100.0, E_W=1.0, E_H=1.0))
    assert "minority_vanished   True" in one and "minority_cosine     nan" in one
