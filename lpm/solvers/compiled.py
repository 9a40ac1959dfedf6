"""The optional C extensions of the solvers, and the switch that turns them off.

An extension is built where a C compiler is found at install time (``setup.py``; without
one the install goes on) and gives the bits of the pure-Python code it replaces, only
sooner. ``LPM_PURE_PYTHON=1`` in the environment, read once at import, runs the pure-Python
code instead (for tests and debugging).
"""

from __future__ import annotations

import importlib
import os

#: whether ``LPM_PURE_PYTHON`` (set, and not "0") turns the extensions off
PURE_PYTHON = os.environ.get("LPM_PURE_PYTHON", "") not in ("", "0")


def load(name: str):
    """The extension module ``lpm.solvers.<name>``, or None (not built, or turned off)."""
    if PURE_PYTHON:
        return None
    try:
        return importlib.import_module(f"{__package__}.{name}")
    except ImportError:
        return None
