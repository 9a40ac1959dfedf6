"""Sweeps: the grid, the table's numbers against single solves and closed forms, exact
equality of serial, chunked, threaded and Dask runs, and the CSV/JSON/pandas output."""

import concurrent.futures
import csv
import io
import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lpm
from lpm.studies.sweep import FIGURE3, PARAMETERS, RESULT_COLUMNS, figure3_table

R41 = FIGURE3["R"]


def test_grid_is_the_cartesian_product_with_R_fastest():
    t = lpm.sweep([2, 3], 2, R=[1.0, 10.0, 100.0], E_W=1, E_H=[1.0, 5.0])
    assert len(t) == 2 * 2 * 3
    assert t.swept == ("K_A", "K", "R", "E_H", "EWEH")
    assert list(t["R"][:3]) == [1.0, 10.0, 100.0]
    assert list(t["E_H"][:6]) == [1.0] * 3 + [5.0] * 3
    assert list(t["K_A"]) == [2] * 6 + [3] * 6
    assert t.columns[: len(PARAMETERS) + 1] == (
        "K_A",
        "K_B",
        "K",
        "R",
        "E_W",
        "E_H",
        "EWEH",
        "oversample",
    )
    assert t.columns[8:] == RESULT_COLUMNS


def test_rows_equal_single_solves_exactly():
    t = lpm.sweep(3, 4, R=[1.0, 2.5, 40.0, math.inf], E_W=0.5, E_H=3.0)
    for row in t:
        sol = lpm.solve(3, 4, row["R"], 0.5, 3.0)
        assert row["objective"] == sol.objective
        assert row["gap"] == sol.gap and row["gap"] < 1e-12
        assert row["minority_cosine"] == sol.minority_cosine
        assert row["minority_collapsed"] == sol.minority_collapsed
        rep = sol.collapse
        assert row["minority_within"] == rep.within[rep.minority_group]
        assert row["status"] == "optimal" and row["success"] is True


def test_figure3_curve_runs_from_the_etf_to_exact_collapse_at_R0():
    t = figure3_table()
    cos = t["minority_cosine"]
    assert cos[0] == pytest.approx(-1 / 9, abs=1e-15)
    assert cos[-1] == 1.0
    R0 = lpm.collapse_threshold(5, 5, 1, 5)
    assert list(t["minority_collapsed"]) == [bool(r >= R0) for r in R41]
    # collapsed exactly: s_B and the largest minority distance are 0, not small
    collapsed = t["R"] >= R0
    assert np.all(t["minority_within"][collapsed] == 0.0)
    assert np.all(t["minority_distance"][collapsed] == 0.0)
    assert np.all(t["minority_within"][~collapsed] > 0.0)
    assert np.all(np.diff(cos[~collapsed]) > 0)  # the cosine rises to its collapse
    assert np.max(t["gap"]) < 1e-12


def test_the_budget_product_is_all_that_matters():
    by_product = lpm.sweep(4, 3, R=[1.0, 7.0, 300.0], EWEH=[0.5, 6.0])
    by_split = lpm.sweep(4, 3, R=[1.0, 7.0, 300.0], E_W=2.0, E_H=[0.25, 3.0])
    for a, b in zip(by_product, by_split):
        assert a["EWEH"] == b["EWEH"]
        assert a["objective"] == pytest.approx(b["objective"], rel=1e-13)
        assert a["minority_cosine"] == pytest.approx(b["minority_cosine"], abs=1e-13, nan_ok=True)
        assert a["minority_collapsed"] == b["minority_collapsed"]
    with pytest.raises(ValueError, match="E_H or EWEH"):
        lpm.sweep(4, 3, R=1.0, E_H=2.0, EWEH=3.0)


def test_oversampling_by_R_restores_the_balanced_optimum():
    R = 50.0
    t = lpm.sweep(3, 5, R=R, E_W=1.0, E_H=2.0, oversample=[1.0, 5.0, 20.0, R])
    balanced = lpm.balanced_optimum(8, 1.0, 2.0)
    last = t.rows[-1]
    assert last["objective"] == pytest.approx(balanced.objective, rel=1e-13)
    assert last["minority_cosine"] == pytest.approx(-1 / 7, abs=1e-13)
    assert last["majority_cosine"] == pytest.approx(-1 / 7, abs=1e-13)
    # the effective imbalance is R / w_r: same loss weights, same solution
    plain = lpm.sweep(3, 5, R=[R / w for w in t["oversample"]], E_W=1.0, E_H=2.0)
    np.testing.assert_allclose(t["objective"], plain["objective"], rtol=1e-13)
    np.testing.assert_allclose(t["minority_cosine"], plain["minority_cosine"], atol=1e-13)
    assert list(t["minority_collapsed"]) == list(plain["minority_collapsed"])


