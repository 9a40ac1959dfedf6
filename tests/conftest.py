"""Shared test settings: hypothesis runs derandomized so CI is reproducible."""

import os

import numpy as np
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def dense_cross_entropy(pi, Z):
    """Value and gradient of sum_k pi_k CE(Z[k], k), written directly with numpy (the
    tests' independent route to the certificates)."""
    Z = np.asarray(Z, float)
    shifted = Z - Z.max(axis=1, keepdims=True)
    logsum = np.log(np.exp(shifted).sum(axis=1))
    own = np.diag(shifted)
    value = float(pi @ (logsum - own))
    P = np.exp(shifted - logsum[:, None])
    grad = pi[:, None] * (P - np.eye(Z.shape[0]))
    return value, grad


def float_bits(x) -> list:
    """The float64 bit patterns of ``x`` (NaN, -0.0 and 0.0 told apart)."""
    return np.asarray(x, float).view(np.int64).ravel().tolist()


def assert_same_row(a: dict, b: dict) -> None:
    """Two result rows identical in every column but the time, in type and in bits (a
    batched row against the single solve's: NaN equal to NaN, -0.0 not equal to 0.0)."""
    assert a.keys() == b.keys()
    for key in a:
        if key == "time":
            continue
        x, y = a[key], b[key]
        assert type(x) is type(y), key
        if isinstance(x, float):
            assert float_bits([x]) == float_bits([y]), (key, x, y)
        else:
            assert x == y, (key, x, y)
