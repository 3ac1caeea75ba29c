"""Bessel functions and mean-field predictions against SciPy and quadrature;
the mean-field check against Monte Carlo."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate as si
import scipy.special as sp
from conftest import rtol

from lattn_jax import theory
from lattn_jax._numerics._bessel import bessel_ratio_parts

DIMS = [2, 3, 8, 33, 512]
XS = np.geomspace(1e-6, 1e6, 61)
X_LARGE = np.geomspace(1e3, 1e6, 7)  # x >> nu: test_bessel_complement_at_large_x
X32 = np.geomspace(1e-3, 1e6, 97).astype(np.float32)  # test_bessel_complement_float32
# Every float64 Bessel evaluation of this module on one grid: one compiled program per order
# (the order is static) serves all three Bessel tests.
_X64 = np.concatenate([XS, X_LARGE, X32.astype(np.float64)])
_AT_XS, _AT_LARGE, _AT_X32 = slice(0, 61), slice(61, 68), slice(68, None)


@functools.cache
def _bessel64(d: int) -> tuple[np.ndarray, ...]:
    """``bessel_ratio_parts`` of order ``d/2 - 1`` in float64 on ``_X64``."""
    with jax.enable_x64(True):
        return tuple(np.asarray(v) for v in bessel_ratio_parts(d / 2 - 1, jnp.asarray(_X64)))


def _each(f, beta) -> np.ndarray:
    """``f`` at each value of ``beta`` in turn: a 0-d ``beta`` in every call of this
    module, so each (function, d, dtype) compiles once for all its tests."""
    return np.array([np.asarray(f(b)) for b in beta])


def _covariance_each(d: int, n: int, beta) -> theory.OutputCovariance:
    """``output_covariance`` at each value of ``beta`` in turn (0-d calls, as ``_each``)."""
    covs = [theory.output_covariance(d, n, b) for b in beta]
    return jax.tree.map(lambda *v: np.array([np.asarray(x) for x in v]), *covs)


def _log_gap_integral(d: int, b: float, f) -> float:
    """``log int_0^2 f(u) (u (2 - u))^{a-1} e^{-b u} du`` (``u = 1 - s`` the gap, ``a = (d-1)/2``)
    by SciPy quadrature in ``t = u max(b, 1)``, the scale of the tilted law's gap; past
    ``t = 2a + 200`` the weight is below ``e^-190`` of its peak. At ``a < 1`` (d = 2)
    the endpoint singularities go into quad's algebraic weight."""
    a = (d - 1) / 2
    s = max(b, 1.0)
    top = 2.0 * s
    end = min(top, 2.0 * a + 200.0)
    opts = dict(epsabs=0.0, epsrel=1e-13, limit=400)
    if a < 1.0:
        both = end == top

        def g(t):
            rest = 1.0 if both else (2.0 - t / s) ** (a - 1.0)
            return f(t / s) * rest * math.exp(-b / s * t)

        value = si.quad(g, 0.0, end, weight="alg", wvar=(a - 1.0, a - 1.0 if both else 0.0), **opts)[0]
        return math.log(value) - a * math.log(s) + ((1.0 - a) * math.log(s) if both else 0.0)

    def log_weight(t):
        return (a - 1.0) * (np.log(t) + np.log(2.0 - t / s)) - b / s * t

    grid = np.linspace(0.0, end, 4097)[1:-1]
    shift, mode = float(log_weight(grid).max()), float(grid[log_weight(grid).argmax()])

    def h(t):
        return f(t / s) * math.exp(log_weight(t) - shift) if 0.0 < t < top else 0.0

    return math.log(si.quad(h, 0.0, end, points=[mode], **opts)[0]) + shift - a * math.log(s)


