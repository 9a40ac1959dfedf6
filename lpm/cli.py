"""The ``lpm`` command line (also ``python -m lpm``).

Subcommands: ``solve``, ``curve``, ``threshold``, ``phase``, ``verify`` and
``reproduce fig3``; ``lpm COMMAND --help`` shows each one's options and an example.
``--out DIR`` writes CSV, JSON and figures (PNG and PDF), each file atomically;
``--json`` prints machine-readable output on stdout. A bad argument (or a value the
library rejects) gives a one-line error and exit status 2; a solver failure exit status
1; ``verify`` also exits with 1 when the check fails.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import _io

#: the paper's Figure-3 setting, the default of every model option
PAPER = {"K_A": 5, "K_B": 5, "E_W": 1.0, "E_H": 5.0}


class UsageError(Exception):
    """A bad command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print the usage block; one line instead
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


# -- argument types ----------------------------------------------------------------------
def _number(text: str, integer: bool = False):
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
        return [_number(t, integer) for t in text.split(",") if t.strip()] or _empty(text)
    parts = text.split(":")
    if integer:
        if len(parts) != 2:
            raise argparse.ArgumentTypeError(f"an integer range is FIRST:LAST, got {text!r}")
        lo, hi = (_number(p, True) for p in parts)
        if hi < lo:
            raise argparse.ArgumentTypeError(f"empty range {text!r}: LAST is below FIRST")
        return list(range(lo, hi + 1))
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(
            f"a grid is START:STOP:COUNT (geometric spacing), got {text!r}"
        )
    lo, hi, n = _number(parts[0]), _number(parts[1]), _number(parts[2], True)
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        raise argparse.ArgumentTypeError(f"START and STOP must be finite and > 0, got {text!r}")
    if n < 1:
        raise argparse.ArgumentTypeError(f"COUNT must be >= 1, got {text!r}")
    if n == 1:
        return [lo]
    return [float(v) for v in np.geomspace(lo, hi, n)]


def _empty(text):
    raise argparse.ArgumentTypeError(f"no values in {text!r}")


def _real_grid(text):
    return parse_grid(text)


def _int_grid(text):
    return parse_grid(text, integer=True)


def _int(text):
    return _number(text, integer=True)


def _pairs(text: str) -> list[tuple[int, int]]:
    out = []
    for item in text.split(","):
        parts = item.strip().split("/")
        if len(parts) != 2:
            raise argparse.ArgumentTypeError(
                f"class settings are K_A/K_B pairs separated by commas, got {text!r}"
            )
        out.append((_int(parts[0]), _int(parts[1])))
    return out


# -- output helpers ----------------------------------------------------------------------
def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, float):
        return f"{v:.10g}" if abs(v) >= 1e-3 or v == 0 or not math.isfinite(v) else f"{v:.3e}"
    return str(v)


def _print_table(rows: Sequence[dict], columns: Sequence[str], file=None) -> None:
    file = file or sys.stdout
    cells = [[_fmt(r[c]) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths)), file=file)
    for row in cells:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths)), file=file)


class _Output:
    """Collects the files a command writes under ``--out`` and reports them."""

    def __init__(self, args):
        self.dir = _out_dir(args)
        self.json = args.json
        self.files: list[str] = []

    def table(self, table, stem: str) -> None:
        if self.dir is None:
            return
        table.to_csv(self.dir / f"{stem}.csv")
        table.to_json(self.dir / f"{stem}.json")
        self.files += [str(self.dir / f"{stem}.csv"), str(self.dir / f"{stem}.json")]

    def json_file(self, data, stem: str) -> None:
        if self.dir is None:
            return
        _io.write_text(self.dir / f"{stem}.json", _io.dumps(data) + "\n")
        self.files.append(str(self.dir / f"{stem}.json"))

    def figure(self, make, stem: str) -> None:
        if self.dir is None:
            return
        from .plotting import save_figure

        self.files += [str(p) for p in save_figure(make(), self.dir, stem)]

    def done(self, payload: dict) -> None:
        """Print the JSON payload (with the files) or list the files written."""
        if self.json:
            if self.files:
                payload = {**payload, "files": self.files}
            print(_io.dumps(payload))
        elif self.files:
            print(f"wrote {len(self.files)} files to {self.dir}/:")
            for f in self.files:
                print(f"  {f}")


def _out_dir(args) -> Path | None:
    """The ``--out`` directory, created; a path that cannot be one is a usage error
    (checked before any solving, so nothing is computed for nothing)."""
    out = getattr(args, "out", None)
    if out is None:
        return None
    if not out.strip():
        raise UsageError(f"lpm {args.command}: error: --out needs a directory name")
    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"lpm {args.command}: error: --out {out}: cannot create the directory "
            f"({exc.strerror or exc})"
        ) from None
    return path


