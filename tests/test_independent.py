"""Public theory and scan functions against values computed without the library.

Every reference here is independent of the implementation under test: float64
NumPy brute force (keys as normalised Gaussians, softmax by log-sum-exp), a
direct NumPy simulation of the Poisson limit process from its definition, SciPy
quadrature of a defining integral, or a closed form at a special dimension.
Monte Carlo comparisons use ``|z| < 4`` with the standard errors stated; the
others a tolerance derived in a comment from float precision or from the
truncation error the docstring claims.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_z, log_softmax, rtol, sphere
from scipy import integrate, optimize, special

import lattn_jax as lj
from lattn_jax import theory as th

# ---------------------------------------------------------------- references


def _gap_cdf(d, u):
    """``P(1 - <q, k> <= u)`` for ``k`` uniform on ``S^{d-1}``: ``<q, k>`` has density
    ``∝ (1 - s^2)^{(d-3)/2}``, i.e. the gap ``g`` has density ``∝ (g (2 - g))^{(d-3)/2}``
    (SciPy quadrature with the algebraic endpoint weight)."""
    e = (d - 3) / 2.0

    def part(upper):
        return integrate.quad(lambda g: (2.0 - g) ** e, 0.0, upper, weight="alg", wvar=(e, 0.0), epsrel=1e-13)[0]

    return part(u) / part(2.0)


def _small_gap_constant(d):
    """``c = lim P(g <= u) / u^a`` (``a = (d-1)/2``) from the quadrature at ``u = 1e-9``;
    relative error ``O(u)`` from the next term of the gap law."""
    u = 1e-9
    return _gap_cdf(d, u) / u ** ((d - 1) / 2.0)


def _poisson_points(rng, a, lam, num, k):
    """``num`` realisations of the first ``k`` points of the Poisson process on
    ``(0, oo)`` with mean measure ``lam x^a``: ``x_j = (Gamma_j / lam)^{1/a}``,
    ``Gamma_j`` the arrival times of a unit-rate process."""
    arrivals = np.cumsum(rng.exponential(size=(num, k)), axis=1)
    return (arrivals / lam) ** (1.0 / a)


def _stderr(values):
    return float(np.std(values, ddof=1) / np.sqrt(values.shape[0]))


def _max_weight_root(gaps, level=0.5):
    """``beta*`` with mean max weight ``= level`` over float64 gap rows ``(M, n)``
    (common random numbers, Brent's method) and its delta-method standard error
    ``sd(W_(1)) / sqrt(M) / dE[W_(1)]/dbeta``, using ``dW_(1)/dbeta = W_(1) (<g>_w - g_min)``.
    Also returns the slope in ``log beta`` and its standard error."""
    shifted = gaps - gaps.min(axis=1, keepdims=True)

    def stats(beta):
        log_w = log_softmax(-beta * shifted)
        w = np.exp(log_w)
        w1 = np.exp(log_w.max(axis=1))
        return w1, w1 * (w * shifted).sum(axis=1)

    beta = optimize.brentq(lambda b: stats(b)[0].mean() - level, 1e-3, 1e7, xtol=1e-12, rtol=1e-13)
    w1, dw1 = stats(beta)
    slope = dw1.mean()
    return beta, _stderr(w1) / slope, beta * slope, beta * _stderr(dw1)


# ---------------------------------------------------------------- supercritical


def test_supercritical_prob_max_weight_above_poisson_simulation():
    """d = 3 (exact in the Poisson limit) and d = 5 at gamma = 200 (docstring: error
    O(gamma^-2), ~ 1e-5 here with K_5 ~ 1.5, far below the Monte Carlo error) against a
    NumPy simulation of the limit process: W_(1) = 1 / sum_j e^{-(x_j - x_1)}.
    Binomial stderr sqrt(p (1 - p) / M); |z| < 4."""
    rng = np.random.default_rng(1)
    eps = 0.01
    for d, gamma in [(3, 10.0), (3, 2.0), (5, 200.0)]:
        a = (d - 1) / 2.0
        lam = _small_gap_constant(d) * gamma**-a
        x = _poisson_points(rng, a, lam, 40_000, 64)
        assert (x[:, -1] - x[:, 0]).min() > 40.0  # the points past the 64th change W_(1) by < e^{-40}
        w1 = 1.0 / np.exp(-(x - x[:, :1])).sum(axis=1)
        hits = (w1 > 1.0 - eps).astype(float)
        value = th.supercritical_prob_max_weight_above(d, gamma, eps=eps)  # n -> inf at beta = gamma n^{1/a}
        assert_z(value, hits.mean(), _stderr(hits))


def test_supercritical_rate_defining_integral_and_simulation(x64):
    """K_d = gamma E[a lam x_1^{a-1}] (the Poisson intensity at the nearest point, lam =
    c gamma^{-a}, x_1 with density a lam x^{a-1} e^{-lam x^a}) by SciPy quadrature, c from
    the quadrature of the gap law; both quadratures to ~1e-9 relative, so rtol 1e-7.
    Then the rate it claims, P(W_(1) <= 1 - eps) gamma / log((1 - eps)/eps) -> K_d, from
    a Poisson simulation at d = 5, gamma = 2000: the O(r log(1/eps)) ~ 0.4% higher-order
    bias is below the binomial stderr (~3.5%); |z| < 4."""
    for d in (4, 5, 8):
        a = (d - 1) / 2.0
        lam = _small_gap_constant(d)  # gamma = 1

        def integrand(x, a=a, lam=lam):
            rate = a * lam * x ** (a - 1.0)
            return rate * rate * math.exp(-lam * x**a)

        scale = lam ** (-1.0 / a)
        k_ref = integrate.quad(integrand, 0.0, 60.0 * scale, epsrel=1e-12, limit=200)[0]
        np.testing.assert_allclose(th.supercritical_rate(d), k_ref, rtol=1e-7)
    assert th.supercritical_rate(3) == pytest.approx(0.5, rel=1e-15)  # a = 1: K = c = 1/2

    rng = np.random.default_rng(2)
    d, gamma, eps = 5, 2000.0, 0.01
    a = 2.0
    x = _poisson_points(rng, a, _small_gap_constant(d) * gamma**-a, 200_000, 8)
    assert (x[:, -1] - x[:, 0]).min() > 60.0
    w1 = 1.0 / np.exp(-(x - x[:, :1])).sum(axis=1)
    below = (w1 <= 1.0 - eps).astype(float)
    factor = gamma / math.log((1.0 - eps) / eps)
    assert_z(th.supercritical_rate(d), below.mean() * factor, _stderr(below) * factor)


# ---------------------------------------------------------------- heat flow


def _vmf_moment(d, kappa, f):
    """``E[f(t)]``, ``t = <mu, x>``, ``x ~ vMF(mu, kappa)`` on ``S^{d-1}``: density of ``t``
    ``∝ e^{kappa t} (1 - t^2)^{(d-3)/2}`` (SciPy quadrature)."""
    e = (d - 3) / 2.0
    opts = dict(weight="alg", wvar=(e, e), epsabs=0.0, epsrel=1e-13)
    norm = integrate.quad(lambda t: math.exp(kappa * (t - 1.0)), -1.0, 1.0, **opts)[0]
    return integrate.quad(lambda t: f(t) * math.exp(kappa * (t - 1.0)), -1.0, 1.0, **opts)[0] / norm


def _bessel_ratio(d, x):
    """``A_d(x) = I_{d/2}(x) / I_{d/2-1}(x)`` from SciPy's scaled Bessel functions."""
    return special.ive(d / 2.0, x) / special.ive(d / 2.0 - 1.0, x)


@pytest.mark.parametrize("d", [3, 5])
def test_heat_flow_mean_resultant_exact_vmf_step(d, x64):
    """For vMF(mu, kappa) tokens and n -> oo, one attention step maps x to the tilted mean
    A_d(|v|) v / |v|, v = beta x + kappa mu, and normalising gives v / |v|; so the new
    |E[x]| = E[(beta t + kappa) / sqrt(beta^2 + 2 beta kappa t + kappa^2)] exactly (quadrature),
    with |E[x]| = A_d(kappa) before (coth(kappa) - 1/kappa at d = 3). Expanding in 1/beta
    (E[1 - t^2] = (d-1) A / kappa) the prediction R e^{(d-1)/beta} exceeds it by
    D / beta^2 + O(beta^-3), D = (d-1)^2 R / 2 + (3/2) kappa^2 E[t - t^3]: at beta = 400 the
    difference must match D / beta^2 to 5% (an O(beta^-3) coefficient up to 20 D)."""
    kappa, beta = 1.5, 400.0
    r = _bessel_ratio(d, kappa)
    if d == 3:
        np.testing.assert_allclose(r, 1.0 / math.tanh(kappa) - 1.0 / kappa, rtol=1e-13)
    np.testing.assert_allclose(_vmf_moment(d, kappa, lambda t: t), r, rtol=1e-11)
    exact = _vmf_moment(d, kappa, lambda t: (beta * t + kappa) / math.sqrt(beta**2 + 2 * beta * kappa * t + kappa**2))
    big_d = (d - 1) ** 2 * r / 2.0 + 1.5 * kappa**2 * _vmf_moment(d, kappa, lambda t: t - t**3)
    value = float(th.heat_flow_mean_resultant(d, r, beta))
    assert abs((value - exact) * beta**2 - big_d) < 0.05 * big_d, (value, exact, big_d / beta**2)


def test_heat_displacement_exact_vmf_tilted_mean(x64):
    """For vMF keys the mean-field output is exactly A_d(|v|) v / |v|, v = beta q + kappa mu
    (A_d from SciPy's Bessel functions); its component orthogonal to q is
    (A_d(|v|) / |v|) kappa mu_perp. The prediction (A_d(beta) / beta) kappa mu_perp differs by
    the factor f(|v|) / f(beta), f(x) = A_d(x) / x, with |v| - beta = kappa <q, mu> + O(kappa^2 /
    beta): relative error <= 2 kappa |<q, mu>| / beta + 2 kappa^2 / beta^2 (f'/f ~ -1/x)."""
    betas = np.array([50.0, 200.0])
    displacement = jax.jit(th.heat_displacement)  # one compilation per d
    for d, kappa, cos in [(3, 2.0, 0.0), (3, 2.0, 0.6), (5, 1.0, -0.3)]:
        q = np.zeros(d)
        q[0] = 1.0
        mu = np.zeros(d)
        mu[0], mu[1] = cos, math.sqrt(1.0 - cos**2)
        law = lj.VonMisesFisher(jnp.asarray(mu), kappa)
        value = np.asarray(displacement(law, jnp.asarray(betas), jnp.asarray(q)))
        assert value.shape == (2, d)
        for row, beta in zip(value, betas, strict=True):
            v = beta * q + kappa * mu
            norm = np.linalg.norm(v)
            m = _bessel_ratio(d, norm) * v / norm
            tangent = m - np.dot(m, q) * q
            bound = (2 * kappa * abs(cos) / beta + 2 * kappa**2 / beta**2) * np.linalg.norm(tangent)
            np.testing.assert_array_less(np.abs(row - tangent), bound + 1e-15)
            if cos == 0.0:  # q orthogonal to mu: also the closed form A_d(beta) / beta * kappa mu
                np.testing.assert_allclose(row, _bessel_ratio(d, beta) / beta * kappa * mu, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- Poisson limit


def test_limit_intensity_from_gap_law_quadrature(x64):
    """lam = lim n P(g <= x / beta) / x^a at beta = gamma n^{1/a}: the quadrature at
    n = 1e40, x = 1 (u = 1/beta <= 2e-11; relative error |b| u from the next term of the
    gap law, |b| < a/2 <= 2 from (g (2 - g))^{(d-3)/2} = (2 g)^{(d-3)/2} (1 - g/2)^{(d-3)/2},
    so <= 4e-11; quadrature ~1e-12), rtol 1e-9. PowerDensity(3, 1) has the
    closed form P(g <= u) = (u / 2)^{3/2} exactly: lam = 2^{-3/2} gamma^{-3/2}."""
    n = 1e40
    for d, gamma in [(3, 2.0), (4, 0.7), (6, 2.786), (9, 5.0)]:
        a = (d - 1) / 2.0
        beta = gamma * n ** (1.0 / a)
        ref = n * _gap_cdf(d, 1.0 / beta)
        np.testing.assert_allclose(float(th.limit_intensity(d, gamma)), ref, rtol=1e-9)
    gammas = jnp.asarray([0.5, 2.0])
    value = th.limit_intensity(lj.PowerDensity(3, 1.0), gammas)
    np.testing.assert_allclose(np.asarray(value), 2.0**-1.5 * np.asarray(gammas) ** -1.5, rtol=1e-13)


@pytest.mark.parametrize("d, gamma, h0", [(3, 1.0, 0.7), (6, 2.0, 2.1)])
def test_sample_limit_entropy_poisson_simulation(d, gamma, h0, key):
    """Mean and P(H < h0) (h0 near the median) of the library's samples against a NumPy
    simulation of the limit process (first k points exactly, k large enough that the rest
    carry weight < e^{-40}); each side's stderr from its own samples, |z| < 4 on the
    combined one."""
    a = (d - 1) / 2.0
    lam = _small_gap_constant(d) * gamma**-a
    k = 64 if d == 3 else 3000
    x = _poisson_points(np.random.default_rng(3), a, lam, 4000, k)
    assert (x[:, -1] - x[:, 0]).min() > 40.0
    log_w = log_softmax(-x)
    h_ref = -(np.exp(log_w) * log_w).sum(axis=1)
    h = np.asarray(th.sample_limit_entropy(key, d, gamma, 4000), np.float64)
    assert h.shape == (4000,)
    for f in (lambda v: v, lambda v: (v < h0).astype(float)):
        se = math.hypot(_stderr(f(h)), _stderr(f(h_ref)))
        assert_z(f(h).mean(), f(h_ref).mean(), se)


def test_finite_size_coefficient_from_exact_root(x64):
    """kappa = lim (F(n) - 1) n^{1/a}, F(n) = beta*_n / (gamma* n^{1/a}) from the exact
    quadrature's root (finite_size_factors). The docstring puts the next terms at
    O(n^{-2/a}) and O(1/n), so r(n) = (F(n) - 1) n^{1/a} - kappa = O(n^{-p}),
    p = min(1/a, 1 - 1/a); at d = 6 (p = 0.4) r must shrink by ~100^{-0.4} = 0.16 from
    n = 1e6 to 1e8: |r(1e8)| <= 2 * 0.16 |r(1e6)|, and |r(1e8)| <= 10 n^{-p} (the quadrature's
    1e-13 error is 1e-10 in r). A wrong kappa leaves r -> kappa' - kappa instead."""
    d = 6
    a = 2.5
    kappa = th.finite_size_coefficient(d)
    ns = [10**6, 10**8]
    r = (th.finite_size_factors(d, ns) - 1.0) * np.asarray(ns, float) ** (1.0 / a) - kappa
    assert abs(r[1]) <= 2.0 * 100.0**-0.4 * abs(r[0]), r
    assert abs(r[1]) <= 10.0 * (1e8) ** -0.4, r
    assert th.finite_size_coefficient(3) == 0.0  # b = 0: the uniform gap on S^2 has no next term


def test_finite_size_factors_brute_force_root(x64):
    """beta*_n = F(n) gamma* n^{1/a} against the root of a float64 NumPy brute-force mean
    max weight (d = 6, n = 100, 20000 contexts; delta-method stderr ~0.4%), |z| < 4."""
    d, n = 6, 100
    rng = np.random.default_rng(4)
    keys = sphere(rng, (20_000, n), d)
    beta_ref, se, _, _ = _max_weight_root(1.0 - keys[..., 0])
    factors = th.finite_size_factors(d, [n])
    assert factors.shape == (1,) and factors.dtype == np.float64
    beta = factors[0] * th.critical_constant(d) * n ** (2.0 / (d - 1))
    assert_z(beta, beta_ref, se)


# ---------------------------------------------------------------- mean field


def test_output_mean_and_entropy_closed_forms_d3(x64):
    """At d = 3: M_3(beta) = sinh(beta) / beta and A_3(beta) = coth(beta) - 1/beta, so
    E[H] = log n + log M - beta A, rho = M(2 beta) / M(beta)^2 and both 1/n terms are
    elementary; float64 round-off in a computation of modest depth: rtol(float64)."""
    n = 1000
    beta = np.array([0.3, 2.0, 7.0, 50.0])

    def log_m(b):
        return np.log(np.sinh(b) / b)

    def amean(b):
        return 1.0 / np.tanh(b) - 1.0 / b

    rho = np.exp(log_m(2 * beta) - 2 * log_m(beta))
    h = np.log(n) + log_m(beta) - beta * amean(beta)
    h_corr = h - (rho - 1.0) / (2 * n) + beta * rho * (amean(2 * beta) - amean(beta)) / n
    out = amean(beta) - rho * (amean(2 * beta) - amean(beta)) / n

    @jax.jit  # one compilation for the three
    def theory(b):
        return th.mean_field_entropy(3, n, b, corrected=False), th.mean_field_entropy(3, n, b), th.output_mean(3, n, b)

    values = theory(jnp.asarray(beta))
    for value, ref in zip(values, (h, h_corr, out), strict=True):
        np.testing.assert_allclose(np.asarray(value), ref, rtol=rtol(np.float64))


def test_output_mean_and_entropy_brute_force():
    """E[<output, q>] and E[H] over n = 100 uniform keys on S^2 at beta = 3 by float64
    brute force (20000 contexts): output_mean and mean_field_entropy(corrected=True)
    agree (|z| < 4; their O(1/n^2) remainders, ~ (rho (A(2 beta) - A(beta)) / n)^2 ~ 1e-4,
    are below the stderrs, 2e-4 and 4e-4). The uncorrected entropy is off by its 1/n
    term, ~12 stderr here, which the brute force resolves: |z| > 4."""
    d, n, beta = 3, 100, 3.0
    rng = np.random.default_rng(5)
    keys = sphere(rng, (20_000, n), d)
    log_w = log_softmax(beta * keys[..., 0])
    w = np.exp(log_w)
    out = (w[..., None] * keys).sum(axis=1)
    h = -(w * log_w).sum(axis=1)
    assert_z(th.output_mean(d, n, beta), out[:, 0].mean(), _stderr(out[:, 0]))
    for j in (1, 2):  # orthogonal components: mean zero
        assert_z(0.0, out[:, j].mean(), _stderr(out[:, j]))
    assert_z(th.mean_field_entropy(d, n, beta, corrected=True), h.mean(), _stderr(h))
    z_plain = (float(th.mean_field_entropy(d, n, beta, corrected=False)) - h.mean()) / _stderr(h)
    assert abs(z_plain) > 4.0, z_plain


# ---------------------------------------------------------------- scans


def test_critical_scan_brute_force(key):
    """critical_scan's beta, value and slope at each n against float64 NumPy brute force
    (uniform keys on S^2, 8000 independent contexts per n): beta and the slope
    dE[max w]/dlog beta with |z| < 4 on the combined stderr (the library's slope stderr
    is taken as the NumPy one scaled by sqrt(8000 / 2048)); value = level to 1e-4."""
    d, ns, m = 3, [30, 300], 2048
    scan = lj.critical_scan(lj.UniformSphere(d), ns, key, num_contexts=m)
    assert scan.beta.shape == scan.stderr.shape == scan.value.shape == scan.slope.shape == (2,)
    np.testing.assert_array_equal(np.asarray(scan.n), ns)
    assert bool(scan.converged.all())
    rng = np.random.default_rng(6)
    for i, n in enumerate(ns):
        keys = sphere(rng, (8000, n), d)
        beta_ref, se_ref, slope_ref, slope_se = _max_weight_root(1.0 - keys[..., 0])
        assert_z(scan.beta[i], beta_ref, math.hypot(float(scan.stderr[i]), se_ref))
        assert abs(float(scan.value[i]) - 0.5) < 1e-4
        assert_z(scan.slope[i], slope_ref, slope_se * math.sqrt(1 + 8000 / m))


def test_regime_map_fields_brute_force(key):
    """regime_map's max_weight and entropy at beta = schedule(n) against float64 NumPy
    brute force on independent contexts (uniform keys on S^3, 8000 contexts), |z| < 4
    on the combined stderr; ratio = beta / beta* and the labels from the given beta*."""
    d, ns = 4, [50, 400]
    schedule = lj.PowerLaw(1.0, 0.6)  # beta = n^0.6: 10.5 and 36.4
    beta_star = jnp.asarray([16.0, 60.0])  # given, so no search: ratios 0.66 and 0.61
    result = lj.regime_map(
        lj.UniformSphere(d), schedule, ns, key, num_contexts=1024, critical=(beta_star, jnp.zeros(2))
    )
    rng = np.random.default_rng(7)
    for i, n in enumerate(ns):
        beta = n**0.6
        np.testing.assert_allclose(float(result.beta[i]), beta, rtol=1e-5)
        np.testing.assert_allclose(float(result.ratio[i]), beta / float(beta_star[i]), rtol=1e-5)
        keys = sphere(rng, (8000, n), d)
        log_w = log_softmax(beta * keys[..., 0])
        w1 = np.exp(log_w.max(axis=1))
        h = -(np.exp(log_w) * log_w).sum(axis=1)
        assert_z(result.max_weight[i], w1.mean(), math.hypot(float(result.max_weight_stderr[i]), _stderr(w1)))
        assert_z(result.entropy[i], h.mean(), math.hypot(float(result.entropy_stderr[i]), _stderr(h)))
    assert result.labels == ["critical", "critical"]
