import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_z, log_softmax, rtol, sphere
from scipy import stats

import lattn_jax._estimators as estimators
from lattn_jax import (
    AbstractLaw,
    TopKMass,
    UniformSphere,
    entropy,
    max_weight,
    mc_estimate,
    mc_estimates,
    participation_ratio,
)
from lattn_jax._observables import Atoms
from lattn_jax._sampling._contexts import make_sampler


def test_estimate_matches_manual_average(key):
    """Dense method = the plain average of the observable over the same sampled contexts."""
    law = UniformSphere(3)
    est = mc_estimate(max_weight, law, 200, 50.0, key, 64, method="dense")
    keys = jax.random.split(key, 64)
    # The reference, context by context on the keys (one compiled vmap, not 64 eager calls).
    per = np.asarray(jax.jit(jax.vmap(lambda k: max_weight(law.query(), law.sample(k, 200), 50.0)))(keys), np.float64)
    assert float(est.mean) == pytest.approx(per.mean(), rel=1e-5)
    assert float(est.stderr) == pytest.approx(per.std(ddof=1) / np.sqrt(64), rel=1e-4)


def test_user_observable_runs_on_keys(key):
    """A user function gets whole contexts; on the same key it sees the same keys as the gap path."""
    law = UniformSphere(3)

    def my_max_weight(q, keys, beta):
        return jnp.max(jax.nn.softmax(beta * keys @ q))

    # The gap path's call is test_estimate_matches_manual_average's (one compilation between them).
    user = mc_estimate(my_max_weight, law, 200, 50.0, key, 64)
    builtin = mc_estimate(max_weight, law, 200, 50.0, key, 64, method="dense")
    assert float(user.mean) == pytest.approx(float(builtin.mean), rel=1e-4)


CRITICAL_SCALE = {3: 0.4, 4: 1.0, 6: 2.3, 7: 2.8, 8: 3.3}  # beta* / n^(2/(d-1)), roughly


def _brute_force(observables, d, n, betas, contexts, seed):
    """Per-context values of ``observables`` at each beta, shape (beta, observable,
    context), on float64 NumPy contexts: g / 2 ~ Beta((d-1)/2, (d-1)/2) on S^{d-1},
    i.i.d. per key (independent of the library's samplers)."""
    rng = np.random.default_rng(seed)
    a = (d - 1) / 2
    kernels = {
        max_weight: lambda w, log_w: w.max(axis=1),
        entropy: lambda w, log_w: -(w * log_w).sum(axis=1),
        participation_ratio: lambda w, log_w: 1.0 / (w**2).sum(axis=1),
        TopKMass(3): lambda w, log_w: -np.partition(-w, 2, axis=1)[:, :3].sum(axis=1),
    }
    out = np.empty((len(betas), len(observables), contexts))
    for start in range(0, contexts, 64):  # 64 contexts at a time: bounded memory at n = 2e4
        gaps = 2.0 * rng.beta(a, a, size=(min(64, contexts - start), n))
        for i, beta in enumerate(betas):
            log_w = log_softmax(-beta * gaps)
            w = np.exp(log_w)
            for j, observable in enumerate(observables):
                out[i, j, start : start + gaps.shape[0]] = kernels[observable](w, log_w)
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("d", "n", "observables"),
    [
        (3, 500, [max_weight, entropy]),
        (3, 20_000, [max_weight, entropy]),
        (6, 500, [max_weight, entropy, participation_ratio, TopKMass(3)]),
        (6, 20_000, [max_weight, entropy, participation_ratio, TopKMass(3)]),
    ],
)
def test_order_statistics_agree_with_brute_force(key, d, n, observables):
    """Order statistics and a float64 NumPy brute force of all n keys
    (independent contexts) agree within Monte Carlo error at sub-critical,
    critical and super-critical beta (exact when n <= K). The reference was the
    dense method's estimate, one compilation per (d, n); the dense method is
    checked on its own in this file (the manual average, n = 3e5 against the
    exact value, float32 against float64)."""
    law = UniformSphere(d)
    betas = np.array([0.3, 1.0, 10.0]) * CRITICAL_SCALE[d] * n ** (2 / (d - 1))
    # All observables in one pass (one compilation; order statistics' n is
    # traced, so both n of a d share its program).
    fast_all = mc_estimates(
        tuple(observables), law, n, jnp.asarray(betas, jnp.float32), key, 512, method="order-statistics"
    )
    brute = _brute_force(observables, d, n, betas, 512, seed=d * n)
    for j, fast in enumerate(fast_all):
        for i in range(3):
            values = brute[i, j]
            se = values.std(ddof=1) / np.sqrt(values.size)
            assert_z(fast.mean[i], values.mean(), np.hypot(fast.stderr[i], se))


