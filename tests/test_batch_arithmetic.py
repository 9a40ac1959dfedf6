"""The array forms of the two-group arithmetic give each point of a batch its single
numbers, bit for bit (signs of zero included).

* ``lpm.model.few_groups``: the loss and gradient, the 2 x 2 singular values, the inner
  product and the Gram geometry of stacked points against the functions of one point.
* ``lpm.studies.rows``: a batch of two-group cross-entropy models of mixed faces (the
  ETF, interior, collapsed minority, vanished minority) gets the rows of single solves.
"""

import dataclasses
import math

import numpy as np
from conftest import assert_same_row, float_bits
from hypothesis import given, settings
from hypothesis import strategies as st

import lpm
from lpm.model.few_groups import (
    ce_derivatives,
    ce_derivatives_pairs,
    gram_geometry,
    gram_geometry_pairs,
    grouped_inner,
    inner_pairs,
    singular_values_2x2,
    singular_values_pairs,
)
from lpm.studies.rows import solution_row, solve_rows

# entries of every sign and scale, exact zeros and ties among them
entry = st.one_of(
    st.just(0.0),
    st.just(-0.0),
    st.floats(-60.0, 60.0, allow_nan=False),
    st.floats(-1e-150, 1e-150, allow_nan=False),
)
point = st.tuples(
    st.lists(entry, min_size=4, max_size=4),  # M, row-major
    st.lists(st.one_of(st.just(0.0), st.floats(0.0, 60.0)), min_size=2, max_size=2),  # s
    st.lists(st.floats(1e-9, 1.0), min_size=2, max_size=2),  # weights
)


@settings(max_examples=60, deadline=None)
@given(
    K=st.tuples(st.integers(1, 40), st.integers(1, 40)),
    points=st.lists(point, min_size=1, max_size=6),
)
def test_stacked_two_group_arithmetic_is_each_points_own(K, points):
    sizes = list(K)
    M = np.array([p[0] for p in points]).reshape(-1, 2, 2)
    s = np.array([p[1] for p in points])
    w = np.array([p[2] for p in points])
    value, G_M, gamma = ce_derivatives_pairs(sizes, w, M, s)
    sv = singular_values_pairs(M)
    mult = [k - 1.0 for k in sizes]
    inner = inner_pairs(M, s, G_M, gamma, mult)
    sides = {side: gram_geometry_pairs(M, s, sizes, sv, side) for side in ("W", "H")}
    for i in range(len(points)):
        Mi, si = M[i].tolist(), s[i].tolist()
        v, gm, ga = ce_derivatives(sizes, w[i].tolist(), Mi, si)
        assert float_bits([value[i]]) == float_bits([v])
        assert float_bits(G_M[i]) == float_bits(gm) and float_bits(gamma[i]) == float_bits(ga)
        one = singular_values_2x2(*M[i].ravel().tolist())
        assert float_bits([sv[0][i], sv[1][i]]) == float_bits(one)
        assert float_bits([inner[i]]) == float_bits([grouped_inner(Mi, si, gm, ga, mult)])
        for side, (norm2, inn, cos) in sides.items():
            ref = gram_geometry(Mi, si, sizes, list(one), side)
            assert float_bits(norm2[i]) == float_bits(ref[0]), side
            assert float_bits(inn[i]) == float_bits(ref[1]), side
            assert float_bits(cos[i]) == float_bits(ref[2]), side


@settings(max_examples=25, deadline=None)
@given(
    K_A=st.integers(1, 30),
    K_B=st.integers(2, 30),
    points=st.lists(
        st.tuples(st.floats(0.001, 12.0), st.floats(-3.0, 4.0)), min_size=2, max_size=8
    ),
)
def test_batched_rows_of_mixed_faces_are_the_single_solves_rows(K_A, K_B, points):
    # log10 R up to 12 and E_W E_H from 1e-3 to 1e4: the ETF-like, interior, collapsed
    # and vanished minority in one batch; label smoothing at a large budget (not binding:
    # the unconstrained minimizer) in a batch of its own beside it
    models = [lpm.Model.two_group(K_A, K_B, 10.0**r, 1.0, 10.0**e) for r, e in points]
    smooth = {"loss": "label_smoothing", "loss_params": {"alpha": 0.1}}
    models += [lpm.Model.two_group(K_A, K_B, 10.0**r, 1.0, 1e4, **smooth) for r, _ in points]
    rows = solve_rows(models)
    for model, row in zip(models, rows):
        assert_same_row(row, solution_row(lpm.solve_model(model)))