#: ``lpm solve`` puts W, H and the cosine matrix into its JSON up to this many classes
#: (beyond, they are K x K arrays of no use on a terminal; the Python API has them)
MAX_K_ARRAYS = 1000


# -- commands ----------------------------------------------------------------------------
def _executor(args):
    if getattr(args, "workers", 1) and args.workers > 1:
        import concurrent.futures

        return concurrent.futures.ProcessPoolExecutor(max_workers=args.workers)
    return None


def cmd_solve(args) -> int:
    import lpm

    from .curves import solution_row as row_of

    if args.counts is not None:
        two_group = ("K_A", "K_B", "R", "oversample")
        given = [f"--{k}" for k in two_group if getattr(args, k) is not None]
        if given:
            raise UsageError(
                f"lpm solve: error: --counts replaces {', '.join(given)}; give one or the "
                f"other (see 'lpm solve --help')"
            )
    elif args.R is None:
        raise UsageError("lpm solve: error: give --R (or --counts) (see 'lpm solve --help')")
    out = _Output(args)  # after the usage checks, before solving
    if args.counts is not None:
        sol = lpm.solve_counts(
            args.counts,
            args.E_W,
            args.E_H,
            method=args.method,
            solver=args.solver,
            loss=args.loss,
            p=len(args.counts) if args.p is None else args.p,
        )
        params = {"counts": args.counts, "E_W": args.E_W, "E_H": args.E_H}
    else:
        args.K_A = PAPER["K_A"] if args.K_A is None else args.K_A
        args.K_B = PAPER["K_B"] if args.K_B is None else args.K_B
        args.oversample = 1.0 if args.oversample is None else args.oversample
        sol = lpm.solve(
            args.K_A,
            args.K_B,
            args.R,
            args.E_W,
            args.E_H,
            method=args.method,
            solver=args.solver,
            loss=args.loss,
            oversample=args.oversample,
            p=args.K_A + args.K_B if args.p is None else args.p,
        )
        params = {
            "K_A": args.K_A,
            "K_B": args.K_B,
            "R": args.R,
            "E_W": args.E_W,
            "E_H": args.E_H,
            "oversample": args.oversample,
        }
    row = {**params, **row_of(sol)}
    if out.dir is not None:
        from .curves import SweepTable

        flat = {k: (",".join(map(_fmt, v)) if isinstance(v, list) else v) for k, v in row.items()}
        SweepTable([flat], tuple(flat)).to_csv(out.dir / "solution.csv")
        out.files.append(str(out.dir / "solution.csv"))
    data = {"parameters": params, "solution": row_of(sol), "message": sol.message}
    arrays = sol.model.K <= MAX_K_ARRAYS
    if arrays and (args.json or out.dir is not None):  # K x K arrays: only when written
        with np.errstate(invalid="ignore", divide="ignore"):
            data.update(W=sol.W, H=sol.H, classifier_cosines=sol.classifier_cosines())
    elif not arrays:
        data["arrays"] = f"W, H and the cosines are omitted for K > {MAX_K_ARRAYS}"
    out.json_file(data, "solution")
    if arrays:
        from .plotting import geometry_figure

        out.figure(lambda: geometry_figure(sol), "geometry")
    if args.json:
        out.done(data)
        return 0 if sol.success else 1
    print(sol.model.program())
    r = data["solution"]
    for key in (
        "objective",
        "gap",
        "status",
        "method",
        "solver",
        "minority_cosine",
        "majority_cosine",
        "minority_within",
        "minority_collapsed",
        "time",
    ):
        print(f"  {key:<20} {_fmt(r[key])}")
    out.done(data)
    return 0 if sol.success else 1


def _model_grid_args(args) -> dict:
    kw = {
        "K_A": args.K_A,
        "K_B": args.K_B,
        "R": args.R,
        "E_W": args.E_W,
        "oversample": args.oversample,
    }
    if args.EWEH is not None:
        if args.E_H is not None:
            raise UsageError(
                "lpm curve: error: give --E_H or --EWEH, not both (see 'lpm curve --help')"
            )
        kw["EWEH"] = args.EWEH
    else:
        kw["E_H"] = args.E_H if args.E_H is not None else [PAPER["E_H"]]
    return kw


