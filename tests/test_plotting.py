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
    legend = fig.axes[0].get_legend() or fig.legends[0]  # under the axes since issue 15
    # (the E_H = 1 minority vanishes at the larger R: its legend entry is the third)
    labels = [t.get_text() for t in legend.get_texts() if "vanished" not in t.get_text()]
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


# -- what a reader sees (issue 15) --------------------------------------------------------
def _drawn(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_the_legend_does_not_cover_the_curves(plotting):
    R = 10 ** (0.1 * np.arange(41))
    fig = plotting.minority_cosine_figure(lpm.sweep(3, 7, R=R, E_W=1.0, E_H=[5.0, 10.0]))
    renderer = _drawn(fig)
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    ax = fig.axes[0]
    assert not box.overlaps(ax.get_window_extent(renderer))  # it sat over them
    assert not box.overlaps(ax.xaxis.label.get_window_extent(renderer))


def test_figure3_states_its_setting(plotting):
    fig = plotting.minority_cosine_figure(figure3_table())
    title = fig.axes[0].get_title()
    for part in ("K = 10", "K_A = 5", "K_B = 5", "E_W = 1", "E_H = 5"):
        assert part in title, title
    # a swept parameter is in the legend, not the title
    two = lpm.sweep(5, 5, R=[1.0, 10.0], E_W=1.0, E_H=[1.0, 5.0])
    assert "E_H" not in plotting.minority_cosine_figure(two).axes[0].get_title()


def test_curves_mark_where_the_minority_vanishes(plotting):
    # K_A = K_B = 5, E_W E_H = 1: the minority classifiers are 0 from R = 2.5 on; the
    # curve stopped there (NaN cosines dropped) and looked broken
    R = 10 ** (0.1 * np.arange(21))
    table = lpm.sweep(5, 5, R=R, E_W=1.0, E_H=1.0)
    gone = np.array([v is True for v in table["minority_vanished"]])
    assert gone.sum() >= 10 and np.all(np.isnan(table["minority_cosine"][gone]))
    fig = plotting.minority_cosine_figure(table)
    hollow = [
        ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "o" and ln.get_mfc() == "white"
    ]
    xs = np.concatenate([ln.get_xdata() for ln in hollow if len(ln.get_xdata())])
    np.testing.assert_array_equal(np.sort(xs), R[gone])
    assert all(np.all(np.asarray(ln.get_ydata()) == 1.0) for ln in hollow)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("vanished" in t and "w_k = 0" in t for t in labels)


def test_theorem5_markers_are_whole_and_labels_clear_the_ticks(plotting):
    check = lpm.verify_minority_collapse(10, 10, 1.0, 1.0)  # distances 0 and 1e-16 above R_0
    fig = check.plot()
    top, bottom = fig.axes
    collapsed = [ln for ln in top.get_lines() if ln.get_label() == "exactly collapsed"]
    assert collapsed and not collapsed[0].get_clip_on()  # clipped to half circles at y = 0
    renderer = _drawn(fig)
    for ax in (top, bottom):
        label = ax.yaxis.label.get_window_extent(renderer)
        for tick in ax.get_yticklabels():
            if tick.get_text():
                assert not label.overlaps(tick.get_window_extent(renderer))
    # rounding-level distances (zeros included) are shown on the rounding line
    texts = [t.get_text() for t in bottom.get_legend().get_texts()]
    assert any("rounding" in t for t in texts)


def test_heatmap_scale_separators_and_ticks_at_k_100(plotting):
    from lpm.plotting.heatmaps import class_ticks, color_limit

    sol = lpm.solve_counts(lpm.counts.step(100, 30, 20.0), 1.0, 5.0)  # the minority vanishes
    fig = plotting.geometry_figure(sol)
    ax = fig.axes[0]
    image = ax.get_images()[0]
    vmin, vmax = image.get_clim()
    off = sol.classifier_cosines()[:70, :70][~np.eye(70, dtype=bool)]
    # the scale is set by the off-diagonal cosines (-1/69): not lost next to the 1s
    assert vmax == -vmin and vmax < 0.05 and np.all(np.abs(off) >= 0.25 * vmax)
    assert color_limit([sol.classifier_cosines()]) == vmax
    lines = {ln.get_ydata()[0] for ln in ax.get_lines() if len(set(ln.get_ydata())) == 1}
    assert lines == {69.5}  # between classes 69 and 70, the group boundary
    labels = [int(t.get_text()) for t in ax.get_xticklabels()]
    assert labels == [0, 20, 40, 60, 80]  # classes from 0, as in the API; round steps
    assert list(class_ticks(1000)) == [0, 200, 400, 600, 800]
    assert "norm 0" in fig.get_suptitle()  # the vanished classes are said to be


def test_heatmap_separates_every_group_and_prints_readable_values(plotting):
    sol = lpm.solve_counts([9.0, 9.0, 3.0, 3.0, 3.0, 1.0, 1.0], 1.0, 5.0)
    fig = plotting.geometry_figure(sol)
    ax = fig.axes[0]
    lines = {ln.get_ydata()[0] for ln in ax.get_lines() if len(set(ln.get_ydata())) == 1}
    assert lines == {1.5, 4.5}  # three groups: two separators (one, at 4.5, before)
    sizes = {t.get_fontsize() for t in ax.texts}
    assert sizes and min(sizes) >= 6  # 4.5 pt before
