/*
 * lpm.solvers._two_group_newton: the loop of lpm.solvers.two_groups.solve_two_group_batch
 * (each problem's solve_one and _point) in C, bit for bit.
 *
 * Every function below mirrors the Python function it names, operation for operation
 * and in the same order (build with -ffp-contract=off: no fused multiply-add). The libm
 * calls are those CPython's math module makes for finite arguments; math.hypot, which
 * is CPython's own algorithm, is called back. Where the Python route would raise (a
 * math domain or range error, a division by zero, the SolverError of f < 1e-290) or
 * calls LAPACK (newton_direction's order-3 fallback), the problem is flagged and the
 * Python wrapper solves it again in pure Python, which then does exactly what it does
 * without this module.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>

/* the same rounding as CPython's: every operation rounded to a double, none fused (the
 * build flags say so too; these hold for a compiler that gets none of them) */
#if defined(_MSC_VER)
#pragma fp_contract(off)
#elif defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "intermediate results wider than double (x87): build without this module"
#endif

#ifndef LPM_SOURCE_CRC32
#define LPM_SOURCE_CRC32 ""
#endif

#define EPS 2.220446049250313e-16 /* _EPS = 2.0**-52 */
#define COLLAPSED_R 0.035         /* _COLLAPSED_R */
#define PLAIN 0.1                 /* _PLAIN */
#define THETA_STEP 0.25           /* _THETA_STEP */
#define DECISION_FACTOR 100.0     /* lpm.certificates.collapse.DECISION_FACTOR */

static PyObject *hypot_func; /* math.hypot */

enum { MSG_MAX_ITER, MSG_CONVERGED, MSG_CYCLING1, MSG_CYCLING2, MSG_CYCLING3, MSG_FLOAT64,
       MSG_LINE_SEARCH, N_MSG };
static const char *message_text[N_MSG] = {
    "maximum number of iterations reached",
    "converged: Newton decrement below tolerance, KKT signs hold",
    "active-set cycling on the cross-group block (M = 0)",
    "active-set cycling on group 0",
    "active-set cycling on group 1",
    "converged: no further decrease representable in float64",
    "line search failed",
};
static PyObject *messages[N_MSG];

/* fail: the Python route raises here or takes a path not ported (solve it in Python) */
typedef struct {
    int fail;
} Ctx;

/* TwoGroupObjective: its constants (_c) and tau */
typedef struct {
    double A1, A2, B1, B2, P1, P2, w1, w2;
    long m1, m2, n1, n2;
    double beta1, beta2, tau;
} Problem;

/* the tuple returned by TwoGroupObjective.derivatives */
typedef struct {
    double log_f, a[4], H[16], f, g[4], dmu[2];
} Eval;

/* ---- Python's float semantics -------------------------------------------------------- */

/* max(a, b) and min(a, b) of Python: the first unless the second compares greater (less) */
static inline double py_max(double a, double b) { return b > a ? b : a; }
static inline double py_min(double a, double b) { return b < a ? b : a; }

/* a / b, flagging Python's ZeroDivisionError */
static inline double py_div(Ctx *c, double a, double b)
{
    if (b == 0.0) {
        c->fail = 1;
        return 0.0;
    }
    return a / b;
}

/* CPython's math_1: a NaN from a non-NaN or an infinity from a finite argument raises */
static inline double math_check(Ctx *c, double x, double r)
{
    if ((isnan(r) && !isnan(x)) || (isinf(r) && isfinite(x)))
        c->fail = 1;
    return r;
}
#define M_EXP(c, x) math_check(c, (x), exp(x))
#define M_EXPM1(c, x) math_check(c, (x), expm1(x))
#define M_LOG1P(c, x) math_check(c, (x), log1p(x))
#define M_LOG(c, x) math_check(c, (x), log(x))
#define M_SQRT(c, x) math_check(c, (x), sqrt(x))
#define M_COS(c, x) math_check(c, (x), cos(x))
#define M_SIN(c, x) math_check(c, (x), sin(x))
#define M_ACOS(c, x) math_check(c, (x), acos(x))

/* math.frexp(x)[1]: 0 for 0, inf and NaN */
static inline int py_frexp_exponent(double x)
{
    int e = 0;
    if (x == 0.0 || !isfinite(x))
        return 0;
    frexp(x, &e);
    return e;
}

/* math.ldexp: 0, inf and NaN unchanged, OverflowError on an infinite result */
static inline double py_ldexp(Ctx *c, double x, int e)
{
    double r;
    if (x == 0.0 || !isfinite(x))
        return x;
    r = ldexp(x, e);
    if (isinf(r))
        c->fail = 1;
    return r;
}

/* math.hypot(x, y), called back (CPython's algorithm, not libm's hypot) */
static double py_hypot(Ctx *c, double x, double y)
{
    PyObject *args[2], *r;
    double v;
    args[0] = PyFloat_FromDouble(x);
    args[1] = PyFloat_FromDouble(y);
    if (args[0] == NULL || args[1] == NULL) {
        Py_XDECREF(args[0]);
        Py_XDECREF(args[1]);
        PyErr_Clear();
        c->fail = 1;
        return 0.0;
    }
    r = PyObject_Vectorcall(hypot_func, args, 2, NULL);
    Py_DECREF(args[0]);
    Py_DECREF(args[1]);
    if (r == NULL) {
        PyErr_Clear();
        c->fail = 1;
        return 0.0;
    }
    v = PyFloat_AsDouble(r);
    Py_DECREF(r);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        c->fail = 1;
    }
    return v;
}

/* ---- lpm.model.few_groups.ce_row ----------------------------------------------------- */

static void ce_row(Ctx *cx, double p, double q, long m, long n, double out[6])
{
    double c = q < 0.0 ? -q : 0.0;
    double e0, e1, e2, value, S, P0, P1, P2;
    if (m && -p > c)
        c = -p;
    e1 = m ? (double)m * M_EXP(cx, -p - c) : 0.0;
    e2 = n ? (double)n * M_EXP(cx, -q - c) : 0.0;
    if (c != 0.0) { /* `if c:` (NaN is true) */
        e0 = M_EXP(cx, -c);
        value = c + M_LOG1P(cx, M_EXPM1(cx, -c) + e1 + e2);
    } else {
        e0 = 1.0;
        value = M_LOG1P(cx, e1 + e2);
    }
    S = e0 + e1 + e2;
    P0 = py_div(cx, e0, S);
    P1 = py_div(cx, e1, S);
    P2 = py_div(cx, e2, S);
    out[0] = value;
    out[1] = -P1;
    out[2] = -P2;
    out[3] = P1 * (P0 + P2);
    out[4] = -P1 * P2;
    out[5] = P2 * (P0 + P1);
}