def test_sweep_over_class_counts_mixes_group_structures():
    t = lpm.sweep([2, 3, 4], [2, 3], R=20.0, E_W=1, E_H=1)
    assert len(t) == 6
    for row in t:
        assert row["K"] == row["K_A"] + row["K_B"]
        R0 = lpm.collapse_threshold(row["K_A"], row["K_B"], 1, 1)
        assert row["minority_collapsed"] == (20.0 >= R0)


def test_nuclear_method_agrees_with_reduced_on_a_small_sweep():
    grid = dict(R=[1.0, 4.0, 30.0], E_W=1.0, E_H=2.0)
    red = lpm.sweep(2, 2, **grid)
    nuc = lpm.sweep(2, 2, method="nuclear", **grid)
    assert set(nuc["method"]) == {"nuclear"}
    np.testing.assert_allclose(nuc["objective"], red["objective"], atol=1e-7)
    np.testing.assert_allclose(nuc["minority_cosine"], red["minority_cosine"], atol=1e-4)
    # the collapse flag is exact whatever method produced the numbers
    assert list(nuc["minority_collapsed"]) == list(red["minority_collapsed"])


# -- execution: chunks, threads, Dask ---------------------------------------------------
def _big_sweep(**kw):
    return lpm.sweep([3, 5], 5, R=R41, E_W=1.0, E_H=[1.0, 5.0], **kw)


def test_chunking_and_threads_give_the_serial_numbers_exactly():
    serial = _big_sweep()
    assert len(serial) == 164
    assert serial.equals(_big_sweep(chunksize=7))
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        threaded = _big_sweep(executor=pool, chunksize=5)
        threaded_default = _big_sweep(executor=pool)
    assert serial.equals(threaded) and serial.equals(threaded_default)
    # equals compares every value but the time
    changed = _big_sweep()
    one_ulp = np.nextafter(changed.rows[3]["objective"], 1.0)
    changed.rows[3] = {**changed.rows[3], "objective": float(one_ulp)}
    assert not serial.equals(changed)


def test_dask_local_cluster_gives_the_serial_numbers_exactly():
    distributed = pytest.importorskip("distributed")
    serial = lpm.sweep(5, 5, R=R41, E_W=1.0, E_H=[1.0, 5.0])
    phase = lpm.phase_diagram([(5, 5), (2, 8)], EWEH=[0.5, 1.0, 3.0, 10.0])
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        executor = client.get_executor()
        remote = lpm.sweep(5, 5, R=R41, E_W=1.0, E_H=[1.0, 5.0], executor=executor, chunksize=9)
        # chunks of 3 cut the paths along E_W E_H: the thresholds do not depend on it
        remote_phase = lpm.phase_diagram(
            [(5, 5), (2, 8)], EWEH=[0.5, 1.0, 3.0, 10.0], executor=executor, chunksize=3
        )
    assert serial.equals(remote)
    assert phase.equals(remote_phase)


