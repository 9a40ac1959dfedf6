"""Argument types and option groups of the command line."""

from __future__ import annotations

import argparse
import math
import re

import numpy as np

from .._validation import MAX_GRID_POINTS
from ..model.losses import LOSS_NAMES
from ..solvers.dispatch import METHODS

#: the paper's Figure-3 setting, the default of every model option
PAPER = {"K_A": 5, "K_B": 5, "E_W": 1.0, "E_H": 5.0}


class UsageError(Exception):
    """A bad command line: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # a value that starts with "-" and a digit, a point or inf/nan is a (negative)
        # number or grid, not an option: "--R -1,1" reaches the checks of --R, which say
        # what is allowed (argparse alone accepts only "-1" and "-1.5")
        self._negative_number_matcher = NEGATIVE_VALUE

    def error(self, message):  # argparse would print the usage block; one line instead
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


NEGATIVE_VALUE = re.compile(r"^-(\d|\.\d|inf|nan)", re.IGNORECASE)


# -- argument types ----------------------------------------------------------------------
def number(text: str, integer: bool = False):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if integer:
        if not value.is_integer():
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}")
        return int(value)
    return value


def parse_grid(text: str, integer: bool = False) -> list:
    """Values of a grid option: ``"a,b,c"`` (a list), ``"a:b:n"`` (``n`` geometrically
    spaced values from ``a`` to ``b``, both included) or, for integer options, ``"a:b"``
    (every integer from ``a`` to ``b``)."""
    text = text.strip()
    if ":" not in text:
        return [number(t, integer) for t in text.split(",") if t.strip()] or _empty(text)
    parts = text.split(":")
    if integer:
        if len(parts) != 2:
            raise argparse.ArgumentTypeError(f"an integer range is FIRST:LAST, got {text!r}")
        lo, hi = (number(p, True) for p in parts)
        if hi < lo:
            raise argparse.ArgumentTypeError(f"empty range {text!r}: LAST is below FIRST")
        _within_limit(hi - lo + 1, text)
        return list(range(lo, hi + 1))
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(
            f"a grid is START:STOP:COUNT (geometric spacing), got {text!r}"
        )
    lo, hi, n = number(parts[0]), number(parts[1]), number(parts[2], True)
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        raise argparse.ArgumentTypeError(f"START and STOP must be finite and > 0, got {text!r}")
    if n < 1:
        raise argparse.ArgumentTypeError(f"COUNT must be >= 1, got {text!r}")
    _within_limit(n, text)
    if n == 1:
        return [lo]
    return [float(v) for v in np.geomspace(lo, hi, n)]


def _within_limit(count: int, text: str) -> None:
    """A grid option of more values than a grid may have points is refused here, before
    its values are made (``1:10:1e9`` would take 8 GB to list)."""
    if count > MAX_GRID_POINTS:
        raise argparse.ArgumentTypeError(
            f"{text!r} asks for {count:,} values, more than the limit of {MAX_GRID_POINTS:,} "
            f"points of a grid"
        )


def _empty(text):
    raise argparse.ArgumentTypeError(f"no values in {text!r}")


def real_grid(text):
    return parse_grid(text)


def int_grid(text):
    return parse_grid(text, integer=True)


def integer(text):
    return number(text, integer=True)


def pairs(text: str) -> list[tuple[int, int]]:
    out = []
    for item in text.split(","):
        parts = item.strip().split("/")
        if len(parts) != 2:
            raise argparse.ArgumentTypeError(
                f"class settings are K_A/K_B pairs separated by commas, got {text!r}"
            )
        out.append((integer(parts[0]), integer(parts[1])))
    return out


# -- the parser --------------------------------------------------------------------------
def model_options(
    p, grids: bool = False, R: bool = True, oversample: bool = True, unset: bool = False
) -> None:
    """The model's options; ``unset``: the two-group ones default to None (filled in by
    the command, which can then tell whether they were given)."""
    real = real_grid if grids else number
    whole = int_grid if grids else integer
    g = p.add_argument_group("model (default: the paper's Figure-3 setting)")

    def default(value):
        return None if unset else [value] if grids else value

    g.add_argument("--K_A", type=whole, default=default(5), help="majority classes (5)")
    g.add_argument("--K_B", type=whole, default=default(5), help="minority classes (5)")
    if R:
        g.add_argument(
            "--R",
            type=real,
            default=parse_grid("1:1e4:41") if grids else None,
            help="imbalance ratio n_A/n_B" + (" (1:1e4:41)" if grids else "; inf allowed"),
        )
    g.add_argument(
        "--E_W", type=real, default=[1.0] if grids else 1.0, help="classifier budget (1)"
    )
    g.add_argument("--E_H", type=real, default=None if grids else 5.0, help="feature budget (5)")
    if grids:
        g.add_argument("--EWEH", type=real, help="the product E_W E_H instead of --E_H")
    if oversample:
        g.add_argument(
            "--oversample",
            type=real,
            default=default(1.0),
            help="minority oversampling factor w_r (1)",
        )
    g.add_argument(
        "--loss",
        default="ce",
        choices=LOSS_NAMES,
        help="loss (ce; logit_adjusted, cdt, vs, ldam at their papers' parameters)",
    )


def solver_options(p) -> None:
    p.add_argument("--method", default="auto", choices=METHODS, help="solution method (auto)")
    p.add_argument("--solver", help="conic solver for --method nuclear/sdp (SCS, CLARABEL)")


def output_options(
    p, default_out: str | None = None, writes: str = "CSV, JSON and a figure (PNG, PDF)"
) -> None:
    """``--out DIR`` (``writes``: what the command puts there) and ``--json``."""
    p.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help=f"write {writes} into DIR, created if needed"
        + (f" (default: ./{default_out})" if default_out else ""),
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")


GRID_HELP_SHORT = "a list (1,5,10) or START:STOP:COUNT (geometric)"

GRID_HELP = (
    "Grid options take a value, a list (1,5,10), a geometric grid START:STOP:COUNT "
    "(1:1e4:41), or for class counts an integer range FIRST:LAST (2:6)."
)