/* ---- TwoGroupObjective.__init__ and .derivatives -------------------------------------- */

static void problem_init(Problem *pr, long K1, long K2, double w1, double w2, double tau)
{
    long K = K1 + K2;
    double rootK = sqrt((double)K);
    pr->beta1 = rootK / ((double)K1 * sqrt((double)K2));
    pr->beta2 = -rootK / ((double)K2 * sqrt((double)K1));
    pr->w1 = w1;
    pr->w2 = w2;
    pr->m1 = K1 - 1;
    pr->m2 = K2 - 1;
    pr->n1 = K2;
    pr->n2 = K1;
    pr->A1 = pr->beta1 * tau;
    pr->A2 = pr->beta2 * tau;
    pr->B1 = tau / (double)K1;
    pr->B2 = tau / (double)K2;
    pr->P1 = K1 > 1 ? tau / (double)(K1 - 1) : 0.0;
    pr->P2 = K2 > 1 ? tau / (double)(K2 - 1) : 0.0;
    pr->tau = tau;
}

static void derivatives(Ctx *cx, const Problem *pr, const double x[4], Eval *ev)
{
    double th = x[0], r = x[1], s1 = x[2], s2 = x[3];
    double A1 = pr->A1, A2 = pr->A2, B1 = pr->B1, B2 = pr->B2, P1 = pr->P1, P2 = pr->P2;
    double w1 = pr->w1, w2 = pr->w2;
    double cs, sn, u1, u2, t1, t2, o1[6], o2[6], f, L1, L2, C1, C2, g0, g1, g2, g3;
    double h00, h01, h11, h02, h12, h22, h03, h13, h33, c1, c2, inv, a0, a1, a2, a3;
    double b01, b02, b03, b12, b13, b23;
    double *H = ev->H;
    cs = M_COS(cx, th);
    sn = M_SIN(cx, th);
    u1 = A1 * cs;
    u2 = A2 * sn;
    t1 = -A1 * r * sn;
    t2 = A2 * r * cs;
    ce_row(cx, P1 * s1, u1 * r + B1 * s1, pr->m1, pr->n1, o1);
    ce_row(cx, P2 * s2, u2 * r + B2 * s2, pr->m2, pr->n2, o2);
    f = w1 * o1[0] + w2 * o2[0];
    if (f < 1e-290) { /* SolverError in Python */
        cx->fail = 1;
        return;
    }
    L1 = w1 * o1[2];
    L2 = w2 * o2[2];
    C1 = w1 * o1[5];
    C2 = w2 * o2[5];
    g0 = L1 * t1 + L2 * t2;
    g1 = L1 * u1 + L2 * u2;
    h00 = C1 * t1 * t1 + C2 * t2 * t2 - r * g1;
    h01 = C1 * t1 * u1 + C2 * t2 * u2 - L1 * A1 * sn + L2 * A2 * cs;
    h11 = C1 * u1 * u1 + C2 * u2 * u2;
    if (pr->m1) {
        g2 = w1 * o1[1] * P1 + L1 * B1;
        c1 = w1 * o1[4] * P1 + C1 * B1;
        h02 = c1 * t1;
        h12 = c1 * u1;
        h22 = w1 * (o1[3] * P1 * P1 + 2.0 * o1[4] * P1 * B1) + C1 * B1 * B1;
    } else {
        g2 = h02 = h12 = h22 = 0.0;
    }
    if (pr->m2) {
        g3 = w2 * o2[1] * P2 + L2 * B2;
        c2 = w2 * o2[4] * P2 + C2 * B2;
        h03 = c2 * t2;
        h13 = c2 * u2;
        h33 = w2 * (o2[3] * P2 * P2 + 2.0 * o2[4] * P2 * B2) + C2 * B2 * B2;
    } else {
        g3 = h03 = h13 = h33 = 0.0;
    }
    inv = py_div(cx, 1.0, f);
    a0 = g0 * inv;
    a1 = g1 * inv;
    a2 = g2 * inv;
    a3 = g3 * inv;
    b01 = h01 * inv - a0 * a1;
    b02 = h02 * inv - a0 * a2;
    b03 = h03 * inv - a0 * a3;
    b12 = h12 * inv - a1 * a2;
    b13 = h13 * inv - a1 * a3;
    b23 = -a2 * a3;
    H[0] = h00 * inv - a0 * a0, H[1] = b01, H[2] = b02, H[3] = b03;
    H[4] = b01, H[5] = h11 * inv - a1 * a1, H[6] = b12, H[7] = b13;
    H[8] = b02, H[9] = b12, H[10] = h22 * inv - a2 * a2, H[11] = b23;
    H[12] = b03, H[13] = b13, H[14] = b23, H[15] = h33 * inv - a3 * a3;
    ev->log_f = M_LOG(cx, f);
    ev->a[0] = a0, ev->a[1] = a1, ev->a[2] = a2, ev->a[3] = a3;
    ev->f = f;
    ev->g[0] = g0, ev->g[1] = g1, ev->g[2] = g2, ev->g[3] = g3;
    ev->dmu[0] = L1 * pr->beta1;
    ev->dmu[1] = L2 * pr->beta2;
}

/* ---- small_systems.eigh3: 0 for None ------------------------------------------------- */

