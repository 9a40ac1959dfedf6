"""The documentation's formulas render without a network (issue 15): MathJax ships with
the site, no page loads a script from elsewhere, and a headless browser with the network
off renders a page of formulas (skipped where no browser is installed; CI installs one
and checks the whole built site with docs/check_math.py)."""

import hashlib
import importlib.util
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _check_math():
    spec = importlib.util.spec_from_file_location("check_math", DOCS / "check_math.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _scripts() -> list[str]:
    """The ``extra_javascript`` entries of mkdocs.yml (read without a YAML parser, which
    the test extra does not install)."""
    lines = (ROOT / "mkdocs.yml").read_text().splitlines()
    start = lines.index("extra_javascript:") + 1
    out = []
    for line in lines[start:]:
        if not line.startswith("  - "):
            break
        out.append(line[4:].strip())
    return out


def test_every_script_of_the_site_ships_with_it():
    scripts = _scripts()
    assert scripts, "no script: the formulas would stay raw TeX"
    for script in scripts:
        assert not re.match(r"^[a-z]+://|^//", script), f"{script} loads from the network"
        assert (DOCS / script).is_file(), script
    assert any("mathjax" in s and s.endswith(".js") and "vendor" in s for s in scripts)


def test_the_shipped_mathjax_is_the_one_recorded():
    vendor = DOCS / "javascripts" / "vendor" / "mathjax"
    recorded = re.search(r"sha256 ([0-9a-f]{64})  tex-svg\.js", (vendor / "SOURCE.txt").read_text())
    digest = hashlib.sha256((vendor / "tex-svg.js").read_bytes()).hexdigest()
    assert recorded and digest == recorded.group(1)
    assert "Apache License" in (vendor / "LICENSE").read_text()


@pytest.mark.skipif(_check_math().browser() is None, reason="no headless browser (chromium)")
def test_a_page_of_formulas_renders_offline(tmp_path):
    # the markup pymdownx.arithmatex (generic) writes, with the site's own scripts
    shutil.copytree(DOCS / "javascripts", tmp_path / "javascripts")
    scripts = "".join(f'<script src="{s}"></script>' for s in _scripts())
    body = (
        '<p>inline <span class="arithmatex">\\(E_W E_H \\ge 10^{-24}\\)</span></p>'
        '<div class="arithmatex">\\[\\min_Z f(Z)\\quad\\text{s.t.}\\quad '
        "\\lVert Z\\rVert_* \\le \\tau\\]</div>"
    )
    page = tmp_path / "page.html"
    page.write_text(f"<!doctype html><html><head>{scripts}</head><body>{body}</body></html>")
    check = _check_math()
    assert check.check_page(page, check.browser(), check._offline_prefix()) == []
    # and the check can fail: the same page without the renderer stays raw TeX
    bare = tmp_path / "bare.html"
    bare.write_text(f"<!doctype html><html><head></head><body>{body}</body></html>")
    problems = check.check_page(bare, check.browser(), check._offline_prefix())
    assert len(problems) == 2 and all("not rendered" in p for p in problems)
