"""The printed output shown in the docs is what the code prints (so a changed digit in a
result cannot leave a stale number in the documentation)."""

import contextlib
import io
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _blocks(text: str):
    """(language, body) of every fenced code block, in order."""
    return re.findall(r"```(\w+)\n(.*?)```", text, flags=re.S)


def _without_time(text: str) -> str:
    return " ".join(re.sub(r"time=[0-9.e+-]+s", "time=...", text).split())


def test_getting_started_first_solve_prints_what_the_page_shows():
    blocks = _blocks((DOCS / "getting-started.md").read_text())
    i = next(k for k, (lang, body) in enumerate(blocks) if "print(sol)" in body)
    code, (lang, shown) = blocks[i][1], blocks[i + 1]
    assert lang == "text"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(code, {})
    assert _without_time(buffer.getvalue()) == _without_time(shown)


def test_tutorial_theorem5_verdict_is_what_verify_prints():
    import lpm

    text = (DOCS / "tutorial.md").read_text()
    shown = next(body for lang, body in _blocks(text) if body.startswith("K_A=5, K_B=5, E_W=1"))
    verdict = lpm.verify_minority_collapse(5, 5, E_W=1, E_H=5).verdict
    assert " ".join(shown.split()) == verdict
    assert max(map(len, shown.splitlines())) <= 80  # fits the page: no scroll bar
