r"""Per-class sample counts: the shapes of imbalanced-learning studies and real data sets.

* :func:`long_tailed`: exponential decay from ``n_max`` to ``n_max / rho``,
  :math:`n_k = \lfloor n_{\max}\,\rho^{-k/(K-1)} \rfloor`, ``k = 0..K-1`` (the profile of
  CIFAR-10-LT and CIFAR-100-LT, Cao et al. 2019; ``rho`` is the imbalance factor
  ``n_0 / n_{K-1}``), with exact floors;
* :func:`cifar_lt`: the same profile exactly as its reference code computes it (in
  floating point), so that the published totals come out;
* :func:`step`: ``K - K_min`` classes of ``n_max`` samples followed by ``K_min`` classes
  of :math:`\lfloor n_{\max}/R \rfloor` (the two-group model of the paper with integer
  counts);
* :func:`imagenet_lt`: the real training counts of ImageNet-LT (Liu et al. 2019), shipped
  with the package (``lpm/model/data/``, with their provenance); ImageNet-LT was sampled
  with counts from a Pareto distribution, not the exponential profile;
* :func:`from_file`: counts from a text file (one per line) or from a ``.npy`` array of
  labels.

Each returns a numpy array to pass to :class:`lpm.Model` or :func:`lpm.solve_counts`.
"""

from __future__ import annotations

import decimal
import fractions
import math
import os
from importlib import resources

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
    k = np.arange(K)
    x = n_max * np.exp(-(k / (K - 1)) * math.log(rho))  # within ~1e-12 relative
    out = np.floor(x)
    # where the power lands near an integer, the float floor can be off by one: decide
    # those exactly (a handful of classes; 60-digit arithmetic, then rationals)
    near = np.flatnonzero(np.abs(x - np.rint(x)) <= 1e-9 * np.maximum(x, 1.0))
    for i in near.tolist():
        out[i] = _floor_of_power(n_max, rho, exact_rho, i, K - 1)
    return out.astype(np.int64)


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


def cifar_lt(K: int = 100, rho: float = 100.0, n_max: int | None = None) -> np.ndarray:
    r"""Training counts of CIFAR-10-LT / CIFAR-100-LT: ``n_i = int(n_max (1/rho)^(i/(K-1)))``.

    Computed in double precision exactly as the reference code (github kaidic/LDAM-DRW,
    ``imbalance_cifar.py``) does, truncation included, so the published totals come out:
    CIFAR-10-LT at ``rho = 10 / 50 / 100``: 20,431 / 13,996 / 12,406 images; CIFAR-100-LT:
    19,573 / 12,608 / 10,847. (:func:`long_tailed` floors the exact power instead; the two
    can differ by one where the power is within rounding of an integer.)

    Parameters
    ----------
    K : int
        Number of classes: 10 (CIFAR-10, ``n_max = 5000``) or 100 (CIFAR-100,
        ``n_max = 500``); other ``K`` need ``n_max``.
    rho : float
        Imbalance factor ``n_0 / n_{K-1}``, a finite real >= 1.
    n_max : int, optional
        Images of the largest class (default: CIFAR's per-class count for ``K``).

    Returns
    -------
    ndarray of int64, shape (K,)

    References
    ----------
    K. Cao, C. Wei, A. Gaidon, N. Arechiga, T. Ma, "Learning imbalanced datasets with
    label-distribution-aware margin loss", NeurIPS 2019.
    """
    K = check.class_count("K", K)
    rho = check.real_at_least("rho", rho, 1.0)
    if n_max is None:
        if K not in (10, 100):
            raise ValueError(f"cifar_lt needs n_max for K other than 10 and 100, got K={K}")
        n_max = 5000 if K == 10 else 500
    n_max = check.class_count("n_max", n_max)
    if K == 1:
        return np.array([n_max], dtype=np.int64)
    factor = 1.0 / rho
    out = [int(n_max * (factor ** (i / (K - 1.0)))) for i in range(K)]
    if min(out) < 1:
        raise ValueError(f"rho={rho:g} leaves a class with no image (n_max={n_max})")
    return np.array(out, dtype=np.int64)


def imagenet_lt() -> np.ndarray:
    """Training counts of ImageNet-LT, per class in label order 0..999.

    K = 1000 classes, 115,846 images, counts from 1280 down to 5 (median 73, 310 distinct
    values); 385 / 479 / 136 classes have more than 100 / 20 to 100 / fewer than 20
    images. Source: the split file ``data/ImageNet_LT/ImageNet_LT_train.txt`` of
    github.com/facebookresearch/classifier-balancing (shipped in ``lpm/model/data/``,
    with its provenance).

    Returns
    -------
    ndarray of int64, shape (1000,)

    References
    ----------
    Z. Liu, Z. Miao, X. Zhan, J. Wang, B. Gong, S. X. Yu, "Large-scale long-tailed
    recognition in an open world", CVPR 2019.
    """
    text = resources.files(__package__).joinpath("data", "imagenet_lt_train_counts.txt")
    return parse_counts(text.read_text(encoding="utf-8"), "imagenet_lt_train_counts.txt")


def parse_counts(text: str, source: str = "counts") -> np.ndarray:
    """Counts from text with one positive number per line (ValueError naming the line
    of anything else: a zero, a negative, a non-number, an empty line)."""
    lines = text.splitlines()
    if lines and lines[-1] == "":
        lines = lines[:-1]
    if not lines:
        raise ValueError(f"{source}: no counts (the file is empty)")
    out = []
    for i, line in enumerate(lines, start=1):
        item = line.strip()
        if not item:
            raise ValueError(f"{source}, line {i}: empty line (one positive count per line)")
        try:
            value = float(item)
        except ValueError:
            raise ValueError(f"{source}, line {i}: {item!r} is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{source}, line {i}: counts must be finite and > 0, got {item}")
        out.append(value)
    arr = np.array(out)
    return arr.astype(np.int64) if np.all(arr == np.round(arr)) else arr


def from_file(path) -> np.ndarray:
    """Counts from a file: a text file with one count per line, or a ``.npy`` file of
    integer labels (one per sample; the counts are the occurrences of 0 .. max label,
    each of which must occur).

    Raises
    ------
    ValueError
        A bad line (named), labels that are not nonnegative integers, or a class with no
        sample.
    """
    path = os.fspath(path)
    name = os.path.basename(path)
    if path.endswith(".npy"):
        labels = np.load(path, allow_pickle=False)
        if labels.ndim != 1 or labels.size == 0 or labels.dtype.kind not in "iu":
            raise ValueError(
                f"{name}: a .npy counts file must hold a 1-D array of integer labels, got "
                f"an array of dtype {labels.dtype} and shape {labels.shape}"
            )
        if labels.min() < 0:
            raise ValueError(f"{name}: labels must be >= 0, got {int(labels.min())}")
        counts = np.bincount(labels)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            raise ValueError(
                f"{name}: classes {empty[:10].tolist()} have no sample (labels must use "
                f"every class 0..{counts.size - 1})"
            )
        return counts.astype(np.int64)
    with open(path, encoding="utf-8") as f:
        return parse_counts(f.read(), name)