def _covariance_by_quadrature(d: int, n: int, beta: float) -> tuple[float, float, float]:
    """``(parallel, perpendicular, effective_keys)`` from their defining integrals,
    independent of the library: ``rho E_{2 beta}[(s - A(beta))^2] / n``,
    ``rho E_{2 beta}[(1 - s^2) / (d - 1)] / n`` and ``n / rho`` with
    ``rho = M(2 beta) / M(beta)^2``, in the gap ``u = 1 - s`` (no cancellation:
    ``s - A = (1 - A) - u``). Agrees with the float64 library to ~5e-13."""
    a = (d - 1) / 2
    log_c = -(2 * a - 1) * math.log(2) - sp.betaln(a, a)  # the uniform law's normalisation
    j1 = _log_gap_integral(d, beta, lambda u: 1.0)
    c1 = math.exp(_log_gap_integral(d, beta, lambda u: u) - j1)  # 1 - A(beta)
    with np.errstate(over="ignore"):  # rho beyond the float range (far outside the Gaussian regime)
        par = np.exp(_log_gap_integral(d, 2 * beta, lambda u: (u - c1) ** 2) - 2 * j1 - log_c) / n
        perp = np.exp(_log_gap_integral(d, 2 * beta, lambda u: u * (2 - u) / (d - 1)) - 2 * j1 - log_c) / n
        eff = n * np.exp(2 * j1 + log_c - _log_gap_integral(d, 2 * beta, lambda u: 1.0))
    return par, perp, eff


@pytest.mark.parametrize("d", DIMS)
def test_bessel_against_scipy(d, x64):
    nu = d / 2 - 1
    r, c, log_f, log_f_scaled = (v[_AT_XS] for v in _bessel64(d))
    assert np.all(np.isfinite(r)) and np.all(np.isfinite(c)) and np.all(np.isfinite(log_f))
    ive0, ive1 = sp.ive(nu, XS), sp.ive(nu + 1, XS)
    ok = ive0 > 1e-250  # SciPy underflows where (x/2)^nu / Gamma(nu + 1) does
    np.testing.assert_allclose(r[ok], (ive1 / ive0)[ok], rtol=1e-12)
    # the complement 1 - r: to the ratio's round-off everywhere, relatively where 1 - r is not small
    # (test_bessel_complement_at_large_x covers x >> nu)
    np.testing.assert_allclose(c[ok], 1 - (ive1 / ive0)[ok], rtol=0, atol=rtol(np.float64))
    wide = ok & (ive1 / ive0 < 0.999)
    np.testing.assert_allclose(c[wide], 1 - (ive1 / ive0)[wide], rtol=1e3 * rtol(np.float64))
    log_ive = log_f_scaled - sp.gammaln(nu + 1) + nu * np.log(XS / 2)  # log I_nu(x) - x
    np.testing.assert_allclose(log_ive[ok], np.log(ive0[ok]), rtol=1e-13, atol=1e-13)
    # log 0F1(; nu + 1; x^2/4) keeps full relative precision as x -> 0: forward sum of the series in NumPy.
    small = XS < 30
    y = XS[small, None] ** 2 / 4
    k = np.arange(1, 200)
    log_terms = k * np.log(y) - sp.gammaln(k + 1) - (sp.gammaln(nu + 1 + k) - sp.gammaln(nu + 1))
    np.testing.assert_allclose(log_f[small], np.log1p(np.exp(log_terms).sum(1)), rtol=1e-12)


@pytest.mark.parametrize("d", [2, 7])
def test_bessel_complement_at_large_x(d, x64):
    """1 - I_{nu+1}/I_nu at x >> nu against the Hankel expansion (difference of the two series term by term)."""
    nu = d / 2 - 1
    x = X_LARGE

    def terms(order):
        out = [np.ones_like(x)]
        for k in range(1, 30):
            out.append(-out[-1] * (4 * order**2 - (2 * k - 1) ** 2) / (8 * k * x))
        return np.array(out)

    a, b = terms(nu), terms(nu + 1)
    reference = (a - b).sum(0) / a.sum(0)
    c = _bessel64(d)[1][_AT_LARGE]
    np.testing.assert_allclose(c, reference, rtol=2e-10)


