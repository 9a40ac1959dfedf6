"""Atomic file output and plain-JSON conversion shared by tables, figures and the CLI.

Every file is written under a temporary name in its target directory and moved into
place with :func:`os.replace`, so a reader never sees a half-written file and an
interrupted run leaves the previous file intact.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np


def write_atomic(path, writer: Callable[[str], None]) -> Path:
    """Create ``path`` atomically: ``writer(tmp)`` writes a temporary file in the same
    directory, which then replaces ``path``. Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes the file private; publish it
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _read_umask() -> int:
    # os.umask can only be read by setting it: do that once, at import
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""

    def writer(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)

    return write_atomic(path, writer)


def plain(value):
    """A JSON-ready version of ``value``: numpy scalars and arrays become Python numbers
    and lists, NaN becomes ``None`` and an infinity the string ``"inf"`` / ``"-inf"``
    (strict JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    return value


def dumps(value, indent: int | None = 2) -> str:
    """Strict JSON text of ``value`` (see :func:`plain`)."""
    return json.dumps(plain(value), indent=indent, allow_nan=False)


def csv_cell(value) -> str:
    """One CSV field: floats in their shortest round-trip form (``repr``), so the file
    reads back to the same float64 numbers; ``None`` as an empty field."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    text = str(value)
    if any(c in text for c in ',"\n\r'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def to_accuracy(value: float, rtol: float) -> str:
    """``value`` with the significant digits a relative accuracy ``rtol`` supports (one
    more than ``-log10 rtol``: ``12.1924471`` for ``rtol = 1e-8``), not the 17 of its
    float representation."""
    if not math.isfinite(value):
        return repr(float(value))
    digits = max(2, math.ceil(-math.log10(rtol)) + 1)
    return f"{value:.{digits}g}"
