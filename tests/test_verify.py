"""The Theorem-5 check and the phase diagram, against independent routes: dense W from
the factorization, the closed-form distance of the collapse report, single threshold
calls, and a check that must fail on a report that contradicts the theorem."""

import dataclasses
import math

import numpy as np
import pytest

import lpm
from lpm.studies.sweep import FIGURE3
from lpm.studies.theorem5 import default_R_grid


@pytest.fixture(scope="module")
def paper():
    return lpm.verify_minority_collapse(5, 5, 1.0, 5.0, R_grid=FIGURE3["R"])


def test_paper_setting_collapses_exactly_from_R0_and_not_before(paper):
    R0 = lpm.collapse_threshold(5, 5, 1, 5)
    assert paper.R0 == R0
    above = paper.R >= R0
    assert above.sum() == 30 and (~above).sum() == 11
    assert paper.collapsed[above].all() and not paper.collapsed[~above].any()
    assert np.all(paper.max_distance[above] == 0.0)  # exactly, not approximately
    assert np.all(paper.within[above] == 0.0)
    d = paper.max_distance[~above]
    assert np.all(d > 0) and np.all(np.diff(d) < 0)  # shrinking distances before R_0
    assert paper.collapsed_above and paper.distinct_below and paper.shrinking_below
    assert paper.approaches_limit and paper.limit_collapsed and paper.holds
    assert "Theorem 5 holds" in paper.verdict
    assert np.max(paper.gap) < 1e-12 and paper.limit_gap < 1e-12


def test_distances_match_the_dense_factorization_and_the_closed_form(paper):
    for i in (0, 5, 10, 20):
        # p = K: with the default p = K - 1 the factorization of some of these points
        # trips on a rounding-level singular value of M (reported; lpm/logits.py)
        sol = lpm.solve(5, 5, paper.R[i], 1.0, 5.0, p=10)
        W = sol.W[5:]  # minority rows of the dense classifier matrix
        dense = max(np.linalg.norm(W[a] - W[b]) for a in range(5) for b in range(a + 1, 5))
        assert paper.max_distance[i] == pytest.approx(dense, abs=1e-12)
        # ||w_k - w_k'||^2 = 2 sqrt(E_W / E_H) s_B
        closed = math.sqrt(2.0 * math.sqrt(1.0 / 5.0) * paper.within[i])
        assert paper.max_distance[i] == pytest.approx(closed, abs=1e-12)


def test_distance_to_the_limit_matches_dense_gram_matrices(paper):
    limit = lpm.solve(5, 5, math.inf, 1.0, 5.0).classifier_gram()
    for i in (0, 11, 40):
        G = lpm.solve(5, 5, paper.R[i], 1.0, 5.0).classifier_gram()
        rel = np.linalg.norm(G - limit) / np.linalg.norm(limit)
        assert paper.distance_to_limit[i] == pytest.approx(rel, rel=1e-9, abs=1e-14)
    # and it tends to 0 faster than 1/R far out
    tail = paper.distance_to_limit[-10:] * paper.R[-10:]
    assert np.all(np.diff(tail) < 0) and paper.distance_to_limit[-1] < 1e-6


def test_the_check_fails_on_a_report_that_contradicts_the_theorem(paper):
    flags = paper.collapsed.copy()
    flags[-1] = False
    broken = dataclasses.replace(paper, collapsed=flags)
    assert not broken.collapsed_above and not broken.holds
    assert "FAILED" in broken.verdict
    early = paper.collapsed.copy()
    early[3] = True
    assert not dataclasses.replace(paper, collapsed=early).distinct_below
    grow = paper.max_distance.copy()
    grow[2] = grow[0] + 1
    assert not dataclasses.replace(paper, max_distance=grow).shrinking_below