static int eigh3(Ctx *cx, const double Hs[6], double values[3], double vectors[3][3])
{
    double top = fabs(Hs[0]), v[6], a, b, c, d, e, f, q, a0, c0, f0, p2, p, det, h, phi;
    double hi, lo, mid, lams[2];
    int scale, i, j;
    for (i = 1; i < 6; i++)
        top = py_max(top, fabs(Hs[i]));
    if (!(top > 0.0))
        return 0;
    scale = py_frexp_exponent(top);
    for (i = 0; i < 6; i++)
        v[i] = py_ldexp(cx, Hs[i], -scale);
    a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5];
    q = (a + c + f) / 3.0;
    a0 = a - q, c0 = c - q, f0 = f - q;
    p2 = a0 * a0 + c0 * c0 + f0 * f0 + 2.0 * (b * b + d * d + e * e);
    p = M_SQRT(cx, p2 / 6.0);
    if (!(p * p * p > 0.0))
        return 0;
    det = a0 * (c0 * f0 - e * e) - b * (b * f0 - e * d) + d * (b * e - c0 * d);
    h = py_max(-1.0, py_min(1.0, det / (2.0 * p * p * p)));
    phi = M_ACOS(cx, h) / 3.0;
    hi = q + 2.0 * p * M_COS(cx, phi);
    lo = q + 2.0 * p * M_COS(cx, phi + 2.0 * 3.141592653589793 / 3.0);
    mid = 3.0 * q - hi - lo;
    if (py_min(hi - mid, mid - lo) <= 1e-6 * p)
        return 0;
    lams[0] = hi, lams[1] = lo;
    for (j = 0; j < 2; j++) {
        double lam = lams[j], rows[3][3], best[3], norm = 0.0, s;
        int found = 0;
        static const int pairs[3][2] = {{0, 1}, {0, 2}, {1, 2}};
        rows[0][0] = a - lam, rows[0][1] = b, rows[0][2] = d;
        rows[1][0] = b, rows[1][1] = c - lam, rows[1][2] = e;
        rows[2][0] = d, rows[2][1] = e, rows[2][2] = f - lam;
        for (i = 0; i < 3; i++) {
            const double *u = rows[pairs[i][0]], *w = rows[pairs[i][1]];
            double x0 = u[1] * w[2] - u[2] * w[1];
            double x1 = u[2] * w[0] - u[0] * w[2];
            double x2 = u[0] * w[1] - u[1] * w[0];
            double n2 = x0 * x0 + x1 * x1 + x2 * x2;
            if (n2 > norm) {
                best[0] = x0, best[1] = x1, best[2] = x2, norm = n2;
                found = 1;
            }
        }
        if (!found)
            return 0;
        s = py_div(cx, 1.0, M_SQRT(cx, norm));
        vectors[j][0] = best[0] * s, vectors[j][1] = best[1] * s, vectors[j][2] = best[2] * s;
    }
    {
        double u0 = vectors[0][0], u1 = vectors[0][1], u2 = vectors[0][2];
        double v0 = vectors[1][0], v1 = vectors[1][1], v2 = vectors[1][2];
        if (fabs(u0 * v0 + u1 * v1 + u2 * v2) > 1e-8)
            return 0;
        vectors[2][0] = u1 * v2 - u2 * v1;
        vectors[2][1] = u2 * v0 - u0 * v2;
        vectors[2][2] = u0 * v1 - u1 * v0;
    }
    values[0] = py_ldexp(cx, hi, scale);
    values[1] = py_ldexp(cx, lo, scale);
    values[2] = py_ldexp(cx, mid, scale);
    return 1;
}

/* ---- small_systems.newton_direction (H: lower triangle, n = 1..3) -------------------- */

static double newton_direction(Ctx *cx, const double *H, const double *g, int n, double *x)
{
    double a = H[0];
    if (n == 1) {
        double h = py_max(fabs(H[0]), 1e-300);
        x[0] = py_div(cx, g[0], h);
        return py_div(cx, g[0] * g[0], h);
    }
    if (n == 2) {
        double b = H[1], d = H[2], tiny = 1e-14 * py_max(fabs(a), fabs(d));
        double mid, dev, phi, c, s, floor, hi, lo, p_hi, p_lo, a_hi, a_lo;
        if (a > tiny) {
            double l10 = py_div(cx, b, a), d1 = d - l10 * b;
            if (d1 > tiny) {
                double y0 = g[0], y1 = g[1] - l10 * g[0], x1 = py_div(cx, y1, d1);
                x[0] = py_div(cx, y0 - b * x1, a);
                x[1] = x1;
                return py_div(cx, y0 * y0, a) + py_div(cx, y1 * y1, d1);
            }
        }
        mid = 0.5 * (a + d);
        dev = py_hypot(cx, 0.5 * (a - d), b);
        phi = 0.5 * atan2(2.0 * b, a - d);
        c = M_COS(cx, phi);
        s = M_SIN(cx, phi);
        floor = py_max(1e-14 * (fabs(mid) + dev), 1e-300);
        hi = py_max(fabs(mid + dev), floor);
        lo = py_max(fabs(mid - dev), floor);
        p_hi = c * g[0] + s * g[1];
        p_lo = c * g[1] - s * g[0];
        a_hi = py_div(cx, p_hi, hi);
        a_lo = py_div(cx, p_lo, lo);
        x[0] = c * a_hi - s * a_lo;
        x[1] = s * a_hi + c * a_lo;
        return a_hi * p_hi + a_lo * p_lo;
    }
    {
        double h10 = H[1], h11 = H[2], h20 = H[3], h21 = H[4], h22 = H[5];
        double tiny = 1e-14 * py_max(py_max(fabs(a), fabs(h11)), fabs(h22));
        double ev[3], U[3][3], floor, decrement = 0.0;
        int i;
        if (a > tiny) {
            double l10 = py_div(cx, h10, a), d1 = h11 - l10 * h10;
            if (d1 > tiny) {
                double l20 = py_div(cx, h20, a);
                double l21 = py_div(cx, h21 - l20 * h10, d1);
                double d2 = h22 - l20 * h20 - l21 * l21 * d1;
                if (d2 > tiny) {
                    double y0 = g[0], y1 = g[1] - l10 * y0, y2 = g[2] - l20 * y0 - l21 * y1;
                    double x2 = py_div(cx, y2, d2);
                    double x1 = py_div(cx, y1, d1) - l21 * x2;
                    double x0 = py_div(cx, y0, a) - l10 * x1 - l20 * x2;
                    x[0] = x0, x[1] = x1, x[2] = x2;
                    return py_div(cx, y0 * y0, a) + py_div(cx, y1 * y1, d1) +
                           py_div(cx, y2 * y2, d2);
                }
            }
        }
        if (!eigh3(cx, H, ev, U)) { /* LAPACK in Python */
            cx->fail = 1;
            return 0.0;
        }
        floor = py_max(1e-14 * py_max(py_max(fabs(ev[0]), fabs(ev[1])), fabs(ev[2])), 1e-300);
        x[0] = x[1] = x[2] = 0.0;
        for (i = 0; i < 3; i++) {
            const double *u = U[i];
            double proj = u[0] * g[0] + u[1] * g[1] + u[2] * g[2];
            double coef = py_div(cx, proj, py_max(fabs(ev[i]), floor));
            decrement += coef * proj;
            x[0] = x[0] + coef * u[0], x[1] = x[1] + coef * u[1], x[2] = x[2] + coef * u[2];
        }
        return decrement;
    }
}

/* ---- two_groups._tangent_step: d and the decrement ----------------------------------- */