def cmd_curve(args) -> int:
    from .curves import sweep
    from .plotting import curve_figure

    kw = _model_grid_args(args)
    if args.y not in NUMERIC_COLUMNS:
        raise UsageError(
            f"lpm curve: error: --y must be a numeric column: {', '.join(NUMERIC_COLUMNS)}"
        )
    swept = [c for c in ("R", "EWEH", "E_H", "E_W", "oversample", "K_A", "K_B") if _many(kw, c)]
    if not swept:
        raise UsageError(
            "lpm curve: error: give a grid (e.g. --R 1:1e4:41) for at least one parameter "
            "(see 'lpm curve --help')"
        )
    if args.x is not None and args.x not in swept:
        raise UsageError(
            f"lpm curve: error: --x {args.x} is not swept (one value); swept: {', '.join(swept)}"
        )
    x = args.x or swept[0]
    out = _Output(args)
    executor = _executor(args)
    try:
        table = sweep(
            loss=args.loss, method=args.method, solver=args.solver, executor=executor, **kw
        )
    finally:
        if executor is not None:
            executor.shutdown()
    out.table(table, "curve")
    out.figure(lambda: curve_figure(table, x, args.y), "curve")
    if args.json:
        out.done({"x": x, "y": args.y, **_table_payload(table)})
        return 0 if all(table["success"]) else 1
    shown = [c for c in table.swept if c != "K"] or ["R"]
    cols = shown + [args.y] + [c for c in ("minority_collapsed", "gap", "status") if c != args.y]
    _print_table(table.rows, cols)
    out.done({})
    return 0 if all(table["success"]) else 1


#: result columns ``lpm curve --y`` can plot
NUMERIC_COLUMNS = (
    "minority_cosine",
    "majority_cosine",
    "minority_within",
    "minority_distance",
    "objective",
    "gap",
    "multiplier",
    "iterations",
    "time",
)


def _many(kw: dict, name: str) -> bool:
    """Whether a grid option holds more than one distinct value."""
    return name in kw and kw[name] is not None and len(set(kw[name])) > 1


def _table_payload(table) -> dict:
    return {"swept": list(table.swept), "settings": table.settings, "rows": table.to_records()}


def cmd_threshold(args) -> int:
    import lpm

    out = _Output(args)
    R0 = lpm.collapse_threshold(
        args.K_A, args.K_B, args.E_W, args.E_H, rtol=args.rtol, loss=args.loss
    )
    data = {
        "K_A": args.K_A,
        "K_B": args.K_B,
        "E_W": args.E_W,
        "E_H": args.E_H,
        "loss": args.loss,
        "rtol": args.rtol,
        "R0": R0,
    }
    if out.dir is not None:
        from .curves import SweepTable

        SweepTable([data], tuple(data)).to_csv(out.dir / "threshold.csv")
        out.files.append(str(out.dir / "threshold.csv"))
    out.json_file(data, "threshold")
    if args.json:
        out.done(data)
        return 0
    print(
        f"R_0 = {R0!r}  (K_A={args.K_A}, K_B={args.K_B}, E_W={args.E_W:g}, E_H={args.E_H:g}): "
        f"the minority classifiers are exactly equal iff R >= R_0"
    )
    out.done(data)
    return 0


def cmd_phase(args) -> int:
    from .phase import phase_diagram
    from .plotting import phase_figure

    out = _Output(args)
    executor = _executor(args)
    try:
        table = phase_diagram(args.classes, args.EWEH, loss=args.loss, executor=executor)
    finally:
        if executor is not None:
            executor.shutdown()
    out.table(table, "phase")
    out.figure(lambda: phase_figure(table), "phase")
    if args.json:
        out.done(_table_payload(table))
        return 0
    _print_table(table.rows, ["K_A", "K_B", "EWEH", "R0"])
    out.done({})
    return 0


def cmd_verify(args) -> int:
    from .verify import verify_minority_collapse

    out = _Output(args)
    check = verify_minority_collapse(args.K_A, args.K_B, args.E_W, args.E_H, args.R, loss=args.loss)
    table = check.table()
    out.table(table, "verify")
    out.figure(check.plot, "verify")
    if args.json:
        out.done({**check.summary(), "rows": table.to_records()})
        return 0 if check.holds else 1
    _print_table(
        table.rows,
        ["R", "above_threshold", "minority_collapsed", "max_distance", "distance_to_limit", "gap"],
    )
    print()
    print(check.verdict)
    out.done({})
    return 0 if check.holds else 1


