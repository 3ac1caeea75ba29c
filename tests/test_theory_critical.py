"""The critical regime's theory: Poisson limit, critical constant, exact finite-n
curve and finite-size corrections, each against an independent route."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_z, rtol

import lattn_jax as lj
from lattn_jax import theory


@pytest.mark.parametrize("d", [2, 3, 6, 12, 32, 64])
def test_limit_mean_max_weight_matches_samples_of_the_process(d):
    """Quadrature (Mecke formula) against direct samples of the Poisson process."""
    gamma = theory.critical_constant(d)
    # 4000 samples, k = 3: the program of test_limit_weights_and_entropy_samples_are_consistent
    w = np.asarray(theory.sample_limit_weights(jax.random.key(d), d, gamma, 4000, k=3))[:, 0]
    # float32: gamma's rounding moves log lam = log c - a log gamma by a * eps.
    assert float(theory.limit_mean_max_weight(d, gamma)) == pytest.approx(0.5, abs=1e-6 * max(1.0, d / 8))
    assert_z(w.mean(), 0.5, w.std(ddof=1) / math.sqrt(w.size))


def test_limit_curve_is_monotone_and_its_gradient_matches_finite_differences(x64):
    """Monotone from near 0 to near 1; jax.grad against central differences
    D(h) = m'(g) + c h^2 + O(h^4): Richardson's (4 D(h) - D(2h)) / 3 leaves O(h^4),
    well inside |D(2h) - D(h)| / 3 = |c| h^2 (the term it removed), plus the
    round-off rtol(float64) / h. The values at a 0-d gamma each (the program of
    test_limit_at_the_critical_constant_is_the_level_at_every_d), the gradient jitted
    (one compilation instead of a hundred op-by-op ones)."""
    g0, h = 1.2, 1e-3
    gammas = np.concatenate([np.geomspace(0.05, 20.0, 9), g0 + h * np.array([1, -1, 2, -2])])

    def m_of(g):
        return theory.limit_mean_max_weight(4, g)

    values = np.array([float(m_of(g)) for g in gammas])
    grad = float(jax.jit(jax.grad(m_of))(jnp.asarray(g0)))
    m, (up1, down1, up2, down2) = values[:9], values[9:]
    assert np.all(np.diff(m) > 0) and m[0] < 0.05 and m[-1] > 0.95
    d1, d2 = (up1 - down1) / (2 * h), (up2 - down2) / (4 * h)
    assert abs(grad - (4 * d1 - d2) / 3) < abs(d2 - d1) / 3 + rtol(np.float64) / h


@pytest.mark.parametrize("d", [3, 4, 6])
def test_critical_constant_matches_the_search_at_one_million_keys(d, key):
    """beta*_n at n = 1e6 by the Monte Carlo search within 4 of its standard errors
    of the exact finite-n value (which the finite-size test ties to the limit
    constant: gamma* n^{2/(d-1)} (1 + kappa n^{-2/(d-1)} + ...))."""
    n = 10**6
    crit = lj.find_critical_beta(lj.UniformSphere(d), n, key, num_contexts=4096)
    assert_z(crit.beta, theory.exact_critical_beta(d, n), crit.stderr)


@pytest.mark.parametrize(
    ("law", "n", "beta"),
    [
        (lj.UniformSphere(3), 1000, 400.0),
        (lj.UniformSphere(6), 100, 15.0),
        (lj.UniformSphere(4), 2, 1.0),
        (lj.Subsphere(7, 4), 300, 40.0),
        (lj.PowerDensity(3, 1.0), 500, 60.0),
        (lj.UniformSphere(64), 400, 36.0),
        (lj.UniformSphere(128), 100, 40.0),
    ],
)
def test_exact_mean_max_weight_matches_dense_brute_force(law, n, beta, x64):
    """The finite-n quadrature against a float64 Monte Carlo over all n keys."""
    est = lj.mc_estimate(lj.max_weight, law, n, beta, jax.random.key(11), 8192, method="dense")
    assert_z(float(est.mean), float(theory.exact_mean_max_weight(law, n, beta)), float(est.stderr))


def test_exact_mean_max_weight_limits():
    assert float(theory.exact_mean_max_weight(3, 50, 0.0)) == pytest.approx(1 / 50)
    assert float(theory.exact_mean_max_weight(3, 1, 7.0)) == pytest.approx(1.0, abs=1e-6)
    assert float(theory.exact_mean_max_weight(3, 50, 1e9)) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(("d", "n1"), [(4, 10**4), (6, 10**5)])
def test_finite_size_coefficient_is_the_slope_of_the_exact_factors(d, n1):
    """kappa = lim (F(n) - 1) n^{1/a} against the exact finite-n factors F. The
    estimate (F(n) - 1) n^{1/a} = kappa + A n^-p + B n^-q + ..., with the terms
    n^{-1/a} (second order) and n^{1/a - 1} (binomial against Poisson) giving
    p, q = sorted(1/a, 1 - 1/a) (d = 4: 1/3, 2/3; d = 6: 0.4, 0.6). Richardson on
    n1 and n2 = 10 n1 removes A n^-p; what is left, B n2^-q, is bounded by the
    removed term A n2^-p times (n1/n2)^{q-p}. The first-order curve
    critical_beta(finite_size=True) then misses the exact beta*_n2 by
    (kappa - estimate) n2^{-1/a}, i.e. by the removed term times n2^{-1/a} (twice that
    allowed for the next order)."""
    a = (d - 1) / 2
    p, q = sorted([1 / a, 1 - 1 / a])
    ns = np.array([n1, 10 * n1])
    factors = theory.finite_size_factors(d, list(ns))
    estimates = (factors - 1) * ns ** (1 / a)
    r = 10.0**-p
    removed = abs(estimates[0] - estimates[1]) * r / (1 - r)  # A n2^-p
    kappa = theory.finite_size_coefficient(d)
    assert abs((estimates[1] - r * estimates[0]) / (1 - r) - kappa) < removed * 10.0 ** (p - q)
    exact = theory.exact_critical_beta(d, int(ns[1]))
    corrected = float(theory.critical_beta(d, ns[1], finite_size=True))
    assert abs(corrected / exact - 1) < 2 * removed * ns[1] ** (-1 / a)
    assert theory.finite_size_coefficient(3) == 0.0  # b = 0 for uniform keys on S^2


def test_gap_expansion_and_intensity(x64):  # float64: the slopes divide c's rounding by u = 1e-4
    """(a, c, b) against SciPy's exact gap law P(g <= u) = I_{u/2}(a, a):
    R(u) = (P(u) / (c u^a) - 1) / u = b + O(u); Richardson's 2 R(u) - R(2u) leaves
    O(u^2), inside |R(2u) - R(u)| (the removed first-order term); c against
    P(u) / u^a to that first-order term."""
    from scipy import special

    a, c, b = map(float, theory.gap_expansion(6))  # 0-d arrays
    assert a == 2.5
    u = 1e-4
    ratio = [special.betainc(a, a, x / 2) / x**a for x in (u, 2 * u)]
    assert abs(ratio[0] / c - 1) < 2 * abs(ratio[1] - ratio[0]) / ratio[0]
    slope = [(ratio[0] / c - 1) / u, (ratio[1] / c - 1) / (2 * u)]
    assert abs(2 * slope[0] - slope[1] - b) < abs(slope[1] - slope[0])
    c_scipy = 2.0**-a / (a * special.beta(a, a))
    assert float(theory.limit_intensity(6, 2.0)) == pytest.approx(c_scipy * 2.0**-2.5, rel=rtol(np.float32))
    assert theory.gap_expansion(lj.Subsphere(9, 4)) == theory.gap_expansion(4)
    assert theory.critical_exponent(lj.Subsphere(9, 4)) == pytest.approx(2 / 3)
    assert theory.critical_exponent(lj.PowerDensity(4, 1.0)) == pytest.approx(0.5)


def test_limit_weights_and_entropy_samples_are_consistent():
    # the sizes of the other samplers' tests (compiled once between them)
    w = np.asarray(theory.sample_limit_weights(jax.random.key(3), 4, 1.0, 4000, k=3))
    assert np.all(w[:, 0] >= w[:, 1]) and np.all(w[:, 1] >= w[:, 2]) and np.all(w.sum(1) <= 1 + 1e-6)
    h = np.asarray(theory.sample_limit_entropy(jax.random.key(3), 4, 1.0, 4000))
    # H >= -log(max weight) for any distribution.
    assert np.all(h >= -np.log(w[:, 0]) - 1e-5)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: theory.critical_constant(3, level=1.5), "level must be in the open interval"),
        (lambda: theory.limit_mean_max_weight(3, -1.0), "gamma must be finite and > 0"),
        (lambda: theory.critical_beta(3, 1), "n must be finite and >= 2"),
        (lambda: theory.exact_critical_beta(3, 10, level=0.05), "level must exceed 1/n"),
        (lambda: theory.sample_limit_weights(jax.random.key(0), 3, 1.0, 10, k=9, num_points=4), "k must be <="),
        (lambda: theory.gap_expansion(1), "d must be an integer >= 2"),
        (lambda: theory.sample_limit_entropy(0, 3, 1.0, 10), "key must be a PRNG key"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_finite_size_fit_recovers_exact_exponent():
    ns = np.array([1e2, 1e3, 1e4, 1e5])
    kappa, p = -0.6, 0.4
    betas = 2.8 * ns**p * (1 + kappa * ns**-p)
    plain = lj.fit_power_law(ns, betas, 0.01 * betas)
    corrected = lj.fit_power_law(ns, betas, 0.01 * betas, finite_size=(kappa, p))
    factored = lj.fit_power_law(ns, betas, 0.01 * betas, factors=1 + kappa * ns**-p)
    assert float(plain.exponent) > 0.41
    assert float(corrected.exponent) == pytest.approx(p, abs=1e-6)
    assert float(factored.exponent) == pytest.approx(p, abs=1e-6)
    with pytest.raises(ValueError, match="factors must be finite"):
        lj.fit_power_law(ns, betas, factors=[1.0, 2.0])


def test_limit_quadrature_has_converged(monkeypatch, x64):
    """Half again as many tanh-sinh nodes in every rule move m at 0.3, 1 and 3
    gamma* by < 1e-8, at d = 2 and d = 128. A 0-d gamma in every call (the node
    counts are read at call time and are static in the compiled curve): the
    default rule is the program of test_limit_at_the_critical_constant_is_the_level_at_every_d,
    the finer one compiles once for both dimensions."""
    from lattn_jax.theory import _poisson

    dims = (2, 128)
    gammas = [float(theory.critical_constant(d)) * np.array([0.3, 1.0, 3.0]) for d in dims]

    def evaluate():
        return np.array(
            [[float(theory.limit_mean_max_weight(d, g)) for g in gs] for d, gs in zip(dims, gammas, strict=True)]
        )

    base = evaluate()
    monkeypatch.setattr(_poisson, "_NODES", 96)
    monkeypatch.setattr(_poisson, "_INNER_NODES", 96)
    finer = evaluate()
    assert not np.array_equal(finer, base)  # the finer rules did run
    np.testing.assert_allclose(finer, base, rtol=0, atol=1e-8)


def _reference_limit_mean_max_weight(a: float, gamma: float) -> float:
    """m(gamma) by an independent route: SciPy's adaptive quadrature over the
    nearest point x and the Laplace variable s, and for the competitors a
    composite Gauss-Legendre rule up to v = log s + 45 plus the exact tail of
    the linearised integrand, s lam e^x Gamma(a + 1) Q(a, x + V)."""
    from scipy import integrate, special

    log_lam = -a * math.log(2) - math.log(a) - special.betaln(a, a) - a * math.log(gamma)
    lam = math.exp(log_lam)
    t, w = np.polynomial.legendre.leggauss(100)

    def competitors(x, s):
        v_split = max(math.log(s), 0.0) + 45.0
        edges = v_split * np.linspace(0, 1, 9) ** (2 if a < 1 else 1)
        lo, hi = edges[:-1, None], edges[1:, None]  # 8 panels of the composite rule, as one array
        v = lo + (hi - lo) * (t + 1) / 2
        rho = np.exp(log_lam + math.log(a) + (a - 1) * np.log(x + v))
        total = np.sum((hi - lo) / 2 * w * -np.expm1(-s * np.exp(-v)) * rho)
        tail = math.log(s) + log_lam + x + special.gammaln(a + 1) + math.log(special.gammaincc(a, x + v_split))
        return total + math.exp(tail)

    def nearest(x):
        middle = integrate.quad(lambda s: math.exp(-s - competitors(x, s)), 0, 60, epsabs=1e-12, limit=200)[0]
        return lam * a * x ** (a - 1) * math.exp(-lam * x**a) * middle

    scale, x_max = lam ** (-1 / a), (70 / lam) ** (1 / a)
    points = [scale * f for f in (0.5, 0.9, 1.0, 1.1) if scale * f < x_max]
    return integrate.quad(nearest, 0, x_max, points=points, epsabs=1e-11, limit=400)[0]


@pytest.mark.slow
@pytest.mark.parametrize(("d", "about"), [(16, 14.92), (32, 37.52), (64, 85.17), (128, 182.67)])
def test_critical_constant_against_an_independent_quadrature(d, about, x64):
    """At head dimensions the constant solves m = 1/2 by a quadrature that
    shares nothing with the library's (until a fixed bracket clipped it: d = 32
    gave 22.27, d = 64 gave 6.47)."""
    gamma = theory.critical_constant(d)
    assert gamma == pytest.approx(about, abs=0.01)
    assert _reference_limit_mean_max_weight((d - 1) / 2, gamma) == pytest.approx(0.5, abs=1e-8)


@pytest.mark.parametrize("d", [2, 5, 29, 33, 100, 256, 512])
def test_limit_at_the_critical_constant_is_the_level_at_every_d(d, x64):
    assert float(theory.limit_mean_max_weight(d, theory.critical_constant(d))) == pytest.approx(0.5, abs=1e-6)


def _no_root(y, c):
    return jnp.tanh(y) - c


def test_root_finder_raises_instead_of_clipping():
    from lattn_jax._numerics._quadrature import solve_increasing

    assert solve_increasing(_no_root, (0.5,), 3.0, 0.5, name="t", dtype=jnp.float32) == pytest.approx(
        math.atanh(0.5), rel=1e-6
    )
    with pytest.raises(RuntimeError, match="t: no sign change"):
        solve_increasing(_no_root, (2.0,), 0.0, 0.5, name="t", dtype=jnp.float32)