static double tangent_step(Ctx *cx, const double x[4], const double gl[4], const double H[16],
                           const int *free, int nfree, double d[4])
{
    double rH[6], rg[3], step[3], decrement, gk, hkk;
    int basis[3], nb = 0, nh = 0, k, k4, theta, t;
    if (nfree == 2 && x[1] > 0.0) { /* the usual face, unrolled */
        int i = free[0], i4;
        double hik;
        k = free[1];
        if (!(x[k] > x[i]))
            t = i, i = k, k = t;
        i4 = 4 * i, hik = H[4 * i + k], hkk = H[5 * k];
        rH[0] = H[0];
        rH[1] = H[i4] - H[4 * k];
        rH[2] = H[5 * i] - hik - hik + hkk;
        rg[0] = gl[0];
        rg[1] = gl[i] - gl[k];
        decrement = newton_direction(cx, rH, rg, 2, step);
        d[0] = -step[0], d[1] = d[2] = d[3] = 0.0;
        d[i] = -step[1];
        d[k] = step[1];
        return decrement;
    }
    k = free[0];
    for (t = 0; t < nfree; t++)
        if (x[free[t]] > x[k])
            k = free[t];
    gk = gl[k], k4 = 4 * k, hkk = H[5 * k];
    theta = x[1] > 0.0;
    if (theta) {
        basis[nb++] = 0;
        rg[0] = gl[0];
        rH[nh++] = H[0];
    }
    for (t = 0; t < nfree; t++) {
        int i = free[t], i4 = 4 * i, jj;
        double hik = H[i4 + k];
        if (i == k)
            continue;
        if (theta)
            rH[nh++] = H[i4] - H[k4];
        for (jj = 0; jj < nb; jj++) {
            int j = basis[jj];
            if (j)
                rH[nh++] = H[i4 + j] - H[k4 + j] - hik + hkk;
        }
        rH[nh++] = H[5 * i] - hik - hik + hkk;
        rg[nb] = gl[i] - gk;
        basis[nb++] = i;
    }
    d[0] = d[1] = d[2] = d[3] = 0.0;
    if (!nb)
        return 0.0;
    decrement = newton_direction(cx, rH, rg, nb, step);
    for (t = 0; t < nb; t++) {
        int i = basis[t];
        d[i] = -step[t];
        if (i)
            d[k] += step[t];
    }
    return decrement;
}

/* ---- _start, _collapsed_start, _multiplier, _plainly_fails, _final_step -------------- */

/* the simplex-ETF start */
static void start(Ctx *cx, const Problem *pr, const int held[4], double x[4])
{
    long K1 = pr->m1 + 1, K2 = pr->m2 + 1, K = K1 + K2;
    double sig0 = held[2] ? 0.0 : (double)pr->m1 / (double)(K - 1);
    double sig1 = held[3] ? 0.0 : (double)pr->m2 / (double)(K - 1);
    x[0] = atan2(-M_SQRT(cx, (double)K1 / (double)K), M_SQRT(cx, (double)K2 / (double)K));
    x[1] = 1.0 - sig0 - sig1;
    x[2] = sig0;
    x[3] = sig1;
}

/* the collapsed cold start: the coordinate held (2 or 3), 0 for None */
static int collapsed_start(Ctx *cx, const Problem *pr, const int held[4], double x[4])
{
    double pc0 = pr->w1 / (double)(pr->m1 + 1), pc1 = pr->w2 / (double)(pr->m2 + 1);
    int light, other;
    if (pc0 == pc1)
        return 0;
    light = pc1 < pc0 ? 3 : 2;
    if (held[light])
        return 0;
    other = 5 - light;
    x[0] = light == 3 ? 0.0 : -0.5 * 3.141592653589793;
    x[1] = 1.0, x[2] = 0.0, x[3] = 0.0;
    if (!held[other]) {
        double s1 = other == 2 ? 1.0 : 0.0, s2 = other == 2 ? 0.0 : 1.0, o[6], slope1, slope2;
        x[1] = COLLAPSED_R, x[other] = 1.0 - COLLAPSED_R;
        ce_row(cx, pr->P1 * s1, pr->B1 * s1, pr->m1, pr->n1, o);
        slope1 = pr->w1 * pr->beta1 * o[2];
        ce_row(cx, pr->P2 * s2, pr->B2 * s2, pr->m2, pr->n2, o);
        slope2 = pr->w2 * pr->beta2 * o[2];
        x[0] = atan2(-slope2, -slope1);
    }
    return light;
}

static double multiplier(Ctx *cx, const double g[4], const int *free, int nfree)
{
    double total = 0.0;
    int t;
    for (t = 0; t < nfree; t++)
        total += g[free[t]];
    return py_div(cx, -total, (double)nfree);
}

static int plainly_fails(Ctx *cx, const Eval *ev, const int *free, int nfree, int i)
{
    const double *gl = ev->a;
    double nu = multiplier(cx, gl, free, nfree);
    return gl[i] + nu < -PLAIN * (fabs(gl[i]) + fabs(nu));
}

static void final_step(Ctx *cx, double x[4], const double d[4], const int *free, int nfree,
                       Eval *ev)
{
    double trial[4], total, d0, d1, d2, d3, ad, moved[4];
    const double *a = ev->a, *H = ev->H, *g = ev->g;
    double f = ev->f;
    int t, j;
    for (j = 0; j < 4; j++)
        trial[j] = x[j] + d[j];
    for (t = 0; t < nfree; t++)
        if (trial[free[t]] <= 0.0)
            return;
    total = trial[1] + trial[2] + trial[3];
    if (total != 1.0) {
        trial[1] = py_div(cx, trial[1], total);
        trial[2] = py_div(cx, trial[2], total);
        trial[3] = py_div(cx, trial[3], total);
    }
    d0 = trial[0] - x[0], d1 = trial[1] - x[1], d2 = trial[2] - x[2], d3 = trial[3] - x[3];
    ad = a[0] * d0 + a[1] * d1 + a[2] * d2 + a[3] * d3;
    for (j = 0; j < 4; j++)
        moved[j] = g[j] + f * (H[4 * j] * d0 + H[4 * j + 1] * d1 + H[4 * j + 2] * d2 +
                               H[4 * j + 3] * d3 + a[j] * ad);
    for (j = 0; j < 4; j++)
        ev->g[j] = moved[j], x[j] = trial[j];
}

static int free_of(const int held[4], int free[3])
{
    int n = 0, i;
    for (i = 1; i < 4; i++)
        if (!held[i])
            free[n++] = i;
    return n;
}

/* ---- two_groups.solve_one ------------------------------------------------------------ */