def test_mean_resultant_closed_form_d3(x64):
    """A_3(beta) = coth(beta) - 1/beta (Langevin), 1 - A_3 = 1/beta - 2/(e^{2 beta} - 1)."""
    beta = np.array([1e-4, 0.1, 1.0, 10.0, 300.0, 1e5])
    langevin = np.where(beta < 1e-2, beta / 3 - beta**3 / 45, 1 / np.tanh(beta) - 1 / beta)
    np.testing.assert_allclose(_each(functools.partial(theory.mean_resultant, 3), beta), langevin, rtol=1e-13)
    log_m = np.where(beta < 1e-2, beta**2 / 6 - beta**4 / 180, np.log(np.sinh(np.minimum(beta, 700)) / beta))
    np.testing.assert_allclose(_each(functools.partial(theory.log_partition, 3), beta[:-1]), log_m[:-1], rtol=1e-12)


@pytest.mark.parametrize("d", [2, 12])
@pytest.mark.parametrize("beta", [0.5, 30.0])
def test_moments_against_quadrature(d, beta, x64):
    """M_d, A_d and the output covariance from the score density by quadrature."""
    a = (d - 1) / 2
    log_c = -(2 * a - 1) * math.log(2) - sp.betaln(a, a)

    def moment(f, b):
        # (1 + s)^(a-1) (1 - s)^(a-1) as quad's algebraic weight (singular endpoints at d = 2)
        integrand = lambda s: f(s) * np.exp(b * (s - 1) + log_c)  # noqa: E731
        return si.quad(integrand, -1, 1, weight="alg", wvar=(a - 1, a - 1), epsabs=0, epsrel=1e-13, limit=200)[0]

    m1 = moment(lambda s: 1.0, beta)
    a1 = moment(lambda s: s, beta) / m1
    rho = moment(lambda s: 1.0, 2 * beta) / m1**2
    par = moment(lambda s: (s - a1) ** 2, 2 * beta) / m1**2
    perp = moment(lambda s: (1 - s * s) / (d - 1), 2 * beta) / m1**2
    np.testing.assert_allclose(float(theory.log_partition(d, beta)), beta + math.log(m1), rtol=1e-9)
    np.testing.assert_allclose(float(theory.mean_resultant(d, beta)), a1, rtol=1e-9)
    cov = theory.output_covariance(d, 100, beta)
    np.testing.assert_allclose(float(cov.parallel), par / 100, rtol=1e-8)
    np.testing.assert_allclose(float(cov.perpendicular), perp / 100, rtol=1e-8)
    np.testing.assert_allclose(float(cov.effective_keys), 100 / rho, rtol=1e-9)


def test_small_and_zero_beta(x64):
    beta = np.array([0.0, 1e-6, 1e-3])
    for d in [2, 12, 512]:  # the dimensions of test_moments_against_quadrature and test_no_overflow_and_float32
        np.testing.assert_allclose(_each(functools.partial(theory.mean_resultant, d), beta), beta / d, rtol=1e-6)
        np.testing.assert_allclose(
            _each(functools.partial(theory.log_partition, d), beta), beta**2 / (2 * d), rtol=1e-5, atol=0
        )
        # beta = 0 in the dtype whose program other tests compile at this d (float64 at
        # d = 2, 12: test_moments_against_quadrature; float32 at d = 512: test_no_overflow_and_float32)
        zero = np.float32(0.0) if d == 512 else 0.0
        cov = theory.output_covariance(d, 10, zero)
        assert float(cov.parallel) == pytest.approx(1 / (10 * d)) and float(cov.perpendicular) == pytest.approx(
            1 / (10 * d)
        )
    # float32 at d = 3: the program of test_independent.py's brute-force entropy check
    assert float(theory.mean_field_entropy(3, 100, np.float32(0.0))) == pytest.approx(math.log(100))


