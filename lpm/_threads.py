"""BLAS threads of the package's long dense iterations (the low-rank solver).

On the 2 shared cores this package is developed on, two OpenBLAS threads made the
low-rank solver 3 to 11 times slower whenever the other core was busy (the threads wait
for each other at every product), and saved little when it was idle; one thread also
gives the same numbers whatever the caller's BLAS settings. So those iterations run with
one thread unless told otherwise. threadpoolctl is imported only when a limit is set.
"""

from __future__ import annotations

import contextlib
import numbers

#: the most BLAS threads accepted (a thread count beyond any machine's is a mistake)
MAX_THREADS = 1024


def check_threads(value) -> int | None:
    """``value`` as a number of BLAS threads: an integer from 1 to :data:`MAX_THREADS`,
    or None (leave BLAS as configured); else ValueError."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not 1 <= value <= MAX_THREADS
    ):
        raise ValueError(
            f"blas_threads must be an integer from 1 to {MAX_THREADS} (BLAS threads of the "
            f"iteration) or None (as BLAS is configured), got {value!r}"
        )
    return int(value)


def limited(threads: int | None):
    """A context in which BLAS uses at most ``threads`` threads (``None``: unchanged)."""
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")
