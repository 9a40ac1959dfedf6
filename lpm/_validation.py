"""Argument checks shared by the public API.

Every check raises ``ValueError`` with a message that names the argument, repeats the
value it was given and says what is allowed, so a user can fix the call from the message.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

#: no array of this many classes fits in any memory (8 TB of float64)
MAX_CLASSES = 2**40


def class_count(name: str, value, *, minimum: int = 1) -> int:
    """An integer number of classes, at least ``minimum`` (and below :data:`MAX_CLASSES`)."""
    # an int first: the ABC checks below cost a microsecond, a model is built in ten
    if type(value) is not int and (
        isinstance(value, bool) or not isinstance(value, numbers.Integral)
    ):
        if (
            isinstance(value, numbers.Real)
            and float(value).is_integer()
            and not isinstance(value, bool)
        ):
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    if value > MAX_CLASSES:
        raise ValueError(f"{name} must be an integer <= 2**40 (memory), got {value}")
    return value


def flag(name: str, value) -> bool:
    """``value`` as a bool: True or False (numpy's too), nothing else (an array's truth
    value, 0/1 or a string would be read silently)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def tolerance(name: str, value, high: float, low: float = 0.0) -> float:
    """A relative accuracy: a real number in ``(0, high]``, and at least ``low`` when given
    (an accuracy below what double precision resolves is refused, not run)."""
    allowed = f"(0, {high:g}]" + (f" and at least {low:g} (double precision)" if low else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number in {allowed}, got {value!r}")
    value = float(value)
    if not (0 < value <= high and value >= low):  # False for NaN too
        raise ValueError(f"{name} must be a number in {allowed}, got {value!r}")
    return value


#: the smallest relative accuracy a threshold may be asked for (double precision)
MIN_RTOL = 1e-15


def positive_real(name: str, value, *, allow_inf: bool = False) -> float:
    """A real number > 0; NaN is never allowed, +inf only when ``allow_inf``."""
    if type(value) is not float:  # a float first: no ABC check (see class_count)
        # numpy's float64 is a float too (no ABC check either), made a plain one
        if not isinstance(value, float) and (
            isinstance(value, bool) or not isinstance(value, numbers.Real)
        ):
            raise ValueError(f"{name} must be a real number > 0, got {value!r}")
        value = float(value)
    allowed = "a positive real number or inf" if allow_inf else "a finite real number > 0"
    if math.isnan(value):
        raise ValueError(f"{name} must be {allowed}, got nan")
    if math.isinf(value) and not (allow_inf and value > 0):
        raise ValueError(f"{name} must be {allowed}, got {value}")
    if value <= 0:
        raise ValueError(f"{name} must be {allowed}, got {value}")
    return value


def real_at_least(name: str, value, minimum: float) -> float:
    """A finite real number >= ``minimum``."""
    allowed = f"a finite real number >= {minimum:g}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < minimum:
        raise ValueError(f"{name} must be {allowed}, got {value}")
    return value


def positive_vector(name: str, values, *, allow_zero: bool = False) -> np.ndarray:
    """A non-empty 1-D array of finite positive (or, with ``allow_zero``, nonnegative) reals."""
    try:
        if np.asarray(values).dtype.kind not in "iuf":  # not strings, not booleans
            raise TypeError
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a 1-D sequence of positive numbers, got {values!r}"
        ) from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D sequence of positive numbers, "
            f"got an array of shape {arr.shape}"
        )
    bad = ~np.isfinite(arr) | ((arr < 0) if allow_zero else (arr <= 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "finite and >= 0" if allow_zero else "finite and > 0"
        raise ValueError(f"{name} must be {what} for every class; entry {i} is {arr[i]}")
    return arr


def real_vector(name: str, values) -> np.ndarray:
    """A non-empty 1-D array of finite reals."""
    try:
        if np.asarray(values).dtype.kind not in "iuf":  # not strings, not booleans
            raise TypeError
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-D sequence of real numbers, got {values!r}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D sequence of real numbers, got an array of "
            f"shape {arr.shape}"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be finite for every class; entry {i} is {arr[i]}")
    return arr


def feature_dimension(value, minimum: int, why: str) -> int:
    """The feature dimension p, at least ``minimum`` (``why`` explains the bound) and at
    most :data:`MAX_CLASSES`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"p must be an integer >= {minimum} ({why}), got {value!r}")
    if value < minimum:
        raise ValueError(f"p must be an integer >= {minimum} ({why}), got {value}")
    if value > MAX_CLASSES:
        raise ValueError(f"p must be an integer <= 2**40 (memory), got {value}")
    return int(value)


def choice(name: str, value, allowed) -> str:
    """One of ``allowed``: strings compared as strings, anything else (``None``) by
    identity, so that no number or other type slips through by comparing equal."""
    if type(value) is str and value in allowed:  # the usual case, without a generator
        return value
    if not any(value is a or (isinstance(value, str) and value == a) for a in allowed):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def solver_options(method: str, options: dict | None, allowed) -> dict:
    """A copy of ``options`` whose keys are all among ``allowed`` (a method's own
    solver settings)."""
    options = mapping("solver_options", options)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"solver_options for method={method!r} must be among {sorted(allowed)}, got {unknown}"
        )
    return options


#: refuse to build K x p arrays larger than this many bytes (override per call)
DEFAULT_MEMORY_LIMIT = 2 * 1024**3


class TooLarge(ValueError, MemoryError):
    """A request refused before any work because it would not fit: a ``ValueError`` (the
    argument is too large) and a ``MemoryError`` (what it would have run into)."""


#: the most points a grid (a sweep, a phase diagram, a Theorem-5 grid) may have: a sweep
#: holds one row of a few hundred bytes per point and solves about ten thousand a second
MAX_GRID_POINTS = 10**6


def value_count(name: str, value) -> int:
    """How many values a grid argument holds (1 for a scalar), without building it; a
    ragged or nested sequence is refused, naming ``name``."""
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be a number or a sequence of numbers, got {value!r}")
    try:
        return max(int(np.size(value)), 1)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a number or a 1-D sequence of numbers, got {value!r:.60}"
        ) from None


def grid_size(what: str, counts: dict, limit: int | None = None) -> int:
    """The number of points of a grid of ``counts`` (name -> number of values), refused
    (ValueError) above ``limit`` (default :data:`MAX_GRID_POINTS`) before anything is
    built."""
    limit = MAX_GRID_POINTS if limit is None else limit
    total = math.prod(int(n) for n in counts.values())
    if total > limit:
        parts = " x ".join(f"{n:,} {name}" for name, n in counts.items() if n != 1) or "1"
        raise ValueError(
            f"{what} would have {total:,} points ({parts}), more than the limit of "
            f"{limit:,}; split it into smaller grids"
        )
    return total


def memory(shape: tuple[int, ...], what: str, limit: float | None, hint: str = "") -> None:
    """Raise :class:`TooLarge` (a ``MemoryError`` and a ``ValueError``) before allocating a
    float64 array of ``shape`` above ``limit`` (``hint``: what to do instead; default: the
    grouped statistics)."""
    limit = DEFAULT_MEMORY_LIMIT if limit is None else memory_limit(limit)
    need = 8.0 * float(np.prod([float(n) for n in shape]))
    if need > limit:
        hint = hint or (
            "use the grouped statistics of the solution (group_geometry, minority_cosine, "
            "...) or pass a larger memory_limit"
        )
        raise TooLarge(
            f"{what} would be a {' x '.join(map(str, shape))} array of "
            f"{need / 1024**3:.3g} GiB, above the limit of {limit / 1024**3:.3g} GiB; {hint}"
        )


def class_subset(name: str, value, K: int) -> np.ndarray:
    """A set of classes: integer indices in ``[0, K)`` or a boolean mask of ``K`` entries.

    Returns the indices sorted, as ``intp``. A mask is read as a mask (``True`` marks a
    member); indices must be integers (not floats, not booleans in a list of another
    length), each in range (a negative index is refused, not counted from the end) and
    each given once (a repeated class would make a set look collapsed).
    """
    allowed = f"a list of integer class indices in [0, {K}) or a boolean mask of {K} entries"
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be {allowed}, got {value!r}") from None
    if arr.dtype == bool:
        if arr.shape != (K,):
            raise ValueError(
                f"{name} as a boolean mask must have one entry per class ({K}), got "
                f"shape {arr.shape}"
            )
        return np.flatnonzero(arr)
    if arr.size == 0 and arr.ndim <= 1:  # [] and () come out as float arrays
        return np.zeros(0, dtype=np.intp)
    if arr.ndim > 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    arr = arr.reshape(-1)
    bad = arr[(arr < 0) | (arr >= K)]
    if bad.size:
        raise ValueError(
            f"{name} indices must lie in [0, {K}) (negative indices do not count from the "
            f"end), got {sorted(set(bad.tolist()))}"
        )
    arr = arr.astype(np.intp)
    unique, times = np.unique(arr, return_counts=True)
    if unique.size < arr.size:
        raise ValueError(
            f"{name} must name each class once; classes {unique[times > 1].tolist()} repeat"
        )
    return unique


def labels(name: str, value, n: int, K: int | None = None) -> np.ndarray:
    """``n`` class labels: a 1-D array of nonnegative integers of any integer dtype (below
    ``K`` when given), returned as ``intp``."""
    what = f"a 1-D array of nonnegative integers, one per row of features ({n})"
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be {what}, got {value!r:.80}") from None
    if (
        arr.shape != (n,)
        or arr.dtype == bool
        or not np.issubdtype(arr.dtype, np.integer)
        or (n and arr.min() < 0)
    ):
        raise ValueError(f"{name} must be {what}, got {value!r:.80}")
    if K is not None and n and arr.max() >= K:
        raise ValueError(
            f"{name} must lie in [0, {K}) ({K} classes), got the label {int(arr.max())}"
        )
    return arr.astype(np.intp)


def real_matrix(name: str, value, rows: str = "one row per class") -> np.ndarray:
    """A non-empty, finite 2-D array of reals, as float64: numpy arrays of any real dtype
    and anything with ``__array__`` (e.g. a torch tensor on the CPU). ``rows`` says what
    the rows are, for the message."""
    what = f"a 2-D array of real numbers with {rows}"
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as exc:  # e.g. a tensor that needs grad
        raise ValueError(f"{name} must be {what}: {exc}") from None
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be {what}, got dtype {arr.dtype}")
    if arr.ndim != 2 or 0 in arr.shape:
        raise ValueError(f"{name} must be {what}, got shape {arr.shape}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        i, j = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} must be finite; entry ({i}, {j}) is {arr[i, j]}")
    return arr


def memory_limit(value) -> float | None:
    """A memory limit in bytes: None (the default limit) or a real number > 0 (inf for
    none)."""
    if value is None:
        return None
    return positive_real("memory_limit", value, allow_inf=True)


def mapping(name: str, value) -> dict:
    """A copy of a dict of keyword arguments (None: empty), with string keys."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"{name} must be a dict of keyword arguments (or None), got {value!r:.80}")
    return dict(value)


def solver_name(value) -> str | None:
    """A solver's name: None (the method's default) or a non-empty string."""
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise ValueError(
            f"solver must be the name of a solver (a non-empty string such as 'SCS') or "
            f"None for the method's default, got {value!r}"
        )
    return value


def instance(name: str, value, cls, what: str):
    """``value`` itself when it is a ``cls`` (``what`` names the type in the message)."""
    if not isinstance(value, cls):
        raise ValueError(f"{name} must be {what}, got {type(value).__name__} {value!r:.60}")
    return value


def product_text(a: float, b: float) -> str:
    """``a * b`` for a message, also where the product over- or underflows."""
    product = a * b
    if product == 0 or math.isinf(product):
        exponent = math.log10(a) + math.log10(b)
        return f"about 1e{exponent:+.0f}"
    return f"{product:g}"


def real_array(name: str, value) -> np.ndarray:
    """``value`` as a float array; anything that is not an array of real numbers (text,
    complex numbers, booleans, objects, ragged lists) is refused, naming ``name``."""
    try:
        if np.asarray(value).dtype.kind not in "iuf":
            raise TypeError
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of real numbers, got {value!r:.80}") from None


def values(name: str, value) -> list:
    """A number or a 1-D sequence of numbers as a non-empty list of Python scalars (the
    checks of each value are the caller's)."""
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be a number or a sequence of numbers, got {value!r}")
    try:
        ndim = np.ndim(value)
    except ValueError:  # a ragged nested sequence
        ndim = -1
    if ndim == 0:
        out = [value]
    elif ndim == 1:
        out = list(value)
    else:
        raise ValueError(
            f"{name} must be a number or a 1-D sequence of numbers, got "
            + (f"an array of shape {np.shape(value)}" if ndim > 1 else f"{value!r:.60}")
        )
    if not out:
        raise ValueError(f"{name} must have at least one value, got an empty sequence")
    return [v.item() if isinstance(v, np.generic) else v for v in out]