def test_executor_and_chunksize_are_checked():
    with pytest.raises(ValueError, match="executor must be a concurrent.futures.Executor"):
        lpm.sweep(5, 5, R=[1.0, 2.0], executor="threads")
    with pytest.raises(ValueError, match="chunksize"):
        lpm.sweep(5, 5, R=[1.0, 2.0], chunksize=0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(R=[]), "R must have at least one value"),
        (dict(R=[1.0, -2.0]), "R must be"),
        (dict(R=1.0, E_W=[1.0, float("nan")]), "E_W must be"),
        (dict(R=1.0, oversample=0.0), "oversample must be"),
        (dict(R=[[1.0, 2.0]]), "R must be a number or a 1-D sequence"),
        (dict(R="10"), "R must be a number or a sequence"),
        (dict(R=1.0, method="bogus"), "method must be one of"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lpm.sweep(5, 5, **kwargs)
    with pytest.raises(ValueError, match="K_B must be an integer"):
        lpm.sweep(5, [2, 0], R=1.0)


# -- progress bar ----------------------------------------------------------------------
def test_progress_bar_only_when_asked_or_on_a_terminal(capsys):
    pytest.importorskip("tqdm")
    lpm.sweep(5, 5, R=[1.0, 10.0])  # auto: stderr is not a terminal under pytest
    assert capsys.readouterr().err == ""
    lpm.sweep(5, 5, R=[1.0, 10.0], progress=True)
    assert "2/2" in capsys.readouterr().err
    lpm.sweep(5, 5, R=[1.0, 10.0], progress=False)
    assert capsys.readouterr().err == ""


# -- output ------------------------------------------------------------------------------
def test_csv_reads_back_to_the_same_floats(tmp_path):
    t = lpm.sweep(5, 5, R=[1.0, 12.0, 13.0, math.inf], E_W=1, E_H=5)
    path = tmp_path / "sweep.csv"
    text = t.to_csv(path)
    assert path.read_text() == text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(t.columns)
    for back, row in zip(rows, t.rows):
        assert float(back["minority_cosine"]) == row["minority_cosine"]
        assert float(back["objective"]) == row["objective"]
        assert float(back["R"]) == row["R"]
        assert back["minority_collapsed"] == str(row["minority_collapsed"])
    assert rows[-1]["R"] == "inf"


def test_json_is_strict_and_complete(tmp_path):
    t = lpm.sweep([5], [1, 5], R=[1.0, math.inf], E_W=1, E_H=5)
    data = json.loads(t.to_json(tmp_path / "t.json"), parse_constant=_reject)
    assert data["columns"] == list(t.columns)
    assert data["swept"] == list(t.swept)
    assert len(data["rows"]) == 4
    one_minority = data["rows"][0]
    assert one_minority["minority_cosine"] is None  # NaN: a single minority class
    assert one_minority["minority_collapsed"] is None
    assert data["rows"][1]["R"] == "inf"
    assert data["rows"][3]["minority_cosine"] == t.rows[3]["minority_cosine"]
    assert json.loads((tmp_path / "t.json").read_text()) == data


def _reject(name):
    raise AssertionError(f"non-standard JSON constant {name}")


def test_pandas_dataframe():
    pd = pytest.importorskip("pandas")
    t = lpm.sweep(5, 5, R=[1.0, 100.0], E_W=1, E_H=5)
    df = t.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == list(t.columns)
    assert df["minority_cosine"].tolist() == list(t["minority_cosine"])


def test_sweep_models_for_any_class_sizes():
    models = [lpm.Model([10, 10, 3, 1, 1], 1.0, e) for e in (0.5, 2.0)]
    t = lpm.sweep_models(models, [{"EWEH": 0.5}, {"EWEH": 2.0}])
    assert t.swept == ("EWEH",)
    for row, m in zip(t, models):
        assert row["objective"] == lpm.solve_model(m).objective
    with pytest.raises(ValueError, match="one dict per model"):
        lpm.sweep_models(models, [{"a": 1}])
    with pytest.raises(ValueError, match="models must hold"):
        lpm.sweep_models([])


def _model_state(model) -> dict:
    """A model's attributes, arrays as (dtype, shape, values) and groups by their arrays,
    for an exact comparison of two models."""
    state = {}
    for key, value in vars(model).items():
        if key == "groups":
            value = tuple(_model_state_value(getattr(value, a)) for a in ("sizes", "weights"))
            value += (tuple(sorted(vars(model.groups))),)
        state[key] = _model_state_value(value)
    return state


def _model_state_value(value):
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, value.view(np.uint8).tobytes())
    return value


@settings(max_examples=150)
@given(
    K_A=st.integers(1, 40),
    K_B=st.integers(1, 40),
    R0=st.floats(1e-3, 1e6),
    R=st.one_of(st.floats(1e-300, 1e300), st.just(math.inf), st.just(2.0)),
    E_W=st.floats(0.1, 10.0),
    E_H=st.floats(0.1, 10.0),
    w=st.one_of(st.just(1.0), st.just(2.0), st.floats(0.01, 100.0)),
    fixed=st.booleans(),
)
def test_a_curve_model_at_another_ratio_is_the_model_built_in_full(
    K_A, K_B, R0, R, E_W, E_H, w, fixed
):
    # the sweep builds a curve's first model in full and the others by _at_ratio: they
    # must be the very models Model.two_group builds (every attribute, bit for bit), and
    # refuse what it refuses
    options = dict(oversample=w, fixed_classifier="etf" if fixed else None)
    first = lpm.Model.two_group(K_A, K_B, R0, E_W, E_H, **options)
    try:
        full = lpm.Model.two_group(K_A, K_B, R, E_W, E_H, **options)
    except ValueError as err:
        with pytest.raises(ValueError, match=re.escape(str(err))):
            first._at_ratio(R)
        return
    fast = first._at_ratio(R)
    assert type(fast) is type(full)
    assert _model_state(fast) == _model_state(full)
    assert fast.label == full.label and fast.tau == full.tau
    np.testing.assert_array_equal(fast.pi, full.pi)


def test_a_class_dependent_curve_model_is_built_in_full():
    first = lpm.Model.two_group(3, 4, 5.0, loss="ldam")
    fast, full = first._at_ratio(50.0), lpm.Model.two_group(3, 4, 50.0, loss="ldam")
    assert fast.label == full.label
    np.testing.assert_array_equal(fast.pi, full.pi)
    assert fast.loss == full.loss
    with pytest.raises(ValueError, match="R must be"):
        first._at_ratio(-1.0)


def test_a_model_with_other_budgets_at_another_ratio_is_the_model_built_in_full():
    first = lpm.Model.two_group(3, 4, 5.0, 1.0, 1.0, oversample=2.0).with_budgets(0.5, 3.0)
    full = lpm.Model.two_group(3, 4, 80.0, 0.5, 3.0, oversample=2.0)
    assert _model_state(first._at_ratio(80.0)) == _model_state(full)
