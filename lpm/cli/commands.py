"""The subcommands: each reads its parsed arguments, runs the library, prints and writes."""

from __future__ import annotations

import numpy as np

from .._io import to_accuracy
from ..analysis.threshold import collapse_threshold
from ..solvers.dispatch import solve, solve_counts
from ..studies.phase import phase_diagram
from ..studies.rows import solution_row
from ..studies.sweep import FIGURE3, figure3_table, sweep
from ..studies.table import SweepTable
from ..studies.theorem5 import THRESHOLD_RTOL, verify_minority_collapse
from .compare import cmd_network
from .counts import resolve as resolve_counts
from .counts import structure_outputs
from .mitigation import cmd_mitigation
from .options import PAPER, UsageError
from .output import Output, fmt, print_table

#: ``lpm solve`` puts W, H and the cosine matrix into its JSON up to this many classes
#: (beyond, they are K x K arrays of no use on a terminal; the Python API has them)
MAX_K_ARRAYS = 1000


def _executor(args):
    if getattr(args, "workers", 1) and args.workers > 1:
        import concurrent.futures

        return concurrent.futures.ProcessPoolExecutor(max_workers=args.workers)
    return None


def cmd_solve(args) -> int:
    args.counts = resolve_counts(args)
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
    out = Output(args)  # after the usage checks, before solving
    if args.counts is not None:
        sol = solve_counts(
            args.counts,
            args.E_W,
            args.E_H,
            method=args.method,
            solver=args.solver,
            loss=args.loss,
            p=len(args.counts) if args.p is None else args.p,
        )
        params = {"counts": args.counts.tolist(), "E_W": args.E_W, "E_H": args.E_H}
    else:
        args.K_A = PAPER["K_A"] if args.K_A is None else args.K_A
        args.K_B = PAPER["K_B"] if args.K_B is None else args.K_B
        args.oversample = 1.0 if args.oversample is None else args.oversample
        sol = solve(
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
    row = {**params, **solution_row(sol)}
    if out.dir is not None:
        flat = {k: (",".join(map(fmt, v)) if isinstance(v, list) else v) for k, v in row.items()}
        SweepTable([flat], tuple(flat)).to_csv(out.dir / "solution.csv")
        out.files.append(str(out.dir / "solution.csv"))
    data = {"parameters": params, "solution": solution_row(sol), "message": sol.message}
    arrays = sol.model.K <= MAX_K_ARRAYS
    if arrays and (args.json or out.dir is not None):  # K x K arrays: only when written
        with np.errstate(invalid="ignore", divide="ignore"):
            data.update(W=sol.W, H=sol.H, classifier_cosines=sol.classifier_cosines())
    elif not arrays:
        data["arrays"] = f"W, H and the cosines are omitted for K > {MAX_K_ARRAYS}"
    out.json_file(data, "solution")
    if arrays:
        out.figure(lambda: _figure("geometry_figure")(sol), "geometry")
    structure = None
    if args.counts is not None:
        structure = structure_outputs(sol, out, args.map_budgets)
        data["structure"] = structure
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
        print(f"  {key:<20} {fmt(r[key])}{_why_nan(sol, key, r[key])}")
    if structure is not None:
        print(f"  structure            {structure}")
    out.done(data)
    return 0 if sol.success else 1


def _why_nan(sol, key: str, value) -> str:
    """Why a printed cosine is NaN (empty otherwise): the terminal says what the Python
    warning and the minority_vanished column say."""
    if key not in ("minority_cosine", "majority_cosine") or value == value:
        return ""
    with np.errstate(invalid="ignore", divide="ignore"):
        if key == "minority_cosine":
            stats = sol.minority_stats()
        else:
            stats = sol.pair_stats(sol.model.majority, "the majority")
    if key == "minority_cosine" and sol.minority_vanished:
        return (
            "  (the minority classifiers vanish: they are 0 vectors at the optimum, so "
            "their cosines are undefined)"
        )
    return f"  ({stats.reason})" if stats.reason else ""


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


def _figure(name: str):
    """A figure maker of :mod:`lpm.plotting.figures`, imported when a figure is drawn
    (``--out``): matplotlib's import is most of a command's start-up otherwise."""

    def make(*args):
        from ..plotting import figures

        return getattr(figures, name)(*args)

    return make


def cmd_curve(args) -> int:
    curve_figure = _figure("curve_figure")
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
    out = Output(args)
    executor = _executor(args)
    try:
        table = sweep(
            loss=args.loss, method=args.method, solver=args.solver, executor=executor, **kw
        )
    finally:
        if executor is not None:
            executor.shutdown()
    if x == "R" and args.loss == "ce":
        table.settings.update(R0=curve_thresholds(table), R0_rtol=THRESHOLD_RTOL)
    out.table(table, "curve")
    out.figure(lambda: curve_figure(table, x, args.y), "curve")
    if args.json:
        out.done({"x": x, "y": args.y, **_table_payload(table)})
        return 0 if all(table["success"]) else 1
    shown = [c for c in table.swept if c != "K"] or ["R"]
    cols = shown + [args.y] + [c for c in ("minority_collapsed", "gap", "status") if c != args.y]
    if args.y == "minority_cosine" and any(v is True for v in table["minority_vanished"]):
        cols.insert(len(shown) + 1, "minority_vanished")  # why some cosines are nan
    print_table(table.rows, cols)
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


def curve_thresholds(table) -> list[dict]:
    """R_0 of every two-group setting of a sweep over R (times its oversampling factor,
    the effective imbalance), for curve.json: ``[{K_A, K_B, E_W, E_H, oversample, R0}]``
    (``R0`` None for a single minority class, which cannot collapse)."""
    keys = ("K_A", "K_B", "E_W", "E_H", "oversample")
    out = []
    for values, _ in table.groupby(keys):
        setting = dict(zip(keys, values))
        R0 = None
        if setting["K_B"] >= 2:
            R0 = setting["oversample"] * collapse_threshold(
                setting["K_A"], setting["K_B"], setting["E_W"], setting["E_H"], rtol=THRESHOLD_RTOL
            )
        out.append({**setting, "R0": R0})
    return out


def _many(kw: dict, name: str) -> bool:
    """Whether a grid option holds more than one distinct value."""
    return name in kw and kw[name] is not None and len(set(kw[name])) > 1


def _table_payload(table) -> dict:
    return {"swept": list(table.swept), "settings": table.settings, "rows": table.to_records()}


def cmd_threshold(args) -> int:
    out = Output(args)
    penalized = args.penalty is not None
    if penalized:
        R0 = collapse_threshold(
            args.K_A,
            args.K_B,
            penalty=args.penalty,
            per_sample_penalty=args.per_sample_penalty,
            loss=args.loss,
        )
        model = {"penalty": args.penalty, "per_sample_penalty": args.per_sample_penalty}
        where = f"penalty={args.penalty:g}" + (", per-sample" if args.per_sample_penalty else "")
    else:
        if args.per_sample_penalty:
            raise ValueError("--per-sample-penalty needs --penalty (the weight-decay model)")
        R0 = collapse_threshold(
            args.K_A, args.K_B, args.E_W, args.E_H, rtol=args.rtol, loss=args.loss
        )
        model = {"E_W": args.E_W, "E_H": args.E_H}
        where = f"E_W={args.E_W:g}, E_H={args.E_H:g}"
    data = {
        "K_A": args.K_A,
        "K_B": args.K_B,
        **model,
        "loss": args.loss,
        "rtol": args.rtol,
        "R0": R0,
    }
    if out.dir is not None:
        SweepTable([data], tuple(data)).to_csv(out.dir / "threshold.csv")
        out.files.append(str(out.dir / "threshold.csv"))
    out.json_file(data, "threshold")
    if args.json:
        out.done(data)
        return 0
    print(
        f"R_0 = {repr(R0) if penalized else to_accuracy(R0, args.rtol)}  "
        f"({'closed form' if penalized else f'to relative accuracy {args.rtol:g}'}; "
        f"K_A={args.K_A}, K_B={args.K_B}, {where}): the minority classifiers are exactly "
        f"equal iff R >= R_0"
    )
    out.done(data)
    return 0


def cmd_phase(args) -> int:
    phase_figure = _figure("phase_figure")
    out = Output(args)
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
    print_table(table.rows, ["K_A", "K_B", "EWEH", "R0"])
    out.done({})
    return 0


def cmd_verify(args) -> int:
    out = Output(args)
    check = verify_minority_collapse(args.K_A, args.K_B, args.E_W, args.E_H, args.R, loss=args.loss)
    table = check.table()
    out.table(table, "verify")
    out.figure(check.plot, "verify")
    if args.json:
        out.done({**check.summary(), "rows": table.to_records()})
        return 0 if check.holds else 1
    print_table(
        table.rows,
        ["R", "above_threshold", "minority_collapsed", "max_distance", "distance_to_limit", "gap"],
    )
    print()
    print(check.verdict)
    out.done({})
    return 0 if check.holds else 1


def cmd_reproduce(args) -> int:
    from ..plotting.figures import minority_cosine_figure

    if args.figure == "network":
        if args.oversample is not None:
            raise UsageError("lpm reproduce network: error: --oversample is for mitigation")
        args.out = "lpm-network" if args.out is None else args.out
        return cmd_network(args)
    if args.figure == "mitigation":
        args.out = "lpm-mitigation" if args.out is None else args.out
        return cmd_mitigation(args)
    if args.R is not None or args.seeds is not None or args.oversample is not None:
        raise UsageError(
            "lpm reproduce fig3: error: --R and --seeds are for network and mitigation, "
            "--oversample for mitigation"
        )
    args.out = "lpm-fig3" if args.out is None else args.out
    out = Output(args)
    table = figure3_table(args.method, solver=args.solver)
    f = FIGURE3
    R0 = collapse_threshold(f["K_A"], f["K_B"], f["E_W"], f["E_H"], rtol=THRESHOLD_RTOL)
    table.settings.update(R0=R0, R0_rtol=THRESHOLD_RTOL)  # into figure3.json
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
        f"exact collapse from R_0 = {to_accuracy(R0, THRESHOLD_RTOL)}; largest certified "
        f"gap {summary['max_gap']:.2g}"
    )
    out.done(summary)
    return 0 if all(table["success"]) else 1