typedef struct {
    double x[4];
    int held[4], converged, message;
    long iterations;
    double *history; /* (log f, decrement) of each iteration, 2 * n_history doubles */
    long n_history, capacity;
    Eval ev;
} State;

/* append (log f, decrement) to the history: 0 on a MemoryError (raised) */
static int record_history(State *st, double value, double decrement)
{
    if (st->n_history == st->capacity) {
        long capacity = st->capacity ? 2 * st->capacity : 32;
        double *grown = PyMem_Realloc(st->history, 2 * (size_t)capacity * sizeof(double));
        if (grown == NULL) {
            PyErr_NoMemory();
            return 0;
        }
        st->history = grown, st->capacity = capacity;
    }
    st->history[2 * st->n_history] = value;
    st->history[2 * st->n_history + 1] = decrement;
    st->n_history++;
    return 1;
}

/* 0: solved; 1: solve it in Python (cx->fail); -1: a Python error (raised); the caller
 * frees st->history (PyMem_Free) in every case */
static int solve_one(Ctx *cx, const Problem *pr, const int structural[4], const double *x0,
                     long max_iter, double decrement_tol, State *st)
{
    double *x = st->x, d[4], decrement, best = INFINITY, tau = pr->tau, trial[4];
    int *held = st->held, free[3], nfree, releases[4] = {0, 0, 0, 0};
    int dropped[4] = {0, 0, 0, 0}, flat = 0, stall = 0, guess = 0, i, t;
    Eval *ev = &st->ev, new_ev;
    st->history = NULL, st->n_history = st->capacity = 0;
    for (i = 0; i < 4; i++)
        held[i] = structural[i];
    if (x0 == NULL) {
        guess = collapsed_start(cx, pr, held, x);
        if (!guess)
            start(cx, pr, held, x);
        else
            held[guess] = 1;
    } else {
        double total;
        for (i = 0; i < 4; i++)
            x[i] = x0[i];
        for (i = 1; i < 4; i++)
            if (held[i])
                x[i] = 0.0;
        total = x[1] + x[2] + x[3];
        x[1] = py_div(cx, x[1], total);
        x[2] = py_div(cx, x[2], total);
        x[3] = py_div(cx, x[3], total);
    }
    for (i = 1; i < 4; i++)
        if (x[i] == 0.0)
            held[i] = 1;
    derivatives(cx, pr, x, ev);
    st->converged = 0, st->message = MSG_MAX_ITER, st->iterations = 0;
    nfree = free_of(held, free);
    if (guess && !cx->fail && plainly_fails(cx, ev, free, nfree, guess)) {
        held[guess] = 0;
        start(cx, pr, held, x);
        derivatives(cx, pr, x, ev);
        nfree = free_of(held, free);
    }
    while (!cx->fail && st->iterations < max_iter) {
        double value = ev->log_f, gl[4], d0, d1, d2, d3, longest, alpha_max, alpha, slope;
        double xs0, xs1, xs2, xs3, total;
        int low, record, hits[3], nhits = 0, found;
        memcpy(gl, ev->a, sizeof gl);
        st->iterations++;
        decrement = tangent_step(cx, x, gl, ev->H, free, nfree, d);
        if (cx->fail)
            break;
        if (!record_history(st, value, decrement))
            return -1;
        low = decrement < 1e-12;
        record = decrement < 0.5 * best;
        stall = (low && !record) ? stall + 1 : 0;
        if (record)
            best = decrement;
        if (decrement <= decrement_tol || (flat && decrement < 1e-20) || stall >= 3) {
            double nu = multiplier(cx, gl, free, nfree), noise, worst = 0.0;
            int pick = 0;
            if (cx->fail) /* no free coordinate: ZeroDivisionError in Python */
                break;
            noise = fabs(gl[free[0]] + nu);
            for (t = 1; t < nfree; t++)
                noise = py_max(noise, fabs(gl[free[t]] + nu));
            noise = DECISION_FACTOR * noise;
            for (i = 1; i < 4; i++) {
                double sl, slack, ratio;
                if (!held[i] || structural[i])
                    continue;
                if (i == 1)
                    sl = py_div(cx, -tau * py_hypot(cx, ev->dmu[0], ev->dmu[1]), ev->f);
                else
                    sl = gl[i];
                slack = sl + nu;
                ratio = py_div(cx, slack, py_max(fabs(sl) + fabs(nu), 1e-300));
                if (ratio < -1e-13 && -slack > noise && ratio < worst)
                    worst = ratio, pick = i;
            }
            if (cx->fail)
                break;
            if (!pick) {
                st->converged = 1;
                st->message = MSG_CONVERGED;
                if (!stall)
                    final_step(cx, x, d, free, nfree, ev);
                break;
            }
            releases[pick]++;
            if (releases[pick] > 3) {
                st->message = MSG_CYCLING1 + pick - 1;
                break;
            }
            held[pick] = 0;
            nfree = free_of(held, free);
            flat = 0, stall = 0, best = INFINITY;
            if (pick == 1) {
                x[0] = atan2(-ev->dmu[1], -ev->dmu[0]);
                derivatives(cx, pr, x, ev);
            }
            continue;
        }
        d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3];
        longest = py_max(py_max(py_max(fabs(d0) / THETA_STEP, fabs(d1)), fabs(d2)), fabs(d3));
        if (longest > 1.0) {
            d0 = d[0] = d0 / longest;
            d1 = d[1] = d1 / longest;
            d2 = d[2] = d2 / longest;
            d3 = d[3] = d3 / longest;
        }
        alpha_max = INFINITY;
        for (t = 0; t < nfree; t++) {
            i = free[t];
            if (d[i] < 0.0) {
                double limit = -x[i] / d[i];
                if (limit < alpha_max)
                    alpha_max = limit;
            }
        }
        alpha = alpha_max > 1.0 ? 1.0 : alpha_max;
        slope = gl[0] * d0 + gl[1] * d1 + gl[2] * d2 + gl[3] * d3;
        xs0 = x[0], xs1 = x[1], xs2 = x[2], xs3 = x[3];
        found = 1;
        for (;;) {
            trial[0] = xs0 + alpha * d0;
            trial[1] = xs1 + alpha * d1;
            trial[2] = xs2 + alpha * d2;
            trial[3] = xs3 + alpha * d3;
            nhits = 0;
            if (alpha == alpha_max) {
                for (t = 0; t < nfree; t++) {
                    i = free[t];
                    if (d[i] < 0 && -x[i] / d[i] <= alpha_max * (1 + 1e-12))
                        hits[nhits++] = i;
                }
                for (t = 0; t < nhits; t++)
                    trial[hits[t]] = 0.0;
            }
            total = trial[1] + trial[2] + trial[3];
            if (total != 1.0) {
                trial[1] = py_div(cx, trial[1], total);
                trial[2] = py_div(cx, trial[2], total);
                trial[3] = py_div(cx, trial[3], total);
            }
            derivatives(cx, pr, trial, &new_ev);
            if (cx->fail)
                break;
            if (new_ev.log_f <= value + 1e-4 * alpha * slope ||
                (decrement < 1e-12 &&
                 new_ev.log_f <= value + 1e-14 * py_max(1.0, fabs(value))))
                break;
            alpha *= 0.5;
            if (alpha < 1e-20) {
                found = 0;
                break;
            }
        }
        if (cx->fail)
            break;
        if (!found) {
            st->converged = decrement < 1e-14;
            st->message = st->converged ? MSG_FLOAT64 : MSG_LINE_SEARCH;
            break;
        }
        flat = new_ev.log_f >= value;
        memcpy(x, trial, sizeof trial);
        *ev = new_ev;
        if (nhits) {
            for (t = 0; t < nhits; t++)
                held[hits[t]] = 1;
            nfree = free_of(held, free);
            for (t = 0; t < nhits; t++) {
                i = hits[t];
                if (i > 1 && !structural[i] && !dropped[i] &&
                    plainly_fails(cx, ev, free, nfree, i)) {
                    dropped[i] = 1;
                    held[i] = 0;
                }
            }
            nfree = free_of(held, free);
        }
    }
    return cx->fail ? 1 : 0;
}