def test_default_grid_reaches_past_R0_and_a_short_grid_is_inconclusive():
    check = lpm.verify_minority_collapse(5, 5, 1.0, 20.0)  # R_0 ~ 1.6e8
    assert check.R.max() >= 100 * check.R0 and check.holds
    short = lpm.verify_minority_collapse(5, 5, 1.0, 5.0, R_grid=[3.0, 1.0, 2.0])
    assert list(short.R) == [1.0, 2.0, 3.0]
    assert not short.holds and "INCONCLUSIVE" in short.verdict
    assert default_R_grid(math.inf)[-1] == 1e4


@pytest.mark.parametrize("K_A, K_B", [(2, 8), (8, 2), (3, 3)])
def test_theorem5_holds_in_other_settings(K_A, K_B):
    assert lpm.verify_minority_collapse(K_A, K_B, 1.0, 1.0).holds


def test_verify_table_and_summary():
    check = lpm.verify_minority_collapse(3, 3, 1.0, 1.0, R_grid=[1.0, 2.0, 100.0])
    t = check.table()
    assert len(t) == 3 and list(t["R"]) == [1.0, 2.0, 100.0]
    assert list(t["minority_collapsed"]) == list(check.collapsed)
    s = check.summary()
    assert s["R0"] == check.R0 and s["holds"] == check.holds


@pytest.mark.parametrize(
    "args, match",
    [((5, 1, 1.0, 1.0), "K_B must be an integer >= 2"), ((5, 5, -1.0, 1.0), "E_W must be")],
)
def test_verify_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        lpm.verify_minority_collapse(*args)
    with pytest.raises(ValueError, match="R_grid"):
        lpm.verify_minority_collapse(5, 5, 1.0, 1.0, R_grid=[1.0, 0.0])


# -- phase diagram -----------------------------------------------------------------------
def test_phase_diagram_matches_single_threshold_calls_and_grows_with_the_budget():
    t = lpm.phase_diagram([(5, 5), (2, 8)], EWEH=[0.2, 1.0, 5.0])
    assert len(t) == 6 and t.columns == ("K_A", "K_B", "K", "EWEH", "R0")
    for row in t:
        assert row["R0"] == lpm.collapse_threshold(row["K_A"], row["K_B"], 1.0, row["EWEH"])
    for _, sub in t.groupby(["K_A", "K_B"]):
        assert np.all(np.diff(sub["R0"]) > 0)  # weaker regularization delays collapse
    by = {(r["K_A"], r["EWEH"]): r["R0"] for r in t}
    assert all(by[(2, e)] > by[(5, e)] for e in (0.2, 1.0, 5.0))  # grows with K_B / K_A


def test_phase_diagram_on_threads_equals_serial():
    import concurrent.futures

    serial = lpm.phase_diagram([(3, 4)], EWEH=[0.5, 1.0, 2.0, 4.0])
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        threaded = lpm.phase_diagram([(3, 4)], EWEH=[0.5, 1.0, 2.0, 4.0], executor=pool)
    assert serial.equals(threaded)


def test_phase_diagram_rejects_bad_settings():
    with pytest.raises(ValueError, match="K_B must be an integer >= 2"):
        lpm.phase_diagram([(5, 1)], EWEH=[1.0])
    with pytest.raises(ValueError, match="pairs"):
        lpm.phase_diagram([5], EWEH=[1.0])
    with pytest.raises(ValueError, match="EWEH"):
        lpm.phase_diagram([(5, 5)], EWEH=[0.0])


def test_repeated_ratios_count_once():
    check = lpm.verify_minority_collapse(5, 5, 1.0, 5.0, R_grid=[1.0, 2.0, 2.0, 100.0])
    assert check.R.tolist() == [1.0, 2.0, 100.0] and check.holds


def test_an_undecided_collapse_test_stops_the_check():
    # label smoothing with a budget its majority nearly fills: at R = 1e11 the exact test
    # cannot decide, and the check must not read that as "not collapsed"
    ls = lpm.get_loss("label_smoothing", alpha=0.1)
    with pytest.raises(lpm.SolverError, match="undecided at R = 1e\\+11"):
        lpm.verify_minority_collapse(5, 5, 1.0, 4.6, R_grid=[1e3, 1e11], loss=ls)
