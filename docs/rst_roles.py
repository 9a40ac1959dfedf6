"""Griffe extension for the API reference: the package's docstrings use a few
reStructuredText constructs (``.. math::`` blocks, ``:math:`` and cross-reference roles)
that Markdown does not know; rewrite them as arithmatex math and inline code."""

from __future__ import annotations

import re
import textwrap

import griffe

_ROLE = re.compile(r":(?:py:)?(func|class|mod|meth|attr|data|exc|obj):`~?([^`]+)`")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")


def _math_blocks(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(".. math::"):
            indent = len(line) - len(line.lstrip())
            body = [stripped[len(".. math::") :].strip()] if stripped != ".. math::" else []
            i += 1
            while i < len(lines) and (
                not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent
            ):
                body.append(lines[i])
                i += 1
            block = textwrap.dedent("\n".join(body)).strip("\n")
            pad = " " * indent
            out += [pad + "$$"] + [pad + b for b in block.split("\n")] + [pad + "$$", ""]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def rst_to_markdown(text: str) -> str:
    text = _math_blocks(text)
    text = _MATH_ROLE.sub(lambda m: "$" + m.group(1) + "$", text)
    text = _ROLE.sub(lambda m: "`" + m.group(2) + "`", text)
    return text


class RstRoles(griffe.Extension):
    """Rewrite every docstring once it is loaded."""

    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