/* ---- Python objects of a state and of _point ----------------------------------------- */

/* `container`, a new tuple or list of n slots, holding the n floats v; NULL on an error
 * (raised). Built item by item, not by Py_BuildValue's format parsing. */
static PyObject *floats(PyObject *container, const double *v, int n)
{
    int j;
    if (container == NULL)
        return NULL;
    for (j = 0; j < n; j++) {
        PyObject *f = PyFloat_FromDouble(v[j]);
        if (f == NULL) {
            Py_DECREF(container);
            return NULL;
        }
        if (PyList_Check(container))
            PyList_SET_ITEM(container, j, f);
        else
            PyTuple_SET_ITEM(container, j, f);
    }
    return container;
}
#define TUPLE(v, n) floats(PyTuple_New(n), (v), (n))
#define LIST(v, n) floats(PyList_New(n), (v), (n))

/* a new tuple of the n new references `items` (stolen); NULL, all of them released,
 * where one is NULL (an error raised) */
static PyObject *tuple_of(int n, PyObject **items)
{
    PyObject *t = PyTuple_New(n);
    int j, ok = t != NULL;
    for (j = 0; j < n; j++)
        ok = ok && items[j] != NULL;
    if (!ok) {
        Py_XDECREF(t);
        for (j = 0; j < n; j++)
            Py_XDECREF(items[j]);
        return NULL;
    }
    for (j = 0; j < n; j++)
        PyTuple_SET_ITEM(t, j, items[j]);
    return t;
}

static PyObject *eval_object(const Eval *ev)
{
    PyObject *items[6];
    items[0] = PyFloat_FromDouble(ev->log_f);
    items[1] = TUPLE(ev->a, 4);
    items[2] = TUPLE(ev->H, 16);
    items[3] = PyFloat_FromDouble(ev->f);
    items[4] = TUPLE(ev->g, 4);
    items[5] = TUPLE(ev->dmu, 2);
    return tuple_of(6, items);
}

/* the history: a list of (log f, decrement) tuples */
static PyObject *history_object(const State *st)
{
    PyObject *list = PyList_New(st->n_history);
    long j;
    if (list == NULL)
        return NULL;
    for (j = 0; j < st->n_history; j++) {
        PyObject *pair = TUPLE(st->history + 2 * j, 2);
        if (pair == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, j, pair);
    }
    return list;
}

/* solve_one's state: (x, held, converged, message, iterations, history, ev) */
static PyObject *state_object(const State *st)
{
    PyObject *items[7], *held = PyList_New(4);
    int j;
    if (held != NULL)
        for (j = 0; j < 4; j++)
            PyList_SET_ITEM(held, j, PyBool_FromLong(st->held[j]));
    items[0] = LIST(st->x, 4);
    items[1] = held;
    items[2] = PyBool_FromLong(st->converged);
    Py_INCREF(messages[st->message]);
    items[3] = messages[st->message];
    items[4] = PyLong_FromLong(st->iterations);
    items[5] = history_object(st);
    items[6] = eval_object(&st->ev);
    return tuple_of(7, items);
}

/* two_groups._point in doubles */
typedef struct {
    double M[4], s[2], multiplier, slack[2];
    int fixed[2];
} Point;

/* two_groups._point: 0 for fall back (a Python error in _point) */
static int point_of(Ctx *cx, const Problem *pr, const double q[2], const State *st, Point *pt)
{
    const double *x = st->x, *g = st->ev.g;
    double tau = pr->tau, nu, inside, rho, mu0, mu1;
    int free[3], nfree = free_of(st->held, free);
    nu = multiplier(cx, g, free, nfree);
    inside = tau * (1.0 - 4 * EPS);
    rho = inside * x[1];
    if (rho != 0.0) {
        mu0 = rho * M_COS(cx, x[0]);
        mu1 = rho * M_SIN(cx, x[0]);
    } else {
        mu0 = mu1 = 0.0;
    }
    pt->M[0] = mu0 * q[0], pt->M[1] = mu0 * q[1], pt->M[2] = mu1 * q[0], pt->M[3] = mu1 * q[1];
    pt->s[0] = pr->m1 ? py_div(cx, inside * x[2], (double)pr->m1) : 0.0;
    pt->s[1] = pr->m2 ? py_div(cx, inside * x[3], (double)pr->m2) : 0.0;
    pt->slack[0] = pr->m1 ? py_div(cx, (double)pr->m1, tau) * (g[2] + nu) : 0.0;
    pt->slack[1] = pr->m2 ? py_div(cx, (double)pr->m2, tau) * (g[3] + nu) : 0.0;
    pt->multiplier = py_div(cx, nu, tau);
    pt->fixed[0] = st->held[2] && pr->m1 > 0;
    pt->fixed[1] = st->held[3] && pr->m2 > 0;
    return !cx->fail;
}

