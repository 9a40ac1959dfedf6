"""Running a cvxpy problem for the conic formulations (shared by the nuclear and SDP forms)."""

from __future__ import annotations

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
    opts.update(options or {})
    try:
        problem.solve(solver=solver, **opts)
    except cp.error.SolverError as exc:
        raise SolverError(f"method={method!r}: {solver} failed: {exc}") from exc
    except TypeError as exc:  # an option the solver does not know
        raise ValueError(f"solver_options {sorted(options or {})} for {solver}: {exc}") from None
    status = problem.status
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise SolverError(f"method={method!r}: {solver} ended with status {status!r}")
    stats = problem.solver_stats
    iterations = getattr(stats, "num_iters", None)
    return status == cp.OPTIMAL, f"{solver}: {status}", iterations