@pytest.mark.parametrize("d", [3, 6, 8])
def test_far_keys_by_conditional_mean_is_accurate(key, d, x64):
    """Paired check of the only approximation in order statistics: on the same
    dense contexts, the K = 2048 smallest gaps plus the far keys' conditional
    mean give the same E[max weight] and E[H] as all n gaps: to 1e-9 at and
    above beta*, and within a tenth of the Monte Carlo error of 8192 contexts
    at 0.3 beta*."""
    law = UniformSphere(d)
    n = 20_000
    sampler = make_sampler(law, n, "order-statistics")
    kernels = (max_weight, entropy)
    scales = [0.3, 1.0, 3.0]

    @jax.jit  # the contexts, both kernels and the three betas in one compilation per d
    def exact_and_approx(keys, betas):
        dense_gaps = jax.vmap(lambda k: law.sample_gaps(k, n))(keys)
        heads = jnp.sort(dense_gaps, axis=1)[:, : sampler.head]

        def at(beta):
            exact = [jax.vmap(lambda g, f=f: f.on_atoms(Atoms(g), beta))(dense_gaps) for f in kernels]
            approx = [jax.vmap(lambda h, f=f: f.on_atoms(sampler.atoms(h, beta), beta))(heads) for f in kernels]
            return jnp.stack(exact), jnp.stack(approx)

        return jax.vmap(at)(betas)

    betas = jnp.asarray([s * CRITICAL_SCALE[d] * n ** (2 / (d - 1)) for s in scales], jnp.float64)
    exact_all, approx_all = exact_and_approx(jax.random.split(key, 64), betas)  # (beta, kernel, context)
    for i, scale in enumerate(scales):
        for j, kernel in enumerate(kernels):
            exact, approx = exact_all[i, j], approx_all[i, j]
            bias = abs(float(jnp.mean(approx - exact)))
            bound = 1e-9 if scale >= 1 else 0.1 * float(jnp.std(exact)) / np.sqrt(8192)
            assert bias < bound, (scale, type(kernel).__name__, bias, bound)


def test_order_statistics_smallest_gap_law(key, x64):
    """The smallest of n gaps has P(g_(1) > g) = (1 - F(g))^n: check its mean
    against the exact integral E[g_(1)] = int (1 - F(g))^n dg (d = 3: F = g/2)."""
    law = UniformSphere(3)
    n = 10**6
    sampler = make_sampler(law, n, "order-statistics", head=64)
    rows = jax.jit(jax.vmap(sampler.sample))(jax.random.split(key, 20_000))
    g1 = np.asarray(rows[:, 0])
    expected = 2.0 / (n + 1)  # int_0^2 (1 - g/2)^n dg
    assert_z(g1.mean(), expected, g1.std(ddof=1) / np.sqrt(g1.size))
    assert np.all(np.diff(np.asarray(rows), axis=1) >= 0)


