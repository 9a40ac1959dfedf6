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
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
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


def tolerance(name: str, value, high: float) -> float:
    """A relative accuracy: a real number in ``(0, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number in (0, {high:g}], got {value!r}")
    value = float(value)
    if not 0 < value <= high:  # False for NaN too
        raise ValueError(f"{name} must be a number in (0, {high:g}], got {value!r}")
    return value


def positive_real(name: str, value, *, allow_inf: bool = False) -> float:
    """A real number > 0; NaN is never allowed, +inf only when ``allow_inf``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
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
    """One of the strings ``allowed`` (anything else, a non-string too, is refused)."""
    if not (isinstance(value, str) and value in allowed):
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


def memory(shape: tuple[int, ...], what: str, limit: float | None, hint: str = "") -> None:
    """Raise ``MemoryError`` before allocating a float64 array of ``shape`` above ``limit``
    (``hint``: what to do instead; default: the grouped statistics)."""
    limit = DEFAULT_MEMORY_LIMIT if limit is None else memory_limit(limit)
    need = 8.0 * float(np.prod([float(n) for n in shape]))
    if need > limit:
        hint = hint or (
            "use the grouped statistics of the solution (group_geometry, minority_cosine, "
            "...) or pass a larger memory_limit"
        )
        raise MemoryError(
            f"{what} would be a {' x '.join(map(str, shape))} array of "
            f"{need / 1024**3:.3g} GiB, above the limit of {limit / 1024**3:.3g} GiB; {hint}"
        )


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
