"""Running a cvxpy problem for the conic formulations (shared by the nuclear and SDP forms)."""

from __future__ import annotations

from .. import _validation as check
from ..certificates import SolverError

#: solver settings chosen for trustworthy digits (see docs/methods.md for the trade-off)
DEFAULT_OPTIONS = {
    # SCS's defaults (eps 1e-4) leave cosines off by ~1e-4 on these programs; 1e-9
    # brings the certified gap to ~1e-9 for a few times the iterations.
    "SCS": {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 200_000},
    "CLARABEL": {},
}


def run(problem, solver: str, options: dict | None, method: str):
    """Solve ``problem`` with ``solver``; return ``(converged, message, iterations)``.

    Raises :class:`lpm.SolverError` when the solver fails or reports no solution.
    """
    import cvxpy as cp

    installed = cp.installed_solvers()
    if solver not in installed:
        raise ValueError(
            f"solver must be a conic solver installed for cvxpy ({', '.join(installed)}), "
            f"got {solver!r}"
        )
    opts = dict(DEFAULT_OPTIONS.get(solver, {}))
    opts.update(check.mapping("solver_options", options))
    try:
        # problem.solve(solver, **opts) in its three steps, so that the solver's own
        # output can be read when cvxpy reports a failure (Ctrl-C is one, for SCS)
        data, chain, inverse = problem.get_problem_data(solver, solver_opts=opts)
        raw = chain.solve_via_data(problem, data, solver_opts=opts)
        if _interrupted(raw):
            raise KeyboardInterrupt
        problem.unpack_results(raw, chain, inverse)
    except cp.error.SolverError as exc:
        raise SolverError(f"method={method!r}: {solver} failed: {exc}") from exc
    except (TypeError, ValueError, OverflowError) as exc:  # an option it cannot take
        raise ValueError(
            f"solver_options {sorted(options or {})} for {solver}: {' '.join(str(exc).split())}"
        ) from None
    status = problem.status
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise SolverError(f"method={method!r}: {solver} ended with status {status!r}")
    stats = problem.solver_stats
    iterations = getattr(stats, "num_iters", None)
    return status == cp.OPTIMAL, f"{solver}: {status}", iterations


def _interrupted(raw) -> bool:
    """Whether the solver stopped on Ctrl-C (SIGINT): SCS catches the signal itself and
    returns the status ``"interrupted"``, which cvxpy would report as a failure."""
    info = raw.get("info", {}) if isinstance(raw, dict) else {}
    return isinstance(info, dict) and (
        info.get("status_val") == -5 or str(info.get("status", "")).lower() == "interrupted"
    )
