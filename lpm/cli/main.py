"""The ``lpm`` command line (also ``python -m lpm``).

Subcommands: ``solve``, ``curve``, ``threshold``, ``phase``, ``verify``, ``compare``
and ``reproduce fig3`` / ``reproduce network``; ``lpm COMMAND --help`` shows each one's
options and an example.
``--out DIR`` writes CSV, JSON and figures (PNG and PDF), each file atomically;
``--json`` prints machine-readable output on stdout. A bad argument (or a value the
library rejects) gives a one-line error and exit status 2; a solver failure exit status
1; ``verify`` also exits with 1 when the check fails; Ctrl-C exit status 130.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._version import __version__
from ..certificates import SolverError
from .commands import (
    MAX_K_ARRAYS,
    cmd_curve,
    cmd_phase,
    cmd_reproduce,
    cmd_solve,
    cmd_threshold,
    cmd_verify,
)
from .compare import add_compare_parser, add_network_options
from .counts import add_options as add_count_options
from .mitigation import add_mitigation_options
from .options import (
    GRID_HELP,
    GRID_HELP_SHORT,
    Parser,
    UsageError,
    integer,
    model_options,
    number,
    output_options,
    pairs,
    parse_grid,
    real_grid,
    solver_options,
)


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = Parser(
        prog="lpm",
        description="The Layer-Peeled Model solved exactly, with a certificate on every answer.",
        epilog="example:\n  lpm reproduce fig3          # the paper's Figure 3 into ./lpm-fig3\n"
        "  lpm solve --R 100           # one model, K_A = K_B = 5, E_W = 1, E_H = 5",
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"lpm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = sub.add_parser(
        "solve",
        help="solve one model",
        formatter_class=fmt,
        description="Solve the two-group model (or the model of given class counts) and "
        "print the objective, its certified gap and the minority geometry.",
        epilog="examples:\n  lpm solve --K_A 5 --K_B 5 --R 100 --E_W 1 --E_H 5\n"
        "  lpm solve --counts 500,500,100,20,20 --json\n"
        "  lpm solve --counts imagenet_lt --out imagenet   # the exact collapse map\n"
        "  lpm solve --R 30 --method sdp --out run1",
    )
    model_options(p, unset=True)
    add_count_options(p)
    p.add_argument(
        "--p",
        type=integer,
        help=f"columns of W and H in the output (default K; arrays only for K <= {MAX_K_ARRAYS})",
    )
    solver_options(p)
    output_options(
        p,
        writes=f"solution.csv, solution.json and, for K <= {MAX_K_ARRAYS}, the cosine "
        "heatmaps geometry.png and geometry.pdf, and with class counts the collapse map "
        "and the structure against the budget (collapse_map as PNG and PDF, "
        "collapse_vs_budget as CSV, JSON, PNG and PDF)",
    )
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
    model_options(p, grids=True)
    p.add_argument(
        "--x",
        choices=["R", "E_W", "E_H", "EWEH", "oversample", "K_A", "K_B"],
        help="parameter on the horizontal axis (default: the first swept one, in the order "
        "R, EWEH, E_H, E_W, oversample, K_A, K_B)",
    )
    p.add_argument("--y", default="minority_cosine", help="column to plot (minority_cosine)")
    p.add_argument("--workers", type=integer, default=1, help="solve in N processes (1)")
    solver_options(p)
    output_options(p, writes="curve.csv, curve.json (with R_0 of each curve), curve.png, curve.pdf")
    p.set_defaults(run=cmd_curve)

    p = sub.add_parser(
        "threshold",
        help="the imbalance R_0 from which the minority collapses",
        formatter_class=fmt,
        description="Compute R_0(K_A, K_B, E_W E_H): the minority classifiers are exactly "
        "equal at the optimum iff R >= R_0.",
        epilog="examples:\n  lpm threshold --K_A 5 --K_B 5 --E_W 1 --E_H 5   # R_0 = 12.1924...\n"
        "  lpm threshold --K_A 5 --K_B 5 --penalty 0.01      # weight decay: R_0 = 19",
    )
    model_options(p, R=False, oversample=False)
    p.add_argument("--rtol", type=number, default=1e-8, help="relative accuracy (1e-8)")
    p.add_argument(
        "--penalty",
        type=number,
        default=None,
        help="weight decay sqrt(lambda_W lambda_H): R_0 of the weight-decay model, in closed "
        "form (--E_W and --E_H are then not used)",
    )
    p.add_argument(
        "--per-sample-penalty",
        action="store_true",
        help="with --penalty: the penalty on every sample's feature (Hong and Ling)",
    )
    output_options(p, writes="threshold.csv and threshold.json (no figure)")
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
        type=pairs,
        default=[(5, 5), (2, 8), (8, 2), (10, 10)],
        help="K_A/K_B pairs (5/5,2/8,8/2,10/10)",
    )
    p.add_argument(
        "--EWEH",
        type=real_grid,
        default=parse_grid("0.1:100:31"),
        help="grid of the budget product E_W E_H (0.1:100:31); " + GRID_HELP_SHORT,
    )
    p.add_argument(
        "--loss",
        default="ce",
        choices=["ce", "label_smoothing", "logit_adjusted", "cdt", "vs", "ldam"],
        help="loss (ce)",
    )
    p.add_argument("--workers", type=integer, default=1, help="compute in N processes (1)")
    output_options(p, writes="phase.csv, phase.json, phase.png, phase.pdf")
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
    model_options(p, R=False, oversample=False)
    p.add_argument(
        "--R", type=real_grid, default=None, help="grid of R (default: 10^(0.1 i) past R_0)"
    )
    output_options(p, writes="verify.csv, verify.json, verify.png, verify.pdf")
    p.set_defaults(run=cmd_verify)

    add_compare_parser(sub, fmt)

    p = sub.add_parser(
        "reproduce",
        help="reproduce a figure of the paper (fig3), the trained-network experiment or the "
        "comparison of remedies (mitigation)",
        formatter_class=fmt,
        description="Recompute a figure of Fang, He, Long, Su (PNAS 2021).\n"
        "fig3: the mean cosine of the minority classifiers against R, K = 10 (K_A = K_B = 5),\n"
        "E_W = 1, E_H = 5, R = 10^(0.1 i), i = 0..40. Writes figure3.png, figure3.pdf,\n"
        "figure3.csv and figure3.json.\n"
        "network: small networks trained to zero error on scikit-learn's handwritten digits\n"
        "(digits 5-9 subsampled to n_A / R), their minority cosine against the LPM's at\n"
        "their budgets (about two minutes; needs scikit-learn). Writes network.png,\n"
        "network.pdf, network.csv and network.json.\n"
        "mitigation: oversampling, logit adjustment, CDT and VS on the same setting, their\n"
        "thresholds R_0 and how close each optimum is to the simplex ETF against R (a few\n"
        "seconds). Writes mitigation.png, mitigation.pdf, mitigation.csv and mitigation.json.",
        epilog="examples:\n  lpm reproduce fig3\n  lpm reproduce fig3 --out paper/figs\n"
        "  lpm reproduce fig3 --method sdp --out fig3-sdp   # the paper's own SDP (slower)\n"
        "  lpm reproduce network --seeds 0 --R 1,10,50      # ./lpm-network\n"
        "  lpm reproduce mitigation --oversample 100         # ./lpm-mitigation",
    )
    p.add_argument("figure", choices=["fig3", "network", "mitigation"], help="which figure")
    p.add_argument(
        "--method",
        default="reduced",
        choices=["reduced", "nuclear", "sdp"],
        help="reduced: exact, milliseconds (default); nuclear, sdp: cvxpy + SCS, the "
        "paper's own SDP (seconds, about 1e-9)",
    )
    p.add_argument("--solver", help="conic solver for --method nuclear/sdp (SCS, CLARABEL)")
    add_network_options(p)
    add_mitigation_options(p)
    output_options(
        p,
        default_out="lpm-fig3, ./lpm-network or ./lpm-mitigation",
        writes="figure3.png, figure3.pdf, figure3.csv, figure3.json (fig3), or the same "
        "four files named network (network) or mitigation (mitigation)",
    )
    p.set_defaults(run=cmd_reproduce)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError(
                "lpm: error: give a command: solve, curve, threshold, phase, verify, "
                "compare or reproduce (see 'lpm --help')"
            )
        if getattr(args, "workers", 1) < 1:
            raise UsageError(f"lpm {args.command}: error: --workers must be >= 1")
        return args.run(args)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except MemoryError as exc:  # before ValueError: a refusal of size is both
        why = " ".join(str(exc).split()) or "too many classes for the method or the output"
        print(f"lpm: error: the problem does not fit in memory: {why}", file=sys.stderr)
        return 2
    except ValueError as exc:
        name = f"lpm {argv[0]}" if argv and not argv[0].startswith("-") else "lpm"
        print(f"{name}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except SolverError as exc:
        print(f"lpm: solver failed: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
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