@pytest.mark.parametrize("method", ["dense", "order-statistics"])
def test_grad_matches_central_difference(key, method):
    law = UniformSphere(4)
    n = 2000
    beta = 150.0
    h = 3e-3 * beta
    # beta - h, beta and beta + h in one pass over the same contexts (a fixed key
    # gives common random numbers, as three scalar calls would; a beta array equals
    # the scalar calls: test_beta_array_is_one_pass_over_the_same_contexts), the
    # forward derivative included, and reverse mode by the vjp of that same call
    # (each mean depends on its own beta only, so the pullback of the middle mean
    # is [0, dE/dbeta, 0]): one forward and one backward compilation.
    three, pullback = jax.vjp(
        lambda b: mc_estimate(max_weight, law, n, b, key, 128, method=method, derivative=True),
        jnp.array([beta - h, beta, beta + h]),
    )
    central = (three.mean[2] - three.mean[0]) / (2 * h)
    cotangent = jax.tree.map(jnp.zeros_like, three)
    cotangent = dataclasses.replace(cotangent, mean=cotangent.mean.at[1].set(1.0))
    (reverse,) = pullback(cotangent)
    assert float(reverse[0]) == float(reverse[2]) == 0.0
    grad = reverse[1]
    assert float(grad) == pytest.approx(float(central), rel=1e-3)
    assert float(three.derivative[1]) == pytest.approx(float(grad), rel=1e-4)


def test_derivative_stderr_matches_the_spread_over_seeds(key):
    """The reported ``derivative_stderr`` is the spread of ``derivative`` over
    independent seeds. S = 400 seeds of m = 32 contexts, one compilation: the
    variance of the S derivatives over the mean squared reported stderr is,
    when both are right, F(S - 1, S (m - 1)) distributed (one-way ANOVA: the
    between-seed variance against the pooled within-seed one). Its two-sided
    1e-4 quantiles are [0.745, 1.306]; a 25% miscalibration of the stderr
    (variance ratio 1.25^2 or 0.8^2) fails with probability 0.99 (0.985)."""
    law = UniformSphere(4)
    seeds, m = 400, 32

    @jax.jit
    @jax.vmap
    def estimate(k):
        return mc_estimate(max_weight, law, 1000, 100.0, k, m, method="dense", derivative=True)

    est = estimate(jax.random.split(key, seeds))
    spread = np.var(np.asarray(est.derivative, np.float64), ddof=1)
    reported = np.mean(np.asarray(est.derivative_stderr, np.float64) ** 2)
    lo, hi = stats.f.ppf([0.5e-4, 1 - 0.5e-4], seeds - 1, seeds * (m - 1))
    assert lo < spread / reported < hi, (spread / reported, lo, hi)


# One law, observable and context count for the beta-array, jit/vmap and
# recompilation tests: they call the same two programs (a (2, 2) beta array and
# a scalar beta; n is traced in order statistics), compiled once between them.
# The scalar one is also tests/test_streaming.py's order-statistics call at n = 1e7.
SHARED_BETAS = [[10.0, 100.0], [1000.0, 3000.0]]
SHARED_CONTEXTS = 512


def test_beta_array_is_one_pass_over_the_same_contexts(key):
    law = UniformSphere(3)
    betas = jnp.array(SHARED_BETAS)
    est = mc_estimate(max_weight, law, 1000, betas, key, SHARED_CONTEXTS)
    assert est.mean.shape == est.stderr.shape == (2, 2)
    single = mc_estimate(max_weight, law, 1000, 1000.0, key, SHARED_CONTEXTS)
    assert float(est.mean[1, 0]) == pytest.approx(float(single.mean), rel=1e-5)


def test_jit_and_vmap(key):
    law = UniformSphere(3)
    betas = jnp.array(SHARED_BETAS)
    direct = mc_estimate(max_weight, law, 1000, betas, key, SHARED_CONTEXTS).mean
    jitted = jax.jit(lambda b: mc_estimate(max_weight, law, 1000, b, key, SHARED_CONTEXTS).mean)(betas)
    np.testing.assert_allclose(jitted, direct, rtol=1e-5)
    # One vmap (one compilation) over beta and key together: the first four
    # entries batch beta at the fixed key (= the beta array), the last three
    # batch the key at one beta (= one call per key).
    seeds = jax.random.split(key, 3)
    batch_betas = jnp.concatenate([betas.ravel(), jnp.full(3, 500.0)])
    batch_keys = jnp.concatenate([jnp.stack([key] * 4), seeds])
    vmapped = jax.vmap(lambda b, k: mc_estimate(max_weight, law, 1000, b, k, SHARED_CONTEXTS).mean)(
        batch_betas, batch_keys
    )
    np.testing.assert_allclose(vmapped[:4], direct.ravel(), rtol=1e-5)
    one_by_one = [float(mc_estimate(max_weight, law, 1000, 500.0, k, SHARED_CONTEXTS).mean) for k in seeds]
    np.testing.assert_allclose(vmapped[4:], one_by_one, rtol=rtol(jnp.float32))


