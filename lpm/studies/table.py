"""The tidy table every study returns: one row per point, the same columns in each."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import _io

#: columns whose value depends on the machine's timing, not on the mathematics
TIMING_COLUMNS = ("time",)

#: rows printed at each end of a long table by ``print(table)``
SHOWN_ROWS = 5


def _text(value) -> str:
    """A value for ``print(table)``: numbers to 6 significant digits (the CSV and JSON
    files, and ``table[column]``, keep every digit)."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)


@dataclass
class SweepTable:
    """A tidy table: one row (a dict) per point, the same keys in every row.

    Attributes
    ----------
    rows : list of dict
        One row per point, in grid order.
    columns : tuple of str
        Column names, in output order.
    swept : tuple of str
        The parameters that take more than one value.
    settings : dict
        What is common to every row (loss, method, ...), recorded in the JSON output.
    """

    rows: list[dict]
    columns: tuple[str, ...]
    swept: tuple[str, ...] = ()
    settings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, column: str) -> np.ndarray:
        """The column as an array (float for numbers, object for text and flags)."""
        if column not in self.columns:
            raise KeyError(f"no column {column!r}; columns are {', '.join(self.columns)}")
        values = [row[column] for row in self.rows]
        if all(
            isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            for v in values
        ):
            return np.array(values, dtype=float)
        return np.array(values, dtype=object)

    def subset(self, keep: Callable[[dict], bool]) -> SweepTable:
        """The rows for which ``keep(row)`` is true."""
        return SweepTable(
            [r for r in self.rows if keep(r)], self.columns, self.swept, self.settings
        )

    def groupby(self, by: Sequence[str]) -> list[tuple[tuple, SweepTable]]:
        """Split into sub-tables with equal values of the columns ``by``, in order of
        first appearance: ``[(values, table), ...]``."""
        out: dict[tuple, list[dict]] = {}
        for row in self.rows:
            out.setdefault(tuple(row[c] for c in by), []).append(row)
        return [(k, SweepTable(v, self.columns, self.swept, self.settings)) for k, v in out.items()]

    def equals(self, other: SweepTable, ignore: Iterable[str] = TIMING_COLUMNS) -> bool:
        """Exact equality of every value (NaN equal to NaN) outside ``ignore``."""
        if self.columns != other.columns or len(self) != len(other):
            return False
        skip = set(ignore)
        for a, b in zip(self.rows, other.rows):
            for c in self.columns:
                if c in skip:
                    continue
                x, y = a[c], b[c]
                same_nan = isinstance(x, float) and isinstance(y, float) and x != x and y != y
                if not (same_nan or (type(x) is type(y) and x == y)):
                    return False
        return True

    # -- output ---------------------------------------------------------------------------
    def to_records(self) -> list[dict]:
        """The rows as plain dicts (JSON-ready: NaN as None, infinity as "inf")."""
        return [_io.plain({c: r[c] for c in self.columns}) for r in self.rows]

    def to_csv(self, path=None) -> str:
        """CSV text (header line, then one line per row; floats in round-trip form).
        Written atomically to ``path`` when given."""
        lines = [",".join(self.columns)]
        lines += [",".join(_io.csv_cell(r[c]) for c in self.columns) for r in self.rows]
        text = "\n".join(lines) + "\n"
        if path is not None:
            _io.write_text(path, text)
        return text

    def to_json(self, path=None, indent: int | None = 2) -> str:
        """JSON text ``{"columns", "swept", "settings", "rows"}`` (rows as records).
        Written atomically to ``path`` when given."""
        text = _io.dumps(
            {
                "columns": list(self.columns),
                "swept": list(self.swept),
                "settings": self.settings,
                "rows": self.to_records(),
            },
            indent=indent,
        )
        if path is not None:
            _io.write_text(path, text + "\n")
        return text

    def to_pandas(self):
        """A :class:`pandas.DataFrame` with the same columns (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "to_pandas needs pandas: pip install pandas (or layer-peeled-model[pandas])"
            ) from None
        return pd.DataFrame([{c: r[c] for c in self.columns} for r in self.rows])

    def __str__(self) -> str:
        """The table as text, for ``print(table)``: the columns that vary, one line per
        row (the first and last :data:`SHOWN_ROWS` of a long table), with the values that
        are the same in every row listed above them."""
        head = f"SweepTable: {len(self)} row{'s' if len(self) != 1 else ''}"
        if len(self) <= 1:  # nothing varies: the row itself, one value a line
            width = max(map(len, self.columns), default=0)
            body = [f"  {c.ljust(width)}  {_text(self.rows[0][c])}" for c in self.rows[0]]
            return "\n".join([head + ("" if self.rows else f"; columns: {self.columns}"), *body])
        varying = [c for c in self.columns if len({repr(r[c]) for r in self.rows}) > 1]
        constant = [c for c in self.columns if c not in varying]
        shown = [c for c in varying if c not in TIMING_COLUMNS] or list(self.columns[:1])
        rows = self.rows
        cut = len(rows) > 2 * SHOWN_ROWS + 1
        if cut:
            rows = rows[:SHOWN_ROWS] + rows[-SHOWN_ROWS:]
        cells = [[_text(r[c]) for c in shown] for r in rows]
        widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(shown)]
        lines = [f"{head} over {', '.join(self.swept) or 'nothing'}"]
        if constant:
            same = ", ".join(f"{c}={_text(self.rows[0][c])}" for c in constant)
            lines.append(textwrap.fill(f"in every row: {same}", 88, subsequent_indent="  "))
        lines.append("  ".join(c.rjust(w) for c, w in zip(shown, widths)))
        for i, line in enumerate(cells):
            if cut and i == SHOWN_ROWS:
                lines.append("  ".join("...".rjust(w) for w in widths))
            lines.append("  ".join(v.rjust(w) for v, w in zip(line, widths)))
        hidden = [c for c in varying if c not in shown]
        if hidden:
            lines.append(f"(not shown: {', '.join(hidden)}; every column: table[name])")
        return "\n".join(lines)

    def __repr__(self) -> str:
        swept = ", ".join(self.swept) or "nothing"
        return f"SweepTable({len(self)} rows over {swept}; columns: {', '.join(self.columns)})"
