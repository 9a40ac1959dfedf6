"""``lpm reproduce mitigation``: oversampling, logit adjustment, CDT and VS against
Minority Collapse on the paper's setting (:func:`lpm.studies.mitigation.mitigation_study`)."""

from __future__ import annotations

import numpy as np

from .options import UsageError, number
from .output import Output, print_table

#: rows printed on the terminal: these imbalance ratios of the grid
SHOWN_R = (1.0, 10.0, 100.0, 1000.0, 10000.0)

#: columns printed on the terminal
COLUMNS = ("remedy", "R", "minority_cosine", "minority_norm", "etf_distance", "minority_collapsed")


def add_mitigation_options(p) -> None:
    """Options of ``lpm reproduce mitigation``."""
    p.add_argument(
        "--oversample",
        type=number,
        default=None,
        help="mitigation: the oversampling factor w_r compared (10)",
    )


def cmd_mitigation(args) -> int:
    from ..plotting.mitigation import mitigation_figure
    from ..studies.mitigation import mitigation_study

    if args.method != "reduced" or args.solver is not None or args.seeds is not None:
        raise UsageError(
            "lpm reproduce mitigation: error: --method, --solver and --seeds are for fig3 "
            "and network"
        )
    out = Output(args)
    w = 10.0 if args.oversample is None else args.oversample
    study = mitigation_study(R=args.R, oversample=w)
    table = study.table
    out.table(table, "mitigation")
    out.figure(lambda: mitigation_figure(table), "mitigation")
    summary = {"figure": "mitigation", **study.summary()}
    ok = all(table["success"])
    if args.json:
        out.done({**summary, "rows": table.to_records()})
        return 0 if ok else 1
    s = table.settings
    print(
        f"Remedies for Minority Collapse, K_A={s['K_A']}, K_B={s['K_B']}, E_W={s['E_W']:g}, "
        f"E_H={s['E_H']:g} (each loss at its paper's parameters; oversampling w_r={w:g}):"
    )
    for name, R0 in study.thresholds.items():
        print(f"  {name:15s} R_0 = {R0:.10g}  ({s['losses'][name]})")
    R = np.asarray(table["R"], float)
    shown = [r for r in table.rows if np.any(np.isclose(r["R"], SHOWN_R, rtol=1e-12))]
    print()
    print_table(shown if len(shown) < len(table.rows) and shown else table.rows, COLUMNS)
    print(
        f"\noversampling w_r stops the collapse at R exactly when w_r > R / R_0 = R / "
        f"{study.thresholds.get('none', float('nan')):.10g} (R up to {R.max():g} here)"
    )
    out.done(summary)
    return 0 if ok else 1
