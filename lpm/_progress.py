"""Progress bars for long computations: shown on a terminal, silent in pipes and CI.

Every long computation of the package (sweeps, phase diagrams, the Theorem-5 check, the
low-rank solver) takes ``progress=`` (or runs with the default) and reports through
:func:`bar`. The default, ``None``, shows a bar only when standard error is a terminal,
not in a pipe, a file or a CI log (environment variable ``CI`` set), and only once the
computation has lasted :data:`DELAY` seconds, so quick calls print nothing; ``True``
shows it always, ``False`` never. tqdm is imported only when a bar is shown.
"""

from __future__ import annotations

import os
import sys

#: seconds a computation runs before its bar appears (with ``progress=None``)
DELAY = 1.0

#: least seconds between two redraws of a bar (tqdm's ``mininterval``)
MININTERVAL = 0.1


def check_progress(progress) -> bool | None:
    """``progress`` itself when it is ``True``, ``False`` or ``None``; else ValueError."""
    if progress is None or isinstance(progress, bool):
        return progress
    raise ValueError(
        f"progress must be True (always show a bar), False (never) or None (on a terminal "
        f"only), got {progress!r}"
    )


def wanted(progress, stream=None) -> bool:
    """Whether a bar is shown: ``progress`` if given, else whether ``stream`` (standard
    error) is a terminal outside CI."""
    progress = check_progress(progress)
    if progress is not None:
        return progress
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False


class Silent:
    """What :func:`bar` returns when no bar is shown: the same methods, doing nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def bar(total: int | None, desc: str, *, progress: bool | None = None, unit: str = "pt"):
    """A tqdm bar on standard error advancing by ``update(n)``, or :class:`Silent`.

    Parameters
    ----------
    total : int or None
        Steps to come (``None``: unknown, the bar counts).
    desc : str
        Its label (``"lpm sweep"``, ...).
    progress : bool or None
        See the module docstring (checked: ValueError unless True, False or None).
    unit : str
        What a step is (``"pt"``: a point of a grid; ``"it"``: an iteration).
    """
    if total == 0 or not wanted(progress):
        return Silent()
    from tqdm import tqdm  # only when a bar is shown: importing tqdm takes time

    # a terminal that reports no size (a pseudo-terminal never sized, as under `script`)
    # makes tqdm draw nothing (it counts -1 rows and hides every bar): 80 x 24 then
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
        sized = size.columns > 0 and size.lines > 0
    except (AttributeError, OSError, ValueError):
        sized = False
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        delay=DELAY if progress is None else 0.0,
        mininterval=MININTERVAL,
        dynamic_ncols=sized,
        ncols=None if sized else 80,
        nrows=None if sized else 24,
    )
