"""The C route of the two-group Newton solver (``lpm/solvers/_two_group_newton.c``) against
the pure-Python one, bit for bit: every problem's state (x, held, converged, message,
iterations, history, the final evaluation) and its ``_point``, on random problems, the
Figure-3 curve and each path of the solver."""

import importlib
import inspect
import math
import os
import shutil
import subprocess
import sys
import sysconfig

import numpy as np
import pytest
from conftest import assert_same_row, float_bits
from hypothesis import given, settings
from hypothesis import strategies as st

import lpm
from lpm.certificates import SolverError
from lpm.solvers import compiled, small_systems, two_groups
from lpm.solvers.two_group_batch import TwoGroupBatch
from lpm.solvers.two_group_objective import TwoGroupObjective
from lpm.studies.sweep import decades

try:  # imported directly: compared even where LPM_PURE_PYTHON turns the route off
    ext = importlib.import_module("lpm.solvers._two_group_newton")
except ImportError:
    ext = None

needs_ext = pytest.mark.skipif(ext is None, reason="the C extension is not built")


def test_the_extension_is_built_where_a_compiler_is():
    cc = (sysconfig.get_config_var("CC") or "").split()
    if not cc or shutil.which(cc[0]) is None:
        pytest.skip("no C compiler: the pure-Python route alone")
    assert ext is not None, (
        "a C compiler is available but lpm.solvers._two_group_newton is not built: "
        "pip install -e . (or python setup.py build_ext --inplace)"
    )
    assert two_groups.COMPILED is not compiled.PURE_PYTHON