def cmd_reproduce(args) -> int:
    import lpm

    from .curves import FIGURE3, figure3_table
    from .plotting import minority_cosine_figure

    args.out = "lpm-fig3" if args.out is None else args.out
    out = _Output(args)
    table = figure3_table(args.method, solver=args.solver)
    R0 = lpm.collapse_threshold(FIGURE3["K_A"], FIGURE3["K_B"], FIGURE3["E_W"], FIGURE3["E_H"])
    out.table(table, "figure3")
    out.figure(lambda: minority_cosine_figure(table), "figure3")
    cos = table["minority_cosine"]
    summary = {
        "figure": "fig3",
        "setting": "K=10, K_A=5, K_B=5, E_W=1, E_H=5, R=10^(0.1 i), i=0..40",
        "method": args.method,
        "R0": R0,
        "first_cosine": float(cos[0]),
        "last_cosine": float(cos[-1]),
        "max_gap": float(np.max(table["gap"])),
    }
    if args.json:
        out.done({**summary, "rows": table.to_records()})
        return 0 if all(table["success"]) else 1
    print(
        f"Figure 3 of Fang et al. (2021), K=10 (K_A=5, K_B=5), E_W=1, E_H=5, "
        f"R=10^(0.1 i), i=0..40, method {args.method}:"
    )
    print(
        f"  minority cosine {float(cos[0]):.15g} at R=1 (simplex ETF: -1/9) to "
        f"{float(cos[-1]):.15g} at R=1e4; "
        f"exact collapse from R_0 = {R0:.10g}; largest certified gap {summary['max_gap']:.2g}"
    )
    out.done(summary)
    return 0 if all(table["success"]) else 1


# -- the parser --------------------------------------------------------------------------
def _model_options(
    p, grids: bool = False, R: bool = True, oversample: bool = True, unset: bool = False
) -> None:
    """The model's options; ``unset``: the two-group ones default to None (filled in by
    the command, which can then tell whether they were given)."""
    real = _real_grid if grids else _number
    integer = _int_grid if grids else _int
    g = p.add_argument_group("model (default: the paper's Figure-3 setting)")

    def default(value):
        return None if unset else [value] if grids else value

    g.add_argument("--K_A", type=integer, default=default(5), help="majority classes (5)")
    g.add_argument("--K_B", type=integer, default=default(5), help="minority classes (5)")
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
        choices=["ce", "label_smoothing", "squared", "squared_centered"],
        help="loss (ce)",
    )


def _solver_options(p) -> None:
    from .solve import METHODS

    p.add_argument("--method", default="auto", choices=METHODS, help="solution method (auto)")
    p.add_argument("--solver", help="conic solver for --method nuclear/sdp (SCS, CLARABEL)")


def _output_options(p, default_out: str | None = None) -> None:
    p.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="write CSV, JSON and figures (PNG, PDF) into DIR"
        + (f" (default: ./{default_out})" if default_out else ""),
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")


