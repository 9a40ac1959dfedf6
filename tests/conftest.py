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
