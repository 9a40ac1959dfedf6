"""What the command line prints and writes: tables on the terminal, files under --out."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import _io
from .options import UsageError


# -- output helpers ----------------------------------------------------------------------
def fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, float):
        return f"{v:.10g}" if abs(v) >= 1e-3 or v == 0 or not math.isfinite(v) else f"{v:.3e}"
    return str(v)


def print_table(rows: Sequence[dict], columns: Sequence[str], file=None) -> None:
    file = file or sys.stdout
    cells = [[fmt(r[c]) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths)), file=file)
    for row in cells:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths)), file=file)


class Output:
    """Collects the files a command writes under ``--out`` and reports them."""

    def __init__(self, args):
        self.dir = out_dir(args)
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
        from ..plotting.figures import save_figure  # matplotlib: only when drawing

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


def out_dir(args) -> Path | None:
    """The ``--out`` directory, checked before any solving (a path that cannot be one is a
    usage error, so nothing is computed for nothing) but created only when the first file
    is written: a run that fails (an argument the library refuses, a solver failure, an
    interrupt) leaves no empty directory behind."""
    out = getattr(args, "out", None)
    if out is None:
        return None
    if not out.strip():
        raise UsageError(f"lpm {args.command}: error: --out needs a directory name")
    path = Path(out)
    why = _unusable(path)
    if why:
        raise UsageError(
            f"lpm {args.command}: error: --out {out}: cannot create the directory ({why})"
        )
    return path


def _unusable(path: Path) -> str:
    """Why ``path`` cannot be (or become) a writable directory ("" when it can)."""
    if path.exists():
        if not path.is_dir():
            return "a file of that name exists"
        return "" if os.access(path, os.W_OK | os.X_OK) else "permission denied"
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a directory"
    return "" if os.access(parent, os.W_OK | os.X_OK) else f"permission denied in {parent}"