class _FreshSphere(UniformSphere):
    """UniformSphere under a type of its own: jit caches keyed on the law miss,
    while the traced program is UniformSphere's."""


def test_beta_sweep_does_not_recompile(key, monkeypatch):
    # One compilation traces it twice (the values, and order statistics' truncation
    # estimate on the first contexts); the other three betas must trace nothing.
    traced = chex.assert_max_traces(estimators.context_values, n=2)
    monkeypatch.setattr(estimators, "context_values", traced)
    # A law type no other test uses, so the first call traces (and counts); its
    # program is the scalar-beta one of test_jit_and_vmap (n is traced in order
    # statistics), so XLA's compilation comes from the persistent cache.
    law = _FreshSphere(3)
    for beta in [1.0, 10.0, 100.0, 1000.0]:
        mc_estimate(max_weight, law, 777, beta, key, SHARED_CONTEXTS)


class _Float64Draws(AbstractLaw):
    """Uniform keys drawn in float64 whatever the requested dtype, then cast: the
    same contexts in every dtype."""

    inner: UniformSphere

    @property
    def dim(self):
        return self.inner.dim

    def query(self, dtype=None):
        return self.inner.query(dtype)

    def sample(self, key, n, dtype=None):
        return self.inner.sample(key, n, jnp.float64).astype(dtype or jnp.float64)

    def sample_gaps(self, key, n, dtype=None):
        return self.inner.sample_gaps(key, n, jnp.float64).astype(dtype or jnp.float64)


def test_float64(key, x64):
    """float32 and float64 on the same contexts (drawn in float64, rounded to
    float32) differ by round-off only: each context's entropy (0 <= H <= log n)
    to rtol(float32) relative, so the means to rtol * |mean| and the stderrs,
    sd(H + e) - sd(H) <= max|e|, to rtol * log(n) / sqrt(m)."""
    law, n, m = _Float64Draws(UniformSphere(4)), 5000, 256
    est = mc_estimate(entropy, law, n, 300.0, key, m, method="dense")
    assert est.mean.dtype == jnp.float64
    est32 = mc_estimate(entropy, law, n, 300.0, key, m, method="dense", dtype=jnp.float32)
    assert est32.mean.dtype == jnp.float32
    tol = rtol(jnp.float32)
    assert abs(float(est32.mean) - float(est.mean)) < tol * float(est.mean)
    assert abs(float(est32.stderr) - float(est.stderr)) < tol * np.log(n) / np.sqrt(m)


def _check_against_exact(est, exact, m):
    """E[max weight] within |z| < 4 of the exact value (m = 32 contexts: a
    t-statistic with 31 degrees of freedom exceeds 4 with probability 4e-4),
    and a stderr no larger than a [0, 1] variable allows (sd <= 1/2), so a
    broken, wildly spread estimate cannot pass the z-test on its own stderr."""
    mean, stderr = np.atleast_1d(np.asarray(est.mean)), np.atleast_1d(np.asarray(est.stderr))
    assert np.all((mean > 0) & (mean <= 1)), mean
    assert np.all(stderr <= 0.5 / np.sqrt(m - 1)), stderr
    for got, se, want in zip(mean, stderr, np.atleast_1d(exact), strict=True):
        assert_z(got, want, se)


def test_memory_bounded_dense_chunks(key):
    """n = 3e5 keys per context (the dense path in memory-bounded chunks) at
    beta = 1e5 ~ beta*: E[max weight] is the exact finite-n value."""
    n, beta, m = 300_000, 1e5, 32
    est = mc_estimate(max_weight, UniformSphere(3), n, beta, key, m, method="dense")
    # float(theory.exact_mean_max_weight(3, 300_000, 1e5)) in float64, stored: its
    # quadrature compiles for ~8 s, and tests/test_theory_critical.py checks it.
    _check_against_exact(est, 0.4506829115109195, m)