/* _point's tuple: ([[M00, M01], [M10, M11]], [s1, s2], multiplier, fixed, kkt_slack) */
static PyObject *point_object(const Point *pt)
{
    PyObject *items[5], *M = PyList_New(2), *fixed = PyTuple_New(2);
    if (M != NULL) {
        PyList_SET_ITEM(M, 0, LIST(pt->M, 2));
        PyList_SET_ITEM(M, 1, LIST(pt->M + 2, 2));
        if (PyList_GET_ITEM(M, 0) == NULL || PyList_GET_ITEM(M, 1) == NULL)
            Py_CLEAR(M);
    }
    if (fixed != NULL) {
        PyTuple_SET_ITEM(fixed, 0, PyBool_FromLong(pt->fixed[0]));
        PyTuple_SET_ITEM(fixed, 1, PyBool_FromLong(pt->fixed[1]));
    }
    items[0] = M;
    items[1] = LIST(pt->s, 2);
    items[2] = PyFloat_FromDouble(pt->multiplier);
    items[3] = fixed;
    items[4] = LIST(pt->slack, 2);
    return tuple_of(5, items);
}

/* read a sequence of n floats; 0 when it is not one (Python raises or converts alike) */
static int read_floats(PyObject *obj, double *out, Py_ssize_t n)
{
    PyObject *seq = PySequence_Fast(obj, "");
    Py_ssize_t j;
    if (seq == NULL || PySequence_Fast_GET_SIZE(seq) != n) {
        Py_XDECREF(seq);
        PyErr_Clear();
        return 0;
    }
    for (j = 0; j < n; j++) {
        /* an item of its own, bounds-checked: a __float__ may change the sequence */
        PyObject *item = PySequence_GetItem(seq, j);
        out[j] = item == NULL ? -1.0 : PyFloat_AsDouble(item);
        Py_XDECREF(item);
        if (out[j] == -1.0 && PyErr_Occurred()) {
            Py_DECREF(seq);
            PyErr_Clear();
            return 0;
        }
    }
    Py_DECREF(seq);
    return 1;
}

/* ---- two_groups.solve_two_group_batch's loop ----------------------------------------- */

/* the arguments of a batch */
typedef struct {
    long K1, K2, max_iter;
    double decrement_tol, q[2];
    PyObject *weights, *taus, *starts;
    int structural[4];
    Py_ssize_t n;
} Batch;

/* 0 on an error (raised) */
static int parse_batch(PyObject *args, Batch *b)
{
    PyObject *structural_obj, *max_iter_obj;
    int j, overflow;
    if (!PyArg_ParseTuple(args, "llOOOOO!d", &b->K1, &b->K2, &b->weights, &b->taus,
                          &structural_obj, &b->starts, &PyLong_Type, &max_iter_obj,
                          &b->decrement_tol))
        return 0;
    /* an int beyond a C long: as many iterations as a long counts, or none */
    b->max_iter = PyLong_AsLongAndOverflow(max_iter_obj, &overflow);
    if (overflow)
        b->max_iter = overflow > 0 ? LONG_MAX : -1;
    else if (b->max_iter == -1 && PyErr_Occurred())
        return 0;
    for (j = 0; j < 4; j++) {
        PyObject *v = PySequence_GetItem(structural_obj, j);
        if (v == NULL)
            return 0;
        b->structural[j] = PyObject_IsTrue(v);
        Py_DECREF(v);
        if (b->structural[j] < 0)
            return 0;
    }
    b->n = PySequence_Size(b->weights);
    if (b->n < 0)
        return 0;
    b->q[0] = sqrt((double)b->K2 / (double)(b->K1 + b->K2));
    b->q[1] = -sqrt((double)b->K1 / (double)(b->K1 + b->K2));
    return 1;
}

/* problem i of the batch: 0 solved (st and pt), 1 solve it in Python, -1 a Python error
 * (raised); the caller frees st->history (PyMem_Free) in every case */
static int solve_at(const Batch *b, Py_ssize_t i, State *st, Point *pt)
{
    Ctx cx = {0};
    Problem pr;
    double pi[2], tau = 0.0, x0[4], *start_x = NULL;
    PyObject *item;
    int status;
    st->history = NULL;
    item = PySequence_GetItem(b->weights, i);
    if (item == NULL)
        return -1;
    cx.fail = !read_floats(item, pi, 2);
    Py_DECREF(item);
    item = PySequence_GetItem(b->taus, i);
    if (item == NULL) {
        PyErr_Clear();
        cx.fail = 1;
    } else {
        tau = PyFloat_AsDouble(item);
        Py_DECREF(item);
        if (tau == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            cx.fail = 1;
        }
    }
    if (b->starts != Py_None && !cx.fail) {
        item = PySequence_GetItem(b->starts, i);
        if (item == NULL) {
            PyErr_Clear();
            cx.fail = 1;
        } else {
            if (item != Py_None) {
                cx.fail = !read_floats(item, x0, 4);
                start_x = x0;
            }
            Py_DECREF(item);
        }
    }
    if (b->K1 < 1 || b->K2 < 1) /* Python raises */
        cx.fail = 1;
    if (cx.fail)
        return 1;
    problem_init(&pr, b->K1, b->K2, (double)b->K1 * pi[0], (double)b->K2 * pi[1], tau);
    status = solve_one(&cx, &pr, b->structural, start_x, b->max_iter, b->decrement_tol, st);
    if (status != 0)
        return status;
    return point_of(&cx, &pr, b->q, st, pt) ? 0 : 1;
}

PyDoc_STRVAR(solve_batch_doc,
             "solve_batch(K1, K2, weights, tau, structural, starts, max_iter, decrement_tol)\n"
             "--\n\n"
             "The loop of solve_two_group_batch: per problem ``(point, state)``, or None where\n"
             "the problem must be solved in Python (it raises there, or needs LAPACK).");

static PyObject *solve_batch(PyObject *self, PyObject *args)
{
    Batch b;
    PyObject *out;
    Py_ssize_t i;
    if (!parse_batch(args, &b))
        return NULL;
    out = PyList_New(b.n);
    if (out == NULL)
        return NULL;
    for (i = 0; i < b.n; i++) {
        State st;
        Point pt;
        PyObject *result, *pair[2];
        int status = solve_at(&b, i, &st, &pt);
        if (status == 0) {
            pair[0] = point_object(&pt);
            pair[1] = state_object(&st);
            result = tuple_of(2, pair);
        } else if (status > 0) {
            Py_INCREF(Py_None);
            result = Py_None;
        } else {
            result = NULL;
        }
        PyMem_Free(st.history);
        if (result == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, result);
    }
    return out;
}

