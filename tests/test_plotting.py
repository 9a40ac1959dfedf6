"""Figures: written as PNG and vector PDF, labelled in the model's symbols, with the
threshold and the reference level where the mathematics puts them."""

import numpy as np
import pytest

import lpm
from lpm.studies.sweep import figure3_table

# lpm.plotting is imported by the fixture, not at collection, so that the examples
# Hypothesis draws elsewhere do not depend on which test files are collected (it draws
# partly from the literals of the loaded local modules).


@pytest.fixture(scope="module")
def plotting():
    from lpm import plotting

    return plotting


def _saved(fig, tmp_path, stem):
    from lpm import plotting

    paths = plotting.save_figure(fig, tmp_path, stem)
    png, pdf = paths
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    head = pdf.read_bytes()
    assert head[:5] == b"%PDF-" and b"/FontFile2" in head  # TrueType fonts embedded
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(stem)) == [
        f"{stem}.pdf",
        f"{stem}.png",
    ]  # no temporary files left behind
    return paths


def test_figure3_marks_R0_and_the_etf_level(tmp_path, plotting):
    table = figure3_table()
    fig = plotting.minority_cosine_figure(table)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert "R" in ax.get_xlabel() and "cos" in ax.get_ylabel()
    R0 = lpm.collapse_threshold(5, 5, 1, 5)
    vertical = [ln.get_xdata()[0] for ln in ax.get_lines() if len(set(ln.get_xdata())) == 1]
    horizontal = [ln.get_ydata()[0] for ln in ax.get_lines() if len(set(ln.get_ydata())) == 1]
    assert any(x == pytest.approx(R0) for x in vertical)
    assert any(y == pytest.approx(-1 / 9) for y in horizontal)
    curve = max(ax.get_lines(), key=lambda ln: len(ln.get_xdata()))
    np.testing.assert_array_equal(curve.get_ydata(), table["minority_cosine"])
    _saved(fig, tmp_path, "fig3")


def test_one_curve_per_setting_with_its_own_threshold(tmp_path, plotting):
    table = lpm.sweep(5, 5, R=np.geomspace(1, 1e3, 13), E_W=1, E_H=[1.0, 5.0])
    fig = plotting.minority_cosine_figure(table)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(labels) == 2 and all("E_H" in s and "R_0" in s for s in labels)
    _saved(fig, tmp_path, "multi")


def test_curve_of_another_column_against_the_budget(tmp_path, plotting):
    table = lpm.sweep(5, 5, R=100.0, EWEH=np.geomspace(0.1, 10, 7))
    fig = plotting.curve_figure(table, "EWEH", "objective")
    assert "E_W E_H" in fig.axes[0].get_xlabel()
    with pytest.raises(ValueError, match="columns of the table"):
        plotting.curve_figure(table, "R", "nope")
    _saved(fig, tmp_path, "objective")


def test_phase_theorem5_and_geometry_figures(tmp_path, plotting):
    phase = lpm.phase_diagram([(5, 5), (2, 8)], EWEH=[0.3, 1.0, 3.0])
    fig = plotting.phase_figure(phase)
    assert fig.axes[0].get_yscale() == "log" and "R_0" in fig.axes[0].get_ylabel()
    _saved(fig, tmp_path, "phase")

    check = lpm.verify_minority_collapse(5, 5, 1, 5, R_grid=np.geomspace(1, 1e3, 16))
    fig = check.plot()
    assert len(fig.axes) == 2
    _saved(fig, tmp_path, "thm5")

    fig = plotting.geometry_figure(lpm.solve(5, 5, 30.0, 1, 5))
    image = fig.axes[0].get_images()[0].get_array()
    assert image.shape == (10, 10)
    np.testing.assert_allclose(image[5:, 5:], 1.0)  # the collapsed minority block
    _saved(fig, tmp_path, "geometry")


def test_figures_leave_pyplot_alone(plotting):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plotting.minority_cosine_figure(lpm.sweep(5, 5, R=[1.0, 100.0], E_W=1, E_H=5))
    assert plt.get_fignums() == before
