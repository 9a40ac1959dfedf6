"""MkDocs hook: the figures of the documentation are computed by lpm at build time, so
they always show what the code in this tree computes (no image is kept in the repo)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from mkdocs.structure.files import File

_TMP: list[str] = []


def _make_figures(directory: Path) -> list[str]:
    import numpy as np

    import lpm
    from lpm import plotting

    made = []

    def save(fig, stem):
        plotting.save_figure(fig, directory, stem, formats=("png",))
        made.append(f"figures/{stem}.png")

    R = 10.0 ** (0.1 * np.arange(41))
    save(plotting.minority_cosine_figure(lpm.sweep(5, 5, R=R, E_W=1.0, E_H=5.0)), "figure3")
    save(
        plotting.minority_cosine_figure(lpm.sweep(5, 5, R=R, E_W=1.0, E_H=[1.0, 5.0, 10.0])),
        "figure3_budgets",
    )
    save(lpm.verify_minority_collapse(5, 5, 1.0, 5.0).plot(), "theorem5")
    phase = lpm.phase_diagram([(5, 5), (2, 8), (8, 2)], EWEH=np.geomspace(0.1, 10.0, 9))
    save(plotting.phase_figure(phase), "phase")
    save(plotting.geometry_figure(lpm.solve(5, 5, 5.0, 1.0, 5.0)), "geometry")
    over = lpm.sweep(5, 5, R=1000.0, E_W=1.0, E_H=5.0, oversample=np.geomspace(1, 1000, 16))
    save(plotting.curve_figure(over, "oversample", "minority_cosine"), "oversampling")
    save(plotting.limits_figure(5, 5, 10.0), "limits")
    save(plotting.mitigation_figure(lpm.mitigation_study().table), "mitigation")
    _network_figures(save)
    return made


def _network_figures(save) -> None:
    """The trained-network page: a small version of the digits experiment (one seed, three
    imbalances: about 20 s) and the comparison of one of its networks with the LPM."""
    import lpm
    from lpm import plotting
    from lpm.studies import network

    save(plotting.network_figure(lpm.digits_experiment(R=(2, 10, 50), seeds=(0,))), "network")
    X, y = network.digits_subset(10.0, 0)
    net = network.train_mlp(X, y, seed=0)
    c = lpm.compare(net.W, net.features, y, center="global", bias=net.bias, minority=range(5, 10))
    save(c.plot(), "network_compare")


def on_files(files, config):
    tmp = tempfile.mkdtemp(prefix="lpm-docs-")
    _TMP.append(tmp)
    figures = Path(tmp) / "figures"
    for path in _make_figures(figures):
        files.append(File(path, tmp, config["site_dir"], config["use_directory_urls"]))
    return files


def on_post_build(config):
    while _TMP:
        shutil.rmtree(_TMP.pop(), ignore_errors=True)


def _command_help(command: str) -> str:
    import contextlib
    import io
    import os

    from lpm.cli import main

    os.environ["COLUMNS"] = "90"  # argparse wraps to the terminal width: make it fixed
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        main([command, "--help"])
    return buffer.getvalue().rstrip()


def on_page_markdown(markdown, page, config, files):
    """Replace ``<!-- lpm-help COMMAND -->`` by the command's ``--help`` text."""
    import re

    def repl(match):
        return "```text\n" + _command_help(match.group(1)) + "\n```"

    return re.sub(r"<!-- lpm-help (\w+) -->", repl, markdown)