def test_no_overflow_and_float32():
    """float32 at the extremes: finite, and close to the float64 values (float64
    A and log M; the entropy's n -> inf form log n + log M - beta A from them; the
    covariance by quadrature, _covariance_by_quadrature)."""
    n = 10**9
    beta = np.array([1e-6, 1.0, 1e3, 1e6], np.float32)
    for d in [2, 512]:
        a = _each(functools.partial(theory.mean_resultant, d), beta)
        log_m = _each(functools.partial(theory.log_partition, d), beta)
        # the 1/n terms: NaN where rho overflows
        h = _each(functools.partial(theory.mean_field_entropy, d, n, corrected=False), beta)
        cov = _covariance_each(d, n, beta)
        # rho = M(2 beta) / M(beta)^2 ~ e^246 at d = 512, beta = 1e3: far outside the
        # Gaussian regime (n / rho << 1), where the covariance overflows float32.
        valid = cov.effective_keys > 1
        for arr in (a, log_m, h, cov.parallel[valid], cov.perpendicular[valid]):
            assert arr.dtype == np.float32 and np.all(np.isfinite(arr))
        b64 = beta.astype(np.float64)
        with jax.enable_x64(True):
            a64 = _each(functools.partial(theory.mean_resultant, d), b64)
            m64 = _each(functools.partial(theory.log_partition, d), b64)
        h64 = math.log(n) + (m64 - b64) + b64 * (1.0 - a64)  # log M - beta A without its large cancellation
        par64, perp64, _ = np.array([_covariance_by_quadrature(d, n, b) for b in b64]).T
        # float32 against float64 at the float32 rounding of beta and the result
        tol = rtol(np.float32)
        np.testing.assert_allclose(a, a64, rtol=tol)
        np.testing.assert_allclose(log_m, m64, rtol=tol)
        np.testing.assert_allclose(h, h64, rtol=tol)
        np.testing.assert_allclose(cov.parallel[valid], par64[valid], rtol=tol)
        np.testing.assert_allclose(cov.perpendicular[valid], perp64[valid], rtol=tol)


