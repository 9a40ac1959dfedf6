r"""Per-class sample counts of the shapes used in imbalanced-learning studies.

* :func:`long_tailed`: exponential decay from ``n_max`` to ``n_max / rho``,
  :math:`n_k = \lfloor n_{\max}\,\rho^{-k/(K-1)} \rfloor`, ``k = 0..K-1`` (the CIFAR-LT and
  ImageNet-LT protocol; ``rho`` is the imbalance factor ``n_0 / n_{K-1}``).
* :func:`step`: ``K - K_min`` classes of ``n_max`` samples followed by ``K_min`` classes
  of :math:`\lfloor n_{\max}/R \rfloor` (the two-group model of the paper with integer
  counts).

Both return integer numpy arrays to pass to :class:`lpm.Model` or :func:`lpm.solve_counts`.
The floors are exact (never off by one from a rounding error, e.g. when ``rho`` is a
perfect power and a count is an integer): see :func:`_floor_of_power`.
"""

from __future__ import annotations

import decimal
import fractions
import math

import numpy as np

from .. import _validation as check

_PRECISION = 60


def _check_smallest(n_max: int, ratio: float, name: str) -> None:
    if fractions.Fraction(n_max) < fractions.Fraction(ratio):  # exact: floor(n_max / ratio) = 0
        raise ValueError(
            f"{name}={ratio:g} leaves the smallest class with floor(n_max / {name}) = 0 "
            f"samples (n_max={n_max}); use {name} <= n_max or a larger n_max"
        )


def long_tailed(K: int, rho: float, n_max: int = 5000) -> np.ndarray:
    r"""Long-tailed counts :math:`n_k = \lfloor n_{\max}\,\rho^{-k/(K-1)}\rfloor`.

    Parameters
    ----------
    K : int
        Number of classes, >= 1 (``K = 1`` gives ``[n_max]``).
    rho : float
        Imbalance factor ``n_0 / n_{K-1}``, a finite real >= 1 (1 is balanced) and at most
        ``n_max`` so that the last class keeps a sample.
    n_max : int
        Count of the largest class (the first), >= 1.

    Returns
    -------
    ndarray of int64, shape (K,)
        Non-increasing counts, ``n_0 = n_max``.

    Raises
    ------
    ValueError
        An argument out of range (the message names it).
    """
    K = check.class_count("K", K)
    rho = check.real_at_least("rho", rho, 1.0)
    n_max = check.class_count("n_max", n_max)
    _check_smallest(n_max, rho, "rho")
    if K == 1:
        return np.array([n_max], dtype=np.int64)
    exact_rho = fractions.Fraction(rho)
    out = [_floor_of_power(n_max, rho, exact_rho, k, K - 1) for k in range(K)]
    return np.array(out, dtype=np.int64)


def _floor_of_power(n_max: int, rho: float, exact_rho, k: int, e: int) -> int:
    """``floor(n_max * rho^(-k/e))``, exactly.

    The power is evaluated to 60 digits; only when that lands within 1e-45 of an integer
    ``m`` (an exact power such as ``16^(-1/2)``, or a near miss) is ``m`` checked in exact
    rational arithmetic: ``m <= n_max rho^(-k/e)`` iff ``m^a rho^b <= n_max^a`` with
    ``a = e/g``, ``b = k/g``, ``g = gcd(k, e)``.
    """
    with decimal.localcontext() as ctx:
        ctx.prec = _PRECISION
        x = decimal.Decimal(n_max) * decimal.Decimal(rho) ** (
            decimal.Decimal(-k) / decimal.Decimal(e)
        )
        m = int(x.to_integral_value(rounding=decimal.ROUND_HALF_EVEN))
        if abs(x - m) > x * decimal.Decimal("1e-45"):
            return int(x.to_integral_value(rounding=decimal.ROUND_FLOOR))
    g = math.gcd(k, e)
    a, b = e // g, k // g
    below = fractions.Fraction(m) ** a * exact_rho**b <= fractions.Fraction(n_max) ** a
    return m if below else m - 1


def step(K: int, n_minority_classes: int, R: float, n_max: int = 5000) -> np.ndarray:
    r"""Step counts: ``K - n_minority_classes`` classes of ``n_max`` samples, then
    ``n_minority_classes`` classes of :math:`\lfloor n_{\max}/R\rfloor`.

    Parameters
    ----------
    K : int
        Number of classes, >= 1.
    n_minority_classes : int
        Number of minority classes, ``0 <= n_minority_classes <= K`` (0 or K is balanced).
    R : float
        Imbalance ratio, a finite real >= 1 and at most ``n_max``.
    n_max : int
        Count of a majority class, >= 1.

    Returns
    -------
    ndarray of int64, shape (K,)
        Majority classes first, as in :meth:`lpm.Model.two_group`.

    Raises
    ------
    ValueError
        An argument out of range (the message names it).
    """
    K = check.class_count("K", K)
    n_min = check.class_count("n_minority_classes", n_minority_classes, minimum=0)
    if n_min > K:
        raise ValueError(
            f"n_minority_classes must be an integer in [0, K={K}], got {n_minority_classes}"
        )
    R = check.real_at_least("R", R, 1.0)
    n_max = check.class_count("n_max", n_max)
    _check_smallest(n_max, R, "R")  # also with no minority classes, as documented
    small = math.floor(fractions.Fraction(n_max) / fractions.Fraction(R))  # exact
    return np.concatenate(
        [np.full(K - n_min, n_max, dtype=np.int64), np.full(n_min, small, dtype=np.int64)]
    )