def test_lpm_pure_python_turns_the_route_off():
    code = "from lpm.solvers import two_groups; print(two_groups.COMPILED)"
    env = dict(os.environ, LPM_PURE_PYTHON="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def _bits(obj):
    """``obj`` (nested tuples and lists of floats, ints, bools, strings) with its types
    and float bits (-0.0 told apart; a NaN is any NaN: CPython itself gives a NaN either
    sign, by whether its interpreter has specialised the operation yet)."""
    if isinstance(obj, float):
        return ("float", "nan" if math.isnan(obj) else float_bits([obj])[0])
    if isinstance(obj, tuple | list):
        return (type(obj).__name__, [_bits(v) for v in obj])
    assert isinstance(obj, bool | int | str), type(obj)
    return (type(obj).__name__, obj)


def _structural(K1, K2, force_zero):
    return [False, False, K1 == 1 or 0 in force_zero, K2 == 1 or 1 in force_zero]


def _python(K1, K2, weights, tau, force_zero=(), starts=None, max_iter=200, tol=1e-24):
    """solve_two_group_batch's loop in Python: ``(point, state)`` per problem."""
    K = K1 + K2
    q = (math.sqrt(K2 / K), -math.sqrt(K1 / K))
    structural = _structural(K1, K2, force_zero)
    out = []
    for i, (pi1, pi2) in enumerate(weights):
        problem = TwoGroupObjective(K1, K2, K1 * pi1, K2 * pi2, tau[i])
        start = None if starts is None else starts[i]
        state = two_groups.solve_one(problem, structural, structural, start, max_iter, tol)
        out.append((two_groups._point(problem, q, state), state))
    return out


def _compare(K1, K2, weights, tau, force_zero=(), starts=None, max_iter=200, tol=1e-24):
    """The C route's problems the same bits as Python's, and its columns (solve_columns,
    the deferred problems put in from Python) the same batch as Python's stacked; returns
    the C results (None: solved again in Python)."""
    structural = _structural(K1, K2, force_zero)
    args = (K1, K2, weights, tau, structural, starts, max_iter, tol)
    fast = ext.solve_batch(*args)
    slow = _python(K1, K2, weights, tau, force_zero, starts, max_iter, tol)
    assert len(fast) == len(slow)
    for c, p in zip(fast, slow):
        if c is not None:
            assert _bits(c) == _bits(p)
    columns = ext.solve_columns(*args)
    assert columns[0] == [i for i, c in enumerate(fast) if c is None]
    deferred = {i: slow[i] for i in columns[0]}
    batch = TwoGroupBatch.from_columns(columns, deferred, weights, tau)
    assert _batch_bits(batch) == _batch_bits(TwoGroupBatch.stack(slow, weights, tau))
    return fast


def _model_weights(K1, K2, R, EWEH):
    """``(weights, tau)`` of ``lpm.Model.two_group`` (equal weights: one group there)."""
    model = lpm.Model.two_group(K1, K2, R, 1.0, EWEH)
    w = [float(v) for v in model.groups.weights]
    return (w * 2 if len(w) == 1 else w), float(model.tau)


def _figure3():
    pairs = [_model_weights(5, 5, 10 ** (0.1 * i), 5.0) for i in range(41)]
    return [w for w, _ in pairs], [t for _, t in pairs]


def _lines(function, call):
    """The lines of ``function`` (relative to its ``def``) that ``call()`` runs."""
    code, seen, previous = function.__code__, set(), sys.gettrace()

    def tracer(frame, event, arg):
        if frame.f_code is code:
            if event == "line":
                seen.add(frame.f_lineno - code.co_firstlineno)
            return tracer
        return None

    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(previous)
    return seen


def _line(function, text):
    """The line of ``function`` (relative to its ``def``) holding ``text``."""
    (at,) = [i for i, line in enumerate(inspect.getsourcelines(function)[0]) if text in line]
    return at


def _runs(text, K1, K2, weights, tau, force_zero=(), starts=None, function=None):
    function = function or two_groups.solve_one
    call = lambda: _python(K1, K2, weights, tau, force_zero, starts)  # noqa: E731
    return _line(function, text) in _lines(function, call)


@st.composite
def problems(draw):
    K1, K2 = draw(st.integers(1, 60)), draw(st.integers(1, 60))
    n = draw(st.integers(1, 4))
    logR = draw(st.lists(st.floats(-8.0, 8.0), min_size=n, max_size=n))
    logE = draw(st.lists(st.floats(-3.0, 3.0), min_size=n, max_size=n))
    weights = [[10.0**r / (K1 * 10.0**r + K2), 1.0 / (K1 * 10.0**r + K2)] for r in logR]
    tau = [(K1 + K2) * math.sqrt(10.0**e) for e in logE]
    force_zero = draw(st.sampled_from([(), (), (0,), (1,), (0, 1)]))
    starts = None
    if draw(st.booleans()):  # warm starts: the y of other problems of the same sizes
        shift = draw(st.floats(-2.0, 2.0))
        other = [[w[0] * 10.0**shift, w[1]] for w in weights]
        solved = _python(K1, K2, other, tau[::-1], force_zero)
        cold = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        starts = [None if c else np.array(s[1][0]) for c, s in zip(cold, solved)]
    return K1, K2, weights, tau, force_zero, starts


@needs_ext
@settings(max_examples=300)
@given(problems(), st.sampled_from([200, 200, 4, 1, 0]), st.sampled_from([1e-24, 1e-10, 0.0]))
def test_random_problems_get_the_same_bits(problem, max_iter, tol):
    K1, K2, weights, tau, force_zero, starts = problem
    try:
        _python(K1, K2, weights, tau, force_zero, starts, max_iter, tol)
    except SolverError:  # the C route defers such a problem to Python, which raises
        structural = _structural(K1, K2, force_zero)
        fast = ext.solve_batch(K1, K2, weights, tau, structural, starts, max_iter, tol)
        assert None in fast
        return
    _compare(K1, K2, weights, tau, force_zero, starts, max_iter, tol)


def _batch_bits(batch):
    """The batch's arrays (bits, dtypes, shapes, read-only) and lists (types and bits)."""
    arrays = (batch.M, batch.s, batch.multiplier, batch.kkt_slack, batch.y, batch.weights)
    arrays += (batch.tau,)
    lists = (batch.iterations, batch.converged, batch.messages, batch.histories)
    form = [(a.dtype, a.shape, a.flags.writeable) for a in (*arrays, batch.fixed)]
    values = [_bits(a.ravel().tolist()) for a in arrays]
    return values, batch.fixed.tolist(), form, _bits(lists)


def _both_routes(monkeypatch, *args, **options):
    """solve_two_group_batch through the C route and through Python: its bits."""
    monkeypatch.setattr(two_groups, "_compiled", ext)
    monkeypatch.setattr(two_groups, "COMPILED", True)
    fast = _batch_bits(two_groups.solve_two_group_batch(*args, **options))
    monkeypatch.setattr(two_groups, "COMPILED", False)
    slow = _batch_bits(two_groups.solve_two_group_batch(*args, **options))
    assert fast == slow


@needs_ext
def test_the_figure3_curve(monkeypatch):
    weights, tau = _figure3()
    assert None not in _compare(5, 5, weights, tau)
    _both_routes(monkeypatch, (5, 5), weights, tau)
    # and the sweep's rows, batch and all, under both routes
    monkeypatch.setattr(two_groups, "_compiled", ext)
    rows = {}
    for route in (True, False):
        monkeypatch.setattr(two_groups, "COMPILED", route)
        rows[route] = lpm.sweep(5, 5, R=decades(41), E_W=1.0, E_H=5.0).rows
    for fast, slow in zip(rows[True], rows[False], strict=True):
        assert_same_row(fast, slow)


@needs_ext
def test_the_vanishing_phase_and_the_release_from_it():
    # E_W E_H = 1e-3: M = 0 reached by a step
    weights, tau = _model_weights(5, 5, 30.0, 1e-3)
    (fast,) = _compare(5, 5, [weights], [tau])
    assert fast[1][1][1] is True  # held at r = 0
    # a warm start at r = 0 where M is not 0 at the optimum: released along -df/dmu
    weights, tau = _model_weights(5, 5, 3.0, 5.0)
    start = [np.array([0.0, 0.0, 0.5, 0.5])]
    assert _runs("x[0] = math.atan2(-ev[5][1], -ev[5][0])", 5, 5, [weights], [tau], (), start)
    (fast,) = _compare(5, 5, [weights], [tau], starts=start)
    assert fast[1][0][1] > 0.0


@needs_ext
def test_a_collapse_reached_by_a_step():
    # warm from a point off the collapse, at an R where the minority collapses
    weights, tau = _model_weights(5, 5, 100.0, 5.0)
    start = [np.array([-0.5, 0.3, 0.4, 0.3])]
    assert _runs("if i > 1 and not structural[i]", 5, 5, [weights], [tau], (), start)
    (fast,) = _compare(5, 5, [weights], [tau], starts=start)
    assert fast[0][3] == (False, True)


@needs_ext
@pytest.mark.parametrize("K1, K2", [(1, 7), (6, 1), (1, 1), (1, 2)])
def test_one_class_groups(K1, K2):
    for R in (0.01, 1.0, 30.0):
        weights, tau = _model_weights(K1, K2, R, 2.0)
        assert None not in _compare(K1, K2, [weights], [tau])


@needs_ext
@pytest.mark.parametrize("force_zero", [(0,), (1,), (0, 1)])
def test_forced_collapses(force_zero):
    weights, tau = _figure3()
    assert None not in _compare(5, 5, weights[::5], tau[::5], force_zero)


@needs_ext
def test_the_lapack_fallback_is_solved_in_python(monkeypatch):
    # a warm start whose 3 x 3 step has eigenvalues too close for the closed form
    weights, tau = [3.902308352551559e-10, 0.01818181811796223], 526.7489423384511
    start = [np.array([-0.001527145435092899, 0.0, 1.0, 0.0])]
    fn = small_systems.newton_direction
    assert _runs("ev, U = np.linalg.eigh(full)", 9, 55, [weights], [tau], (), start, fn)
    assert _compare(9, 55, [weights], [tau], starts=start) == [None]
    _both_routes(monkeypatch, (9, 55), [weights] * 3, [tau] * 3, starts=start * 3)
    # mixed with problems the C route solves, in one batch
    starts = [None, start[0], None]
    assert [c is None for c in _compare(9, 55, [weights] * 3, [tau] * 3, starts=starts)] == [
        False,
        True,
        False,
    ]
    _both_routes(monkeypatch, (9, 55), [weights] * 3, [tau] * 3, starts=starts)


@needs_ext
def test_any_problem_the_c_route_defers_is_solved_in_python(monkeypatch):
    class Deferring:  # the C route, deferring every other problem (its rows spoilt)
        @staticmethod
        def solve_columns(*args):
            _, *buffers, iterations, converged, messages, histories = ext.solve_columns(*args)
            n = len(iterations)
            spoilt = []
            for b in buffers:
                a = np.frombuffer(b, np.uint8).reshape(n, -1).copy()
                a[1::2] = 0xFF  # NaN, and a bool neither 0 nor 1
                spoilt.append(a.tobytes())
            lists = (iterations, converged, messages, histories)
            lists = [[None if i % 2 else v for i, v in enumerate(c)] for c in lists]
            return (list(range(1, n, 2)), *spoilt, *lists)

    weights, tau = _figure3()
    monkeypatch.setattr(two_groups, "_compiled", Deferring)
    monkeypatch.setattr(two_groups, "COMPILED", True)
    fast = _batch_bits(two_groups.solve_two_group_batch((5, 5), weights, tau))
    monkeypatch.setattr(two_groups, "COMPILED", False)
    assert fast == _batch_bits(two_groups.solve_two_group_batch((5, 5), weights, tau))


@needs_ext
def test_the_loss_below_double_range_raises_on_both_routes(monkeypatch):
    weights, tau = [10 / 55, 1 / 55], 10 * math.sqrt(1e6)  # (Model refuses it)
    monkeypatch.setattr(two_groups, "_compiled", ext)
    errors = []
    for route in (True, False):
        monkeypatch.setattr(two_groups, "COMPILED", route)
        with pytest.raises(SolverError) as info:
            two_groups.solve_two_group_batch((5, 5), [weights], [tau])
        errors.append(str(info.value))
    assert errors[0] == errors[1]


@needs_ext
@settings(max_examples=300)
@given(
    st.integers(1, 3),
    st.lists(st.floats(-1e3, 1e3, allow_subnormal=True), min_size=9, max_size=9),
    st.sampled_from(["random", "identity", "close", "rank one"]),
)
def test_newton_direction(n, values, kind):
    if kind == "identity":  # a multiple of the identity (LAPACK in Python)
        H = [values[0], 0.0, values[0], 0.0, 0.0, values[0]]
    elif kind == "close":  # two eigenvalues nearly equal
        H = [values[0], 1e-9 * values[1], values[0] * (1 + 1e-9), 0.0, 0.0, values[2]]
    elif kind == "rank one":
        u = values[:3]
        H = [u[0] * u[0], u[1] * u[0], u[1] * u[1], u[2] * u[0], u[2] * u[1], u[2] * u[2]]
    else:
        H = values[:6]
    H, g = H[: n * (n + 1) // 2], values[6 : 6 + n]
    try:
        slow = small_systems.newton_direction(H, g)
    except (ZeroDivisionError, ValueError, OverflowError):
        assert ext.newton_direction(H, g) is None
        return
    fast = ext.newton_direction(H, g)
    if fast is None:  # deferred: LAPACK (order 3 only)
        assert n == 3 and small_systems.eigh3(H) is None
    else:
        assert _bits(fast) == _bits(slow)


@needs_ext
@settings(max_examples=300)
@given(
    st.integers(1, 60),
    st.integers(1, 60),
    st.floats(-8, 8),
    st.floats(-3, 3),
    st.lists(st.floats(-10.0, 10.0), min_size=4, max_size=4),
)
def test_derivatives(K1, K2, logR, logE, x):
    w1, w2 = 10.0**logR / (K1 * 10.0**logR + K2), 1.0 / (K1 * 10.0**logR + K2)
    problem = TwoGroupObjective(K1, K2, K1 * w1, K2 * w2, (K1 + K2) * math.sqrt(10.0**logE))
    try:
        slow = problem.derivatives(x)
    except (SolverError, ValueError, OverflowError, ZeroDivisionError):
        assert ext.derivatives(K1, K2, K1 * w1, K2 * w2, problem.tau, x) is None
        return
    assert _bits(ext.derivatives(K1, K2, K1 * w1, K2 * w2, problem.tau, x)) == _bits(slow)


# problems on which the Python route runs a given line (found by a search over random
# problems): (text, function, K1, K2, weights, tau, force_zero, warm start, decrement_tol)
_PATHS = {
    "the 2 x 2 saddle-free step": (
        "mid, dev = 0.5 * (a + d), math.hypot",
        small_systems.newton_direction,
        (14, 27, [1.0972039831568007e-05, 0.03703134783119845], 727.4781808918274, (1,)),
        [1.7828819485872271, 0.13876741839890316, 0.1266992325502697, 0.0017748622025346439],
        1e-24,
    ),
    "the 3 x 3 saddle-free step in closed form": (
        "ev, vectors = eig",
        small_systems.newton_direction,
        (19, 21, [0.0526315765426499, 2.175697716880288e-09], 52.448177049266846, ()),
        [2.8113406460274133, 0.19687904392603262, 0.29878889785386775, 0.36118993472238414],
        1e-24,
    ),
    "the guessed collapse dropped": (
        "held[light] = False",
        two_groups.solve_one,
        (4, 59, [0.22929843635801667, 0.0014034958401344636], 506.213637839272, (0,)),
        None,
        1e-24,
    ),
    "a collapse reached by a step, dropped": (
        "dropped[i] = True",
        two_groups.solve_one,
        (30, 44, [0.033333322764221025, 7.206212932828798e-09], 1079.0795129215671, ()),
        [1.6702959898500618, 0.4277315333105033, 0.8586928837874181, 0.8412003992905702],
        1e-24,
    ),
    "the release from M = 0": (
        "x[0] = math.atan2(-ev[5][1], -ev[5][0])",
        two_groups.solve_one,
        (50, 16, [0.019973575125369646, 8.257773321986287e-05], 1052.5564836194696, ()),
        [2.2106727471905714, 0.0, 0.5739411879281008, 0.013114189588902203],
        1e-24,
    ),
    "the line search failing": (
        "new = None",
        two_groups.solve_one,
        (5, 18, [3.296008698518028e-08, 0.05555554639997584], 314.29530812088115, ()),
        [0.3949470102215846, 0.8654363286206829, 0.14748764458157315, 0.012963315828707911],
        1e-30,
    ),
}


@needs_ext
@pytest.mark.parametrize("path", sorted(_PATHS))
def test_each_path(path):
    text, function, (K1, K2, weights, tau, force_zero), start, tol = _PATHS[path]
    starts = None if start is None else [np.array(start)]
    call = lambda: _python(K1, K2, [weights], [tau], force_zero, starts, 200, tol)  # noqa: E731
    assert _line(function, text) in _lines(function, call)
    assert None not in _compare(K1, K2, [weights], [tau], force_zero, starts, 200, tol)


# -- which builds are trusted ------------------------------------------------------------


@needs_ext
def test_the_build_in_use_agrees_with_the_python_route():
    assert two_groups._agrees(ext)
    assert ext.CONSTANTS == (2.0**-52, 0.035, 0.1, 0.25, 100.0)


class _Stub:
    """A stand-in for a build: the real module's functions, other attributes given."""

    def __init__(self, **attributes):
        self.solve_batch = ext.solve_batch
        self.CONSTANTS = ext.CONSTANTS
        self.SOURCE_CRC32 = ext.SOURCE_CRC32
        self.__dict__.update(attributes)


def _load_with(monkeypatch, module=None, error=None, agrees=None):
    def import_module(name):
        if error is not None:
            raise error
        return module

    monkeypatch.setattr(compiled, "PURE_PYTHON", False)
    monkeypatch.setattr(compiled.importlib, "import_module", import_module)
    return compiled.load("_two_group_newton", agrees)


@needs_ext
def test_a_build_of_another_source_is_not_used(monkeypatch):
    source = compiled.pathlib.Path(compiled.__file__).with_name("_two_group_newton.c")
    if not source.exists():
        pytest.skip("an installed package: no source beside the module")
    with pytest.warns(RuntimeWarning, match="another version of _two_group_newton.c"):
        assert _load_with(monkeypatch, _Stub(SOURCE_CRC32="0" * 8)) is None
    assert _load_with(monkeypatch, _Stub()) is not None  # the build of this source


@needs_ext
def test_a_build_that_disagrees_with_python_is_not_used(monkeypatch):
    # other constants (an edit of two_groups.py not made in C), or other bits (a
    # compiler's rounding): the Python route runs, with a warning
    other = _Stub(CONSTANTS=(2.0**-52, 0.035, 0.2, 0.25, 100.0))
    with pytest.warns(RuntimeWarning, match="does not give the bits of the Python route"):
        assert _load_with(monkeypatch, other, agrees=two_groups._agrees) is None

    def off_by_an_ulp(*args):
        out = ext.solve_batch(*args)
        (M, *rest), state = out[0]
        M = [[np.nextafter(M[0][0], 1.0), M[0][1]], M[1]]
        return [((M, *rest), state)]

    drifted = _Stub(solve_batch=off_by_an_ulp)
    assert not two_groups._agrees(drifted)
    assert two_groups._agrees(_Stub())


def test_a_build_that_does_not_import_is_reported(monkeypatch):
    broken = ImportError("undefined symbol: exp")
    with pytest.warns(RuntimeWarning, match="does not import .*undefined symbol"):
        assert _load_with(monkeypatch, error=broken) is None
    # not built at all: the Python route, silently
    missing = ModuleNotFoundError("no module", name="lpm.solvers._two_group_newton")
    assert _load_with(monkeypatch, error=missing) is None


@needs_ext
def test_class_counts_beyond_a_c_long_run_in_python(monkeypatch):
    args = ((2**40, 3), [[1e-20, 0.01]], [10.0])
    _both_routes(monkeypatch, *args)
    assert two_groups.solve_two_group_batch(*args).converged == [True]
