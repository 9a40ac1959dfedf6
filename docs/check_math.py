"""Check that the formulas of the built documentation render with the network off.

    python docs/check_math.py SITE_DIR [--require-browser] [PAGE ...]

Each page (default: every page of SITE_DIR that has a formula) is opened in headless
Chromium with no network: in a network namespace of its own when ``unshare`` can make one
(as root), and in any case with every host mapped to nowhere and a proxy that does not
exist, so a formula can only render if the site ships its renderer. After the page has
run, every formula (an ``arithmatex`` element) must hold MathJax's output
(``mjx-container``) and no raw TeX, and no formula may be a MathJax error
(``mjx-merror``). Exit status 0 when every page passes (or no browser exists, unless
``--require-browser``), 1 otherwise, with the failing formulas listed.
"""

from __future__ import annotations

import argparse
import html.parser
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: the network, blocked in the browser itself (also without a namespace)
OFFLINE_FLAGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)


def browser() -> str | None:
    """The first headless-capable browser on PATH, or None."""
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


def _offline_prefix() -> list[str]:
    """``unshare --net`` when a network namespace can be made here (root), else []."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    probe = subprocess.run([unshare, "--net", "true"], capture_output=True)
    return [unshare, "--net"] if probe.returncode == 0 else []


def rendered_dom(page: Path, chrome: str, prefix: list[str], budget_ms: int = 20000) -> str:
    """The DOM of ``page`` after its scripts have run, offline."""
    with tempfile.TemporaryDirectory(prefix="lpm-math-") as profile:
        command = [
            *prefix,
            chrome,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            *OFFLINE_FLAGS,
            "--dump-dom",
            page.resolve().as_uri(),
        ]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or "<html" not in proc.stdout:
        raise RuntimeError(f"{chrome} failed on {page}: {proc.stderr.strip()[-500:]}")
    return proc.stdout


class _Formulas(html.parser.HTMLParser):
    """Collects every arithmatex element: its text outside MathJax's output, whether it
    holds an ``mjx-container`` and whether that is an error."""

    def __init__(self):
        super().__init__()
        self.formulas: list[dict] = []
        self._stack: list[tuple[str, dict | None]] = []
        self._open: list[dict] = []  # the formulas being read (nested tags inside)
        self._in_output = 0  # depth inside mjx-container

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        formula = None
        if "arithmatex" in classes:
            formula = {"text": "", "rendered": False, "error": False}
            self.formulas.append(formula)
            self._open.append(formula)
        if self._open and tag == "mjx-container":
            self._open[-1]["rendered"] = True
            self._in_output += 1
        elif self._in_output and tag == "mjx-merror":
            self._open[-1]["error"] = True
        elif self._in_output and tag == "mjx-container":
            self._in_output += 1
        self._stack.append((tag, formula))

    def handle_endtag(self, tag):
        while self._stack:
            open_tag, formula = self._stack.pop()
            if open_tag == "mjx-container" and self._in_output:
                self._in_output -= 1
            if formula is not None:
                self._open.remove(formula)
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._open and not self._in_output:
            self._open[-1]["text"] += data


def check_page(page: Path, chrome: str, prefix: list[str]) -> list[str]:
    """The problems of one page (an empty list when every formula rendered)."""
    parser = _Formulas()
    parser.feed(rendered_dom(page, chrome, prefix))
    problems = []
    for f in parser.formulas:
        tex = " ".join(f["text"].split())[:80]
        if not f["rendered"]:
            problems.append(f"{page}: not rendered: {tex}")
        elif f["error"]:
            problems.append(f"{page}: MathJax error in a formula")
        elif "\\(" in f["text"] or "\\[" in f["text"]:
            problems.append(f"{page}: raw TeX left beside the rendering: {tex}")
    if not parser.formulas:
        problems.append(f"{page}: no formula found (was the page built with arithmatex?)")
    return problems


def pages_with_math(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if 'class="arithmatex"' in p.read_text())


def main(argv=None) -> int:
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("site", type=Path, help="the built site (mkdocs build --site-dir)")
    args.add_argument("pages", nargs="*", type=Path, help="pages to check (default: all)")
    args.add_argument(
        "--require-browser", action="store_true", help="fail when no browser is installed"
    )
    opts = args.parse_args(argv)
    chrome = browser()
    if chrome is None:
        print("check_math: no headless browser (chromium) found", file=sys.stderr)
        return 1 if opts.require_browser else 0
    pages = [opts.site / p for p in opts.pages] or pages_with_math(opts.site)
    if not pages:
        print(f"check_math: no page with a formula under {opts.site}", file=sys.stderr)
        return 1
    prefix = _offline_prefix()
    problems = [p for page in pages for p in check_page(page, chrome, prefix)]
    how = "a network namespace of its own" if prefix else "every host blocked"
    for line in problems:
        print(line, file=sys.stderr)
    print(
        f"check_math: {len(pages)} pages, formulas "
        f"{'NOT all rendered' if problems else 'all rendered'} offline ({how}, {chrome})"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    os.environ.setdefault("HOME", tempfile.gettempdir())
    sys.exit(main())