PyDoc_STRVAR(solve_columns_doc,
             "solve_columns(K1, K2, weights, tau, structural, starts, max_iter, decrement_tol)\n"
             "--\n\n"
             "solve_batch column-wise, as TwoGroupBatch stacks it: ``(deferred, M, s,\n"
             "multiplier, fixed, kkt_slack, y, iterations, converged, messages, histories)``;\n"
             "deferred lists the problems to solve in Python (their rows 0, their items None),\n"
             "M to y are bytes of float64 (n x 4, n x 2, n, n x 2 bools, n x 2, n x 4).");

static PyObject *solve_columns(PyObject *self, PyObject *args)
{
    static const Py_ssize_t width[6] = {4 * sizeof(double), 2 * sizeof(double),
                                        sizeof(double),     2,
                                        2 * sizeof(double), 4 * sizeof(double)};
    Batch b;
    PyObject *items[11], **buffers = items + 1, **lists = items + 7;
    char *row[6];
    Py_ssize_t i;
    int j, ok = 1;
    if (!parse_batch(args, &b))
        return NULL;
    items[0] = PyList_New(0);
    for (j = 0; j < 6; j++)
        buffers[j] = PyBytes_FromStringAndSize(NULL, b.n * width[j]);
    for (j = 0; j < 4; j++)
        lists[j] = PyList_New(b.n);
    for (j = 0; j < 11; j++)
        ok = ok && items[j] != NULL;
    for (j = 0; ok && j < 6; j++)
        row[j] = PyBytes_AS_STRING(buffers[j]);
    for (i = 0; ok && i < b.n; i++) {
        State st;
        Point pt;
        int status = solve_at(&b, i, &st, &pt);
        if (status < 0) {
            ok = 0;
        } else if (status > 0) {
            PyObject *index = PyLong_FromSsize_t(i);
            ok = index != NULL && PyList_Append(items[0], index) == 0;
            Py_XDECREF(index);
            for (j = 0; j < 6; j++)
                memset(row[j], 0, width[j]);
            for (j = 0; j < 4; j++) {
                Py_INCREF(Py_None);
                PyList_SET_ITEM(lists[j], i, Py_None);
            }
        } else {
            memcpy(row[0], pt.M, sizeof pt.M);
            memcpy(row[1], pt.s, sizeof pt.s);
            memcpy(row[2], &pt.multiplier, sizeof pt.multiplier);
            row[3][0] = (char)pt.fixed[0], row[3][1] = (char)pt.fixed[1];
            memcpy(row[4], pt.slack, sizeof pt.slack);
            memcpy(row[5], st.x, sizeof st.x);
            Py_INCREF(messages[st.message]);
            PyList_SET_ITEM(lists[0], i, PyLong_FromLong(st.iterations));
            PyList_SET_ITEM(lists[1], i, PyBool_FromLong(st.converged));
            PyList_SET_ITEM(lists[2], i, messages[st.message]);
            PyList_SET_ITEM(lists[3], i, history_object(&st));
            ok = PyList_GET_ITEM(lists[0], i) != NULL && PyList_GET_ITEM(lists[3], i) != NULL;
        }
        PyMem_Free(st.history);
        for (j = 0; j < 6; j++)
            row[j] += width[j];
    }
    if (!ok) {
        for (j = 0; j < 11; j++)
            Py_XDECREF(items[j]);
        return NULL;
    }
    return tuple_of(11, items);
}

/* ---- entry points for tests: derivatives and newton_direction alone ----------------- */

static PyObject *py_derivatives(PyObject *self, PyObject *args)
{
    long K1, K2;
    double w1, w2, tau, x[4];
    PyObject *xo;
    Ctx cx = {0};
    Problem pr;
    Eval ev;
    if (!PyArg_ParseTuple(args, "lldddO", &K1, &K2, &w1, &w2, &tau, &xo))
        return NULL;
    if (K1 < 1 || K2 < 1 || !read_floats(xo, x, 4))
        Py_RETURN_NONE;
    problem_init(&pr, K1, K2, w1, w2, tau);
    derivatives(&cx, &pr, x, &ev);
    if (cx.fail)
        Py_RETURN_NONE;
    return eval_object(&ev);
}

static PyObject *py_newton_direction(PyObject *self, PyObject *args)
{
    PyObject *Ho, *go;
    double H[6], g[3], x[3], decrement;
    Py_ssize_t n;
    Ctx cx = {0};
    if (!PyArg_ParseTuple(args, "OO", &Ho, &go))
        return NULL;
    n = PySequence_Size(go);
    if (n < 1 || n > 3) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (!read_floats(Ho, H, n * (n + 1) / 2) || !read_floats(go, g, n))
        Py_RETURN_NONE;
    decrement = newton_direction(&cx, H, g, (int)n, x);
    if (cx.fail)
        Py_RETURN_NONE;
    {
        PyObject *items[2] = {LIST(x, (int)n), PyFloat_FromDouble(decrement)};
        return tuple_of(2, items);
    }
}

static PyMethodDef methods[] = {
    {"solve_batch", solve_batch, METH_VARARGS, solve_batch_doc},
    {"solve_columns", solve_columns, METH_VARARGS, solve_columns_doc},
    {"derivatives", py_derivatives, METH_VARARGS,
     "derivatives(K1, K2, w1, w2, tau, x): TwoGroupObjective(...).derivatives(x), or None "
     "where Python raises"},
    {"newton_direction", py_newton_direction, METH_VARARGS,
     "newton_direction(H, g): small_systems.newton_direction, or None where Python raises "
     "or calls LAPACK"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_two_group_newton",
    "The two-group Newton solver's batch loop in C (see lpm.solvers.two_groups).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__two_group_newton(void)
{
    PyObject *math, *m;
    int j;
    math = PyImport_ImportModule("math");
    if (math == NULL)
        return NULL;
    hypot_func = PyObject_GetAttrString(math, "hypot");
    Py_DECREF(math);
    if (hypot_func == NULL)
        return NULL;
    for (j = 0; j < N_MSG; j++) {
        messages[j] = PyUnicode_InternFromString(message_text[j]);
        if (messages[j] == NULL)
            return NULL;
    }
    m = PyModule_Create(&module);
    /* the hash of the source it was built from (setup.py), for lpm.solvers.compiled */
    if (m != NULL && PyModule_AddStringConstant(m, "SOURCE_CRC32", LPM_SOURCE_CRC32) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    /* the constants of two_groups.py written here, which two_groups._agrees compares */
    if (m != NULL && PyModule_AddObject(m, "CONSTANTS",
                                        Py_BuildValue("(ddddd)", EPS, COLLAPSED_R, PLAIN,
                                                      THETA_STEP, DECISION_FACTOR)) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