def _complement_ulps(d: int) -> int:
    """The float32 error bound of the Bessel complement 1 - I_{nu+1}/I_nu, in ulps:
    Debye's value at order N = max(40, nu) is a difference of two logs of size ~N
    (about 2N ulps of absolute error in log R, at most that relative in 1 - R), and
    the recurrence down to nu (whose relative growth ends with it), Hankel's sum
    and the series add about one more."""
    return 2 * max(40, d // 2 - 1) + 1


@pytest.mark.parametrize(("d", "beta"), [(2, 1e3), (2, 1e6), (512, 1.0), (3, 1e4), (8, 100.0), (33, 10.0)])
def test_parallel_variance_float32(d, beta):
    """n = 1e9 (n / rho >> 1: inside the Gaussian regime): the float32 parallel output
    variance against float64, to float32 round-off (before the fix it was 2.4x too
    small at d = 2, beta = 1e3, 750x too large at beta = 1e6: Var_x(s) as
    1 - A^2 - (d - 1) A / x cancels). The bound, derived: rho = exp(L2 - 2 L1) with
    L = log M - beta, each log good to about an ulp of itself, so rho carries
    eps (|L2| + 2 |L1|); the Bessel complements c(beta), c(2 beta) and dc/dx carry
    _complement_ulps each (test_bessel_complement_float32); (c - c2)^2 + Var has two
    terms >= 0 (no cancellation), and the products add a few roundings (4). The float64
    value by quadrature of its defining integral (_covariance_by_quadrature, ~5e-13)."""
    cov = theory.output_covariance(d, 10**9, np.float32(beta))
    with jax.enable_x64(True):
        l1, l2 = (float(theory.log_partition(d, b)) - b for b in (beta, 2 * beta))
    par64 = _covariance_by_quadrature(d, 10**9, beta)[0]
    ulps = abs(l2) + 2 * abs(l1) + 3 * _complement_ulps(d) + 4
    np.testing.assert_allclose(float(cov.parallel), par64, rtol=ulps * float(np.finfo(np.float32).eps))


@pytest.mark.parametrize("d", [2, 3, 8, 33, 80, 512])
def test_bessel_complement_float32(d):
    """1 - I_{nu+1}/I_nu in float32 against float64 at the same (float32) x, from
    x = 1e-3 to 1e6, within _complement_ulps. (The recurrence from order 40 down
    to 0 alone kept only ~4e-4 of it at x >> nu, 3000 ulps: see the module.)"""
    c32 = np.asarray(bessel_ratio_parts(d / 2 - 1, jnp.asarray(X32))[1], np.float64)
    c64 = _bessel64(d)[1][_AT_X32]  # at the same (float32) x
    np.testing.assert_allclose(c32, c64, rtol=_complement_ulps(d) * float(np.finfo(np.float32).eps))


def test_large_beta_bias(x64):
    """1 - A_d(beta) ~ (d-1)/(2 beta) and the entropy's beta (1 - A) stays accurate at beta = 1e6."""
    for d in [3, 33, 512]:
        c = 1.0 - float(theory.mean_resultant(d, 1e6))
        assert c == pytest.approx((d - 1) / 2e6, rel=1e-3)
        # H - log n = log M - beta A -> (d-1)/2 (1 - log beta) + const: finite differences in log beta
        h1, h2 = (float(theory.mean_field_entropy(d, 1, b, corrected=False)) for b in (1e6, 2e6))
        assert (h2 - h1) / math.log(2) == pytest.approx(-(d - 1) / 2, rel=1e-3)


def test_gradients_against_finite_differences(x64):
    b = np.array([0.3, 5.0, 200.0])
    functions = (theory.mean_resultant, theory.log_partition)
    # Debye's order reached by 40 recurrence steps (d = 2) and by none (d = 100; d = 512's reverse-mode
    # program compiles twice as long)
    for d in [2, 100]:
        # Reverse mode, both functions in one program per d: each row of the
        # Jacobian is the gradient of one of them.
        grads = jax.vmap(jax.jacrev(lambda x, d=d: jnp.stack([f(d, x) for f in functions])))(jnp.asarray(b))
        for grad, f in zip(grads.T, functions, strict=True):
            h = 1e-5 * b
            fd = (_each(functools.partial(f, d), b + h) - _each(functools.partial(f, d), b - h)) / (2 * h)
            np.testing.assert_allclose(np.asarray(grad), fd, rtol=1e-7)
            if f is theory.log_partition:  # d log M / d beta = A
                a = _each(functools.partial(theory.mean_resultant, d), b)
                np.testing.assert_allclose(np.asarray(grad), a, rtol=1e-12)


def test_jit_vmap():
    f = jax.jit(jax.vmap(lambda b: theory.output_covariance(8, 1000, b).perpendicular))
    betas = jnp.linspace(0.5, 20.0, 5)
    eager = [float(theory.output_covariance(8, 1000, b).perpendicular) for b in betas]
    np.testing.assert_allclose(np.asarray(f(betas)), eager, rtol=rtol(np.float32))
    cov = theory.output_covariance(3, 10, 2.0)
    q = jnp.array([1.0, 0.0, 0.0])
    m = cov.matrix(q)
    np.testing.assert_allclose(np.asarray(m), np.diag([float(cov.parallel)] + 2 * [float(cov.perpendicular)]))


def test_bad_arguments():
    with pytest.raises(ValueError, match="d must be an integer >= 2"):
        theory.mean_resultant(1, 1.0)
    with pytest.raises(ValueError, match="beta must be finite and >= 0"):
        theory.log_partition(3, -1.0)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        theory.output_covariance(3, 0, 1.0)