GRID_HELP = (
    "Grid options take a value, a list (1,5,10), a geometric grid START:STOP:COUNT "
    "(1:1e4:41), or for class counts an integer range FIRST:LAST (2:6)."
)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="lpm",
        description="The Layer-Peeled Model solved exactly, with a certificate on every answer.",
        epilog="example:\n  lpm reproduce fig3          # the paper's Figure 3 into ./lpm-fig3\n"
        "  lpm solve --R 100           # one model, K_A = K_B = 5, E_W = 1, E_H = 5",
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"lpm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "solve",
        help="solve one model",
        formatter_class=fmt,
        description="Solve the two-group model (or the model of given class counts) and "
        "print the objective, its certified gap and the minority geometry.",
        epilog="examples:\n  lpm solve --K_A 5 --K_B 5 --R 100 --E_W 1 --E_H 5\n"
        "  lpm solve --counts 500,500,100,20,20 --json\n"
        "  lpm solve --R 30 --method sdp --out run1",
    )
    _model_options(p, unset=True)
    p.add_argument(
        "--counts", type=_real_grid, help="per-class sample counts instead of K_A, K_B, R"
    )
    p.add_argument(
        "--p",
        type=_int,
        help=f"columns of W and H in the output (default K; arrays only for K <= {MAX_K_ARRAYS})",
    )
    _solver_options(p)
    _output_options(p)
    p.set_defaults(run=cmd_solve)

    p = sub.add_parser(
        "curve",
        help="sweep parameters, plot a column against one of them",
        formatter_class=fmt,
        description="Solve the two-group model on the grid of every parameter given as a "
        "grid and plot --y against --x (one curve per value of the others). " + GRID_HELP,
        epilog="examples:\n  lpm curve --R 1:1e4:41 --E_H 1,5,10 --out curves\n"
        "  lpm curve --R 1000 --oversample 1:1000:31 --y minority_cosine\n"
        "  lpm curve --R 100 --EWEH 0.1:10:21 --json",
    )
    _model_options(p, grids=True)
    p.add_argument("--x", choices=["R", "E_W", "E_H", "EWEH", "oversample", "K_A", "K_B"])
    p.add_argument("--y", default="minority_cosine", help="column to plot (minority_cosine)")
    p.add_argument("--workers", type=_int, default=1, help="solve in N processes (1)")
    _solver_options(p)
    _output_options(p)
    p.set_defaults(run=cmd_curve)

    p = sub.add_parser(
        "threshold",
        help="the imbalance R_0 from which the minority collapses",
        formatter_class=fmt,
        description="Compute R_0(K_A, K_B, E_W E_H): the minority classifiers are exactly "
        "equal at the optimum iff R >= R_0.",
        epilog="example:\n  lpm threshold --K_A 5 --K_B 5 --E_W 1 --E_H 5   # R_0 = 12.1924...",
    )
    _model_options(p, R=False, oversample=False)
    p.add_argument("--rtol", type=_number, default=1e-8, help="relative accuracy (1e-8)")
    _output_options(p)
    p.set_defaults(run=cmd_threshold)

    p = sub.add_parser(
        "phase",
        help="phase diagram: R_0 against E_W E_H",
        formatter_class=fmt,
        description="The threshold R_0 over a grid of E_W E_H for several (K_A, K_B).",
        epilog="example:\n  lpm phase --classes 5/5,2/8,8/2 --EWEH 0.1:10:21 --out phase",
    )
    p.add_argument(
        "--classes",
        type=_pairs,
        default=[(5, 5), (2, 8), (8, 2), (10, 10)],
        help="K_A/K_B pairs (5/5,2/8,8/2,10/10)",
    )
    p.add_argument("--EWEH", type=_real_grid, default=parse_grid("0.1:100:31"), help="(0.1:100:31)")
    p.add_argument("--loss", default="ce", choices=["ce", "label_smoothing"], help="loss (ce)")
    p.add_argument("--workers", type=_int, default=1, help="compute in N processes (1)")
    _output_options(p)
    p.set_defaults(run=cmd_phase)

    p = sub.add_parser(
        "verify",
        help="check Theorem 5 (Minority Collapse), sharply",
        formatter_class=fmt,
        description="Solve on a grid of R and at R = inf; check that the minority classifiers "
        "are exactly equal for every R >= R_0, distinct and approaching each other below, "
        "and that the solution tends to the R = inf one. Exit status 1 if a check fails.",
        epilog="example:\n  lpm verify --K_A 5 --K_B 5 --E_W 1 --E_H 5 --out thm5",
    )
    _model_options(p, R=False, oversample=False)
    p.add_argument(
        "--R", type=_real_grid, default=None, help="grid of R (default: 10^(0.1 i) past R_0)"
    )
    _output_options(p)
    p.set_defaults(run=cmd_verify)

    p = sub.add_parser(
        "reproduce",
        help="reproduce a figure of the paper (fig3)",
        formatter_class=fmt,
        description="Recompute a figure of Fang, He, Long, Su (PNAS 2021). fig3: the mean "
        "cosine of the minority classifiers against R, K = 10 (K_A = K_B = 5), E_W = 1, "
        "E_H = 5, R = 10^(0.1 i), i = 0..40. Writes figure3.png, figure3.pdf, figure3.csv "
        "and figure3.json.",
        epilog="examples:\n  lpm reproduce fig3\n  lpm reproduce fig3 --out paper/figs\n"
        "  lpm reproduce fig3 --method sdp --out fig3-sdp   # the paper's own SDP (slower)",
    )
    p.add_argument("figure", choices=["fig3"], help="which figure")
    p.add_argument("--method", default="reduced", choices=["reduced", "nuclear", "sdp"])
    p.add_argument("--solver", help="conic solver for --method nuclear/sdp")
    _output_options(p, default_out="lpm-fig3")
    p.set_defaults(run=cmd_reproduce)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    from .solution import SolverError

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError(
                "lpm: error: give a command: solve, curve, threshold, phase, verify or "
                "reproduce (see 'lpm --help')"
            )
        if getattr(args, "workers", 1) < 1:
            raise UsageError(f"lpm {args.command}: error: --workers must be >= 1")
        return args.run(args)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except ValueError as exc:
        name = f"lpm {argv[0]}" if argv and not argv[0].startswith("-") else "lpm"
        print(f"{name}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except SolverError as exc:
        print(f"lpm: solver failed: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except MemoryError as exc:
        why = " ".join(str(exc).split()) or "too many classes for the method or the output"
        print(f"lpm: error: the problem does not fit in memory: {why}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `lpm ... --json | head`: the reader left
        sys.stderr.close()
        return 0
    except OSError as exc:
        print(f"lpm: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lpm: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
