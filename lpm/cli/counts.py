"""Class counts on the command line, and what ``lpm solve`` adds for them: the exact
structure in one line, the collapse map and the structure against the budget."""

from __future__ import annotations

import argparse

import numpy as np

from ..model import counts as profiles
from .options import parse_grid

#: profiles ``--counts`` takes by name; ``cifar*_lt`` take an imbalance factor after a
#: colon (default 100)
PROFILES = ("imagenet_lt", "cifar10_lt[:RHO]", "cifar100_lt[:RHO]")

#: the budgets (products E_W E_H) of the structure-against-budget figure of ``--out``
MAP_BUDGETS = "1,2,5,10"


def counts_argument(text: str):
    """``--counts``: a list of counts (``500,500,100``), or a profile (:data:`PROFILES`)."""
    name, _, rest = text.strip().partition(":")
    if name == "imagenet_lt":
        if rest:
            raise argparse.ArgumentTypeError("imagenet_lt takes no parameter")
        return profiles.imagenet_lt()
    if name in ("cifar10_lt", "cifar100_lt"):
        try:
            rho = float(rest) if rest else 100.0
            return profiles.cifar_lt(10 if name == "cifar10_lt" else 100, rho)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    if name.replace("_", "").isalpha():
        raise argparse.ArgumentTypeError(
            f"unknown count profile {name!r}; profiles: {', '.join(PROFILES)}, or a list "
            "of counts such as 500,500,100"
        )
    return parse_grid(text)


def counts_file_argument(path: str):
    """``--counts-file``: one count per line, or a ``.npy`` array of labels."""
    try:
        return profiles.from_file(path)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_options(p) -> None:
    p.add_argument(
        "--counts",
        type=counts_argument,
        metavar="COUNTS",
        help="per-class sample counts instead of K_A, K_B, R: a list (500,500,100) or a "
        f"profile ({', '.join(PROFILES)})",
    )
    p.add_argument(
        "--counts-file",
        type=counts_file_argument,
        metavar="FILE",
        help="per-class counts from FILE (one per line), or from a .npy array of labels",
    )
    p.add_argument(
        "--map-budgets",
        type=parse_grid,
        default=parse_grid(MAP_BUDGETS),
        metavar="GRID",
        help="values of E_W E_H of the structure-against-budget figure written with --out "
        f"for class counts ({MAP_BUDGETS})",
    )


def structure_outputs(sol, out, map_budgets) -> str | None:
    """The exact structure of a solution of class counts: its one-line summary (None
    when the test does not apply), and with ``--out`` the collapse map and the structure
    against the budget."""
    if sol.collapse_unavailable() is not None:
        return None
    report = sol.collapse
    if out.dir is not None:
        from ..plotting.collapse_map import collapse_count_figure, collapse_map_figure
        from ..studies.collapse_map import collapse_vs_budget

        out.figure(lambda: collapse_map_figure(sol), "collapse_map")
        table = collapse_vs_budget(sol.model.counts, sorted(set(map_budgets)))
        out.table(table, "collapse_vs_budget")
        out.figure(lambda: collapse_count_figure(table), "collapse_vs_budget")
    return report.summary()


def resolve(args):
    """The counts of ``--counts`` or ``--counts-file`` (None for the two-group model)."""
    if args.counts is not None and args.counts_file is not None:
        from .options import UsageError

        raise UsageError("lpm solve: error: give --counts or --counts-file, not both")
    counts = args.counts if args.counts is not None else args.counts_file
    return None if counts is None else np.asarray(counts)