def test_memory_bounded_dense_chunks_beta_array(key):
    """Two betas in one pass at n = 3e5, where a chunk holds one context: the
    same values as one beta at a time on the same contexts. (lax.map with
    batch_size=1 over a beta array gave max weights ~1e6 on XLA's CPU backend;
    context_values now scans one context at a time there.)"""
    # 32 contexts, as test_memory_bounded_dense_chunks: the scalar calls reuse its
    # compilation (a chunk still holds one context at n = 3e5, whatever the count).
    law, n, betas = UniformSphere(3), 300_000, [3e4, 1e5]
    est = mc_estimate(max_weight, law, n, jnp.array(betas), key, 32, method="dense")
    single = [float(mc_estimate(max_weight, law, n, b, key, 32, method="dense").mean) for b in betas]
    np.testing.assert_allclose(est.mean, single, rtol=rtol(np.float32))
    assert np.all((np.asarray(est.mean) > 0) & (np.asarray(est.mean) <= 1)), est.mean


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(n=1), ValueError, "n must be an integer >= 2"),
        (dict(n=10.5), TypeError, "n must be an integer"),
        (dict(beta=-1.0), ValueError, "beta must be finite and >= 0"),
        (dict(beta=float("nan")), ValueError, "beta must be finite"),
        (dict(beta=float("inf")), ValueError, "beta must be finite"),
        (dict(beta=jnp.array([1.0, -2.0])), ValueError, "beta must be finite and >= 0"),
        (dict(num_contexts=1), ValueError, "num_contexts must be an integer >= 2"),
        (dict(method="fast"), ValueError, "method must be one of"),
        (dict(law="sphere"), TypeError, "law must be a context law"),
        (dict(key=0), TypeError, "key must be a PRNG key"),
        (dict(observable=3), TypeError, "observable must be a function"),
    ],
)
def test_bad_input(key, kwargs, error, match):
    args = dict(observable=max_weight, law=UniformSphere(3), n=100, beta=1.0, key=key, num_contexts=8)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        mc_estimate(**args)


@pytest.mark.parametrize("n", [2, 3, 10])
def test_order_statistics_tiny_contexts(key, n):
    """n far below K: the padded rows carry no weight (E[max weight] <= 1, = dense)."""
    law = UniformSphere(3)
    k1, _ = jax.random.split(key)
    observables = (max_weight, entropy, participation_ratio)
    # derivative=True: the means are the same pass's primal values, and the
    # derivative below comes from it (one compilation, not a second call; n is
    # traced in order statistics, so one program for the three n)
    fast_all = mc_estimates(observables, law, n, 5.0, k1, 2000, method="order-statistics", derivative=True)
    # The reference: a float64 NumPy brute force of independent contexts (the
    # dense method's role before, without a compilation per n).
    contexts = 20_000
    gaps = 1.0 - sphere(np.random.default_rng(n), (contexts, n), 3)[..., 0]
    log_w = log_softmax(-5.0 * gaps)
    w = np.exp(log_w)
    brute = [w.max(axis=1), -(w * log_w).sum(axis=1), 1.0 / (w**2).sum(axis=1)]
    for fast, values in zip(fast_all, brute, strict=True):
        se = values.std(ddof=1) / np.sqrt(contexts)
        assert_z(fast.mean, values.mean(), np.hypot(fast.stderr, se))
    # The derivative through the padded rows (reverse mode through them is
    # test_grad_matches_central_difference[order-statistics]: n = 2000 < K) is
    # d/dbeta of the exact E[max weight] within |z| < 4: stored values of the
    # float64 central difference (h = 1e-3, error ~1e-10) of
    # theory.exact_mean_max_weight(3, n, 5 +- h), whose quadrature compiles slowly.
    exact = {2: 0.021148330691167505, 3: 0.03181815498243257, 10: 0.055667478826237904}[n]
    fwd = fast_all[0]  # max weight, order statistics, key k1, 2000 contexts
    assert_z(fwd.derivative, exact, fwd.derivative_stderr)
