"""The optional C extensions of the solvers, and the switch that turns them off.

An extension is built where a C compiler is found at install time (``setup.py``; without
one the install goes on) and gives the bits of the pure-Python code it replaces, only
sooner. ``LPM_PURE_PYTHON=1`` in the environment, read once at import, runs the pure-Python
code instead (for tests and debugging).
"""

from __future__ import annotations

import importlib
import os
import pathlib
import warnings
import zlib
from collections.abc import Callable

#: whether ``LPM_PURE_PYTHON`` (set, and not "0") turns the extensions off
PURE_PYTHON = os.environ.get("LPM_PURE_PYTHON", "") not in ("", "0")


def load(name: str, agrees: Callable | None = None):
    """The extension module ``lpm.solvers.<name>``, or None: not built, turned off, or
    not to be trusted, with a warning that says why and how to rebuild (it does not
    import; it was built from another version of the source ``<name>.c`` found beside
    it, as in a checkout edited since its build; or ``agrees(module)``, the caller's
    check that it gives the Python route's bits, is false)."""
    if PURE_PYTHON:
        return None
    qualified = f"{__package__}.{name}"
    try:
        module = importlib.import_module(qualified)
    except ModuleNotFoundError as err:
        if err.name == qualified:  # not built: the Python route, silently
            return None
        return _distrust(name, f"it does not import ({err})")
    except ImportError as err:
        return _distrust(name, f"it does not import ({err})")
    source = pathlib.Path(__file__).with_name(f"{name}.c")
    if source.exists():  # a source checkout (an installed package has the module only)
        # (zlib: already loaded by numpy, where hashlib would add 2.5 ms to the import)
        digest = f"{zlib.crc32(source.read_bytes()):08x}"
        if getattr(module, "SOURCE_CRC32", None) != digest:
            return _distrust(name, f"it was built from another version of {source.name}")
    if agrees is not None and not agrees(module):
        return _distrust(name, "it does not give the bits of the Python route")
    return module


def _distrust(name: str, why: str) -> None:
    warnings.warn(
        f"lpm.solvers.{name} is not used: {why}; the pure-Python route runs instead (the "
        "same numbers, slower). Rebuild it with: pip install -e . (or python setup.py "
        "build_ext --inplace)",
        RuntimeWarning,
        stacklevel=3,
    )
    return None
