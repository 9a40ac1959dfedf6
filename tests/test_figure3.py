"""The paper's Figure-3 setting through its own formulation (the SDP with SCS)."""

import numpy as np
import pytest

import lpm


def test_sdp_minority_cosine_at_balance_and_in_collapse():
    at_one = lpm.solve(5, 5, 1.0, 1, 5, method="sdp")
    assert at_one.minority_cosine == pytest.approx(-1 / 9, abs=1e-6)
    collapsed = lpm.solve(5, 5, 100.0, 1, 5, method="sdp")
    # SCS at lpm's tolerance: within 1e-6 of the exact value 1 (SCS defaults: ~4e-4)
    assert collapsed.minority_cosine == pytest.approx(1.0, abs=1e-6)
    # cosines come from the factors W of a PSD Gram matrix, never above 1: checked on the
    # rows of W themselves, not on the (clipped) cosine matrix
    W = collapsed.W / np.linalg.norm(collapsed.W, axis=1, keepdims=True)
    assert (W @ W.T).max() <= 1.0 + 4 * np.finfo(float).eps
    for sol in (at_one, collapsed):
        assert sol.solver == "SCS" and sol.success and sol.gap < 1e-6


def test_sdp_and_reduced_curves_agree():
    for R in (1.0, 3.0, 10.0, 30.0, 100.0):
        sdp = lpm.solve(5, 5, R, 1, 5, method="sdp")
        red = lpm.solve(5, 5, R, 1, 5)
        assert sdp.objective == pytest.approx(red.objective, abs=1e-7)
        assert sdp.minority_cosine == pytest.approx(red.minority_cosine, abs=1e-5)
        np.testing.assert_allclose(sdp.classifier_gram(), red.classifier_gram(), atol=1e-5)


def test_sdp_gram_factorization_respects_p():
    sol = lpm.solve(5, 5, 10.0, 1, 5, method="sdp", p=12)
    assert sol.W.shape == (10, 12) and sol.H.shape == (10, 12)
    assert sol.residuals.E_W <= 1e-12 and sol.residuals.E_H <= 1e-12
