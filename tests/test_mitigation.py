"""The comparison of remedies (`lpm reproduce mitigation`): its numbers against
independent solves, its thresholds against the exact test, its figure and its files."""

import json
import math

import numpy as np
import pytest

import lpm
from lpm.cli import main
from lpm.studies.mitigation import COLUMNS, REMEDIES, mitigation_study

R_GRID = [1.0, 3.0, 10.0, 150.0]


@pytest.fixture(scope="module")
def study():
    return mitigation_study(R=R_GRID)


def test_the_table_against_independent_solves(study):
    """Each row re-solved by the low-rank route (its own solver, its own certificate):
    the same optimum, and the same geometry read off its classifiers."""
    table = study.table
    assert table.columns == COLUMNS and len(table) == len(REMEDIES) * len(R_GRID)
    for row in table.rows:
        loss = (
            lpm.get_loss(row["remedy"]) if row["remedy"] not in ("none", "oversampling") else "ce"
        )
        sol = lpm.solve(
            5, 5, row["R"], 1.0, 5.0, loss=loss, oversample=row["oversample"], method="lowrank"
        )
        assert row["success"] and row["gap"] < 1e-12
        assert sol.objective == pytest.approx(row["objective"], abs=1e-8)
        norms = sol.classifier_norms()
        assert norms[5:].mean() / norms[:5].mean() == pytest.approx(row["minority_norm"], abs=1e-5)
        assert lpm.etf_distance(sol.W) == pytest.approx(row["etf_distance"], abs=1e-5)
        if row["minority_norm"] > 1e-3:
            cos = sol.classifier_cosines()[5:, 5:][np.triu_indices(5, 1)].mean()
            assert cos == pytest.approx(row["minority_cosine"], abs=1e-5)
        else:  # vanished: exactly 0 in the exact solve, noise in the low-rank one
            assert row["minority_vanished"] and math.isnan(row["minority_cosine"])
            assert norms[5:].max() < 1e-3
        assert row["minority_collapsed"] == (row["R"] >= row["R0"])


def test_balance_and_its_oversampled_twin_are_the_simplex_etf(study):
    rows = {(r["remedy"], r["R"]): r for r in study.table.rows}
    for name in ("none", "logit_adjusted", "cdt", "vs"):
        assert rows[(name, 1.0)]["etf_distance"] < 1e-12
        assert rows[(name, 1.0)]["minority_cosine"] == pytest.approx(-1 / 9, abs=1e-14)
    # oversampling by w_r = R restores the balanced weights exactly
    assert rows[("oversampling", 10.0)]["etf_distance"] < 1e-12


def test_thresholds_flip_the_exact_test(study):
    R0 = study.thresholds
    assert R0["oversampling"] == pytest.approx(10 * R0["none"], rel=1e-15)
    assert R0["vs"] < R0["cdt"] < R0["logit_adjusted"] < R0["none"] < R0["oversampling"]
    for name, threshold in R0.items():
        below, above = (
            lpm.solve(
                5,
                5,
                threshold * (1 + d),
                1.0,
                5.0,
                loss=REMEDIES[name][1],
                oversample=study.oversample if REMEDIES[name][2] else 1.0,
            )
            for d in (-1e-6, 1e-6)
        )
        assert below.minority_collapsed is False and above.minority_collapsed is True, name


def test_the_figure_marks_the_oversampling_threshold(study):
    from lpm.plotting.mitigation import mitigation_figure

    fig = mitigation_figure(study.table)
    axes = fig.get_axes()
    assert len(axes) == 3
    w_R0 = study.thresholds["oversampling"]
    marks = [l for l in axes[0].get_lines() if l.get_marker() == "D"]
    assert len(marks) == 1 and marks[0].get_xdata()[0] == pytest.approx(w_R0)
    assert any("w_r = R/R_0" in t.get_text() for t in axes[0].texts)


def test_cli_writes_the_figure_and_the_table(tmp_path, capsys):
    code = main(["reproduce", "mitigation", "--R", "1,10,100", "--out", str(tmp_path), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    for ext in ("png", "pdf", "csv", "json"):
        assert (tmp_path / f"mitigation.{ext}").stat().st_size > 0
    assert out["R0"]["vs"] == pytest.approx(5.016388562, rel=1e-9)
    assert len(out["rows"]) == 15
    data = json.loads((tmp_path / "mitigation.json").read_text())
    assert data["settings"]["oversample"] == 10.0
    code = main(["reproduce", "mitigation", "--seeds", "1"])
    assert code == 2 and "--seeds" in capsys.readouterr().err


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="remedies"):
        mitigation_study(remedies=("none", "focal"))
    with pytest.raises(ValueError, match="oversample"):
        mitigation_study(oversample=-1)