def test_one_batch_holds_each_face():
    # the faces the hypothesis test above draws from: interior and collapsed on the
    # Figure-3 curve, the minority vanished at a small budget and large R
    models = [lpm.Model.two_group(5, 5, R, 1.0, 5.0) for R in (1.5, 1e3)]
    models += [lpm.Model.two_group(5, 5, 100.0, 1.0, 1.0)]
    rows = solve_rows(models)
    assert rows[0]["minority_collapsed"] is False and rows[1]["minority_collapsed"] is True
    assert rows[2]["minority_vanished"] is True and math.isnan(rows[2]["minority_cosine"])
    for model, row in zip(models, rows):
        assert_same_row(row, solution_row(lpm.solve_model(model)))


def test_a_batch_of_one_point_gets_its_solutions_row():
    # a batch of one point has its pair statistics in floats, a solution's own route:
    # the R = 1 point of a curve (one group), a lone collapsed point, a vanished minority,
    # a minority across two groups, label smoothing (the rows not on arrays)
    smooth = {"loss": "label_smoothing", "loss_params": {"alpha": 0.1}}
    models = [lpm.Model.two_group(5, 5, R, 1.0, 5.0) for R in (1.0, 1e3)]
    models += [lpm.Model.two_group(5, 5, 100.0, 1.0, 1.0)]
    models += [lpm.Model([3.0, 3.0, 1.0, 1.0], 1.0, 5.0, minority=[1, 2, 3])]
    models += [lpm.Model.two_group(5, 5, 10.0, 1.0, 5.0, **smooth)]
    for model in models:
        (row,) = solve_rows([model])
        assert_same_row(row, solution_row(lpm.solve_model(model)))
    assert math.isnan(solve_rows(models[2:3])[0]["minority_cosine"])


def test_a_point_outside_the_budget_gets_the_rows_of_its_solution(monkeypatch):
    # a point the certificate scales into the budget leaves the array route for the
    # per-row one: its row is still the one its Solution reads
    from lpm.solvers import reduced
    from lpm.solvers.dispatch import default_gap_tol
    from lpm.studies import rows as rows_module

    models = [lpm.Model.two_group(5, 3, R, 1.0, 5.0) for R in (30.0, 2.0, 1e3)]
    real, real_batch = reduced.solve_results, reduced.solve_pair_batch
    scale = 1 + 1e-9

    def outside(models, options, evaluate=True):
        results, started = real(models, options, evaluate)
        res = results[1]
        results[1] = dataclasses.replace(res, logits=res.logits.scaled(scale))
        return results, started

    def outside_batch(models, options):
        # the same point scaled in the stacked arrays (what GroupedLogits.scaled does)
        batch, started = real_batch(models, options)
        M, s = batch.M.copy(), batch.s.copy()
        M[1], s[1] = M[1] * scale, s[1] * scale
        return dataclasses.replace(batch, M=M, s=s), started

    monkeypatch.setattr(reduced, "solve_results", outside)
    monkeypatch.setattr(rows_module, "solve_results", outside)
    monkeypatch.setattr(rows_module, "solve_pair_batch", outside_batch)
    tols = [default_gap_tol(m, "reduced") for m in models]
    on_arrays = rows_module._pair_rows(models, outside_batch(models, None)[0], tols)[0]
    assert on_arrays[1] is None and on_arrays[0] is not None and on_arrays[2] is not None
    got = rows_module._batch_rows(models, None, None, None)
    sols = reduced.solve_batch(models, [m.min_exact_dimension for m in models], tols, None)
    assert sols[1].residuals.nuclear <= 0.0  # scaled back into the ball
    for row, sol in zip(got, sols):
        assert_same_row(row, solution_row(sol))
