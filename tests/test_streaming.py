import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_z, rtol

from lattn_jax import (
    EmpiricalKeys,
    TopKMass,
    UniformSphere,
    effective_size,
    entropy,
    find_critical_beta,
    max_weight,
    mc_estimate,
    mc_estimates,
    participation_ratio,
)
from lattn_jax._observables import TAIL_NODES, Atoms, stack
from lattn_jax._sampling._contexts import DEFAULT_HEAD, StreamingSampler, make_sampler, resolve_method

OBSERVABLES = [entropy, max_weight, participation_ratio, effective_size, TopKMass(3)]


def _chunked_gaps(sampler: StreamingSampler, key) -> jax.Array:
    """The context's gaps materialized: chunk j from fold_in(key, j), cut to n
    (the chunks by one vmap over j: one copy of the sampler in a jitted caller,
    not one per chunk)."""
    keys = jax.vmap(lambda j: jax.random.fold_in(key, j))(jnp.arange(sampler.num_chunks))
    chunks = jax.vmap(lambda k: sampler.law.sample_gaps(k, sampler.chunk, sampler.dtype))(keys)
    return chunks.reshape(-1)[: sampler.n]


def test_streaming_equals_dense_on_the_same_gaps(key):
    """Online accumulation over 8 chunks (the last one partial) = the dense
    kernel on the materialized gaps, values and beta-derivatives (forward and
    reverse mode), to round-off."""
    dtype = jnp.dtype(jnp.float32)
    sampler = StreamingSampler(UniformSphere(4), 1000, 128, dtype)
    kernels = OBSERVABLES

    @jax.jit  # the materialized gaps and the comparison in one compilation
    def compare(key, betas):
        gaps = _chunked_gaps(sampler, key)

        def dense(b):
            return jnp.stack([kernel.on_atoms(Atoms(gaps), b) for kernel in kernels])

        def streamed(b):
            return jnp.stack([sampler.evaluate(key, kernel, b) for kernel in kernels])

        def one(b):
            want = jax.jvp(dense, (b,), (jnp.ones_like(b),))
            got = jax.jvp(streamed, (b,), (jnp.ones_like(b),))
            return want, got, jax.grad(lambda b_: sampler.evaluate(key, kernels[0], b_))(b)

        return jax.vmap(one)(betas)

    betas = jnp.array([0.5, 5.0, 100.0, 3000.0], dtype)
    (want, dwant), (got, dgot), grad = compare(key, betas)
    # Values to rtol, with an absolute floor of one ulp of 1: every observable is
    # a function of the normaliser s0 >= 1 (entropy log s0 - s1 / s0 near 0 at
    # beta = 3000 keeps absolute, not relative, precision). Derivatives in log
    # beta (beta d/dbeta, O(1) sums) to rtol, absolute floor rtol: a logit beta g
    # carries round-off ~beta eps g, a few ulp of the tangent sums at beta = 3000.
    tol, ulp = rtol(dtype), float(jnp.finfo(dtype).eps)
    b = np.asarray(betas)[:, None]
    np.testing.assert_allclose(got, want, rtol=tol, atol=ulp)
    np.testing.assert_allclose(b * dgot, b * dwant, rtol=tol, atol=tol)
    np.testing.assert_allclose(b[:, 0] * grad, b[:, 0] * dwant[:, 0], rtol=tol, atol=tol)  # reverse mode, entropy


def test_streaming_estimate_agrees_with_dense(key):
    """Independent contexts, all built-in observables: agreement within Monte Carlo error."""
    law = UniformSphere(3)
    betas = jnp.array([30.0, 600.0, 8000.0])  # beta* ~ 0.4 n = 800
    k1, k2 = jax.random.split(key)
    # (entropy, TopKMass(2), TopKMass(5)): tests/test_multi_observables.py's
    # STREAMING_STACK, so the streaming program is compiled once between them.
    observables = (entropy, TopKMass(2), TopKMass(5))
    # All observables in one pass per method (mc_estimates: the same values as
    # separate calls, tests/test_multi_observables.py): one compilation each.
    dense_all = mc_estimates(observables, law, 2000, betas, k1, 256, method="dense")
    stream_all = mc_estimates(observables, law, 2000, betas, k2, 256, method="streaming", chunk=700)
    for dense, stream in zip(dense_all, stream_all, strict=True):
        assert stream.truncation_error is None
        for i in range(3):
            assert_z(stream.mean[i], dense.mean[i], np.hypot(stream.stderr[i], dense.stderr[i]))


def test_critical_search_streams(key):
    """The critical search on streamed contexts finds the same root as an exact
    search on other contexts within Monte Carlo error. The reference is order
    statistics at n = 2000 <= K (the sorted full sample, exact; tests/test_estimators.py
    checks it against dense): n is traced there, so its program is the one of
    every other order-statistics search on uniform keys in d = 3 with 256 contexts
    (tests/test_results.py, tests/test_critical.py), compiled once between them."""
    law = UniformSphere(3)
    k1, k2 = jax.random.split(key)
    stream = find_critical_beta(law, 2000, k1, num_contexts=256, method="streaming", chunk=700)
    exact = find_critical_beta(law, 2000, k2, num_contexts=256, method="order-statistics")
    assert 2000 <= DEFAULT_HEAD  # every key exact
    assert bool(stream.converged)
    assert_z(stream.beta, exact.beta, np.hypot(stream.stderr, exact.stderr))


def test_large_context_with_small_chunks(key):
    """Many chunks and a ragged last chunk (memory O(chunk)): max weight equals
    the exact value on the materialized gaps."""
    n, chunk = 100_001, 2**12
    sampler = StreamingSampler(UniformSphere(3), n, chunk, jnp.dtype(jnp.float32))

    @jax.jit  # one compilation
    def both(key, beta):
        gaps = _chunked_gaps(sampler, key)
        return max_weight.on_atoms(Atoms(gaps), beta), sampler.evaluate(key, max_weight, beta)

    want, got = both(key, jnp.asarray(0.4 * n, jnp.float32))
    np.testing.assert_allclose(got, want, rtol=rtol(jnp.float32))


@pytest.mark.slow
def test_order_statistics_agree_with_streaming_at_1e7(key):
    """n = 1e7, d = 3, at the order-statistics beta*: E[max weight] from order
    statistics and from streaming all 1e7 keys agree within Monte Carlo error
    plus the reported truncation error (which is zero at the critical scale).
    beta* is stored: find_critical_beta(law, n, split(key, 3)[0], num_contexts=512,
    method="order-statistics").beta (converged, stderr 1.1e5), as this test computed
    it before; the search is not what is tested here (tests/test_critical.py does),
    so it is not compiled and run again."""
    law = UniformSphere(3)
    n = 10**7
    _, k2, k3 = jax.random.split(key, 3)
    beta_star = 3901911.75
    # (the program of tests/test_estimators.py's scalar-beta max-weight calls: n is traced)
    fast = mc_estimate(max_weight, law, n, beta_star, k2, 512, method="order-statistics")
    exact = mc_estimate(max_weight, law, n, beta_star, k3, 8, method="streaming", chunk=2**20)
    assert float(fast.truncation_error) < 1e-6
    spread = np.hypot(fast.stderr, exact.stderr)
    assert abs(float(fast.mean - exact.mean)) < 4 * spread + float(fast.truncation_error)


def test_truncation_error_of_max_weight_has_closed_form(key, x64):
    """For the max weight 1/Z the Poisson second-order term is Var(T) / Z^3 with
    Var(T) = sum_j c_j e^{-2 beta (g_j - g_1)} over the tail atoms."""
    law = UniformSphere(8)
    sampler = make_sampler(law, 20_000, "order-statistics", head=256)
    rows = jax.jit(jax.vmap(sampler.sample))(jax.random.split(key, 8))
    kernel = max_weight

    @jax.jit
    @functools.partial(jax.vmap, in_axes=(0, None))
    def both(row, beta):
        atoms = sampler.atoms(row, beta)
        z = -beta * (atoms.gaps - atoms.gaps[0])
        total = jnp.sum(jnp.exp(z + atoms.log_counts))
        tail = slice(sampler.head, sampler.head + TAIL_NODES)
        var_t = jnp.sum(jnp.exp(2 * z[tail] + atoms.log_counts[tail]))
        return sampler.truncation_error(row, kernel, beta), var_t / total**3

    for beta in [10.0, 30.0, 100.0]:
        got, want = both(rows, jnp.asarray(beta))
        assert float(jnp.min(want)) > 1e-30  # not vacuous
        np.testing.assert_allclose(got, want, rtol=1e-9)


def _truncation_by_second_derivatives(sampler, row, kernel, beta):
    """The Poisson term 1/2 sum_j c_j d^2 f / dc_j^2 straight from the atom kernel:
    forward-over-forward derivatives along each tail atom's count (the
    definition, independent of the summary's closed-form Hessian)."""
    atoms = sampler.atoms(row, beta)
    head_counts, tail_counts = atoms.log_counts[: sampler.head], atoms.log_counts[sampler.head :]

    def along(direction):
        def f(t):  # counts c (1 + t e_j): d^2 f / dt^2 = c_j^2 f_jj
            counts = jnp.concatenate([head_counts, tail_counts + jnp.log1p(t * direction)])
            return kernel.on_atoms(Atoms(atoms.gaps, counts, sampler.head), beta)

        zero = jnp.zeros((), row.dtype)
        return jax.jvp(lambda s: jax.jvp(f, (s,), (jnp.ones_like(s),))[1], (zero,), (jnp.ones_like(zero),))[1]

    curvature = jax.vmap(along)(jnp.eye(TAIL_NODES, dtype=row.dtype))
    inverse_counts = jnp.exp(-tail_counts).reshape((-1,) + (1,) * (curvature.ndim - 1))
    return 0.5 * jnp.sum(inverse_counts * curvature, axis=0)


def test_truncation_error_equals_the_second_derivatives_of_every_kernel(key, x64):
    """The summary Hessian route equals the second derivatives of the atom kernels
    (all five observables, stacked, so each one's finisher is checked), from deep
    sub-critical (beta* ~ 1e4 here) to 0.3 beta*."""
    law = UniformSphere(4)
    sampler = make_sampler(law, 10**6, "order-statistics", head=64)
    rows = jax.jit(jax.vmap(sampler.sample))(jax.random.split(key, 3))
    kernel = stack(tuple(OBSERVABLES))
    summary_route = jax.jit(jax.vmap(lambda r, b: sampler.truncation_error(r, kernel, b), (0, None)))
    definition = jax.jit(jax.vmap(lambda r, b: _truncation_by_second_derivatives(sampler, r, kernel, b), (0, None)))
    for beta in [100.0, 300.0, 3000.0]:  # above ~1e4 the term underflows (< 1e-40)
        got, want = summary_route(rows, jnp.asarray(beta)), definition(rows, jnp.asarray(beta))
        assert float(jnp.min(jnp.abs(want))) > 1e-9  # not vacuous
        np.testing.assert_allclose(got, want, rtol=1e-9)


def test_auto_falls_back_to_exact_deep_in_the_subcritical_regime(key):
    """d = 8, n = 2e4, beta = 0.03 beta*: order statistics' truncation error on
    E[H] exceeds a tenth of the standard error, so auto redoes it densely; at
    beta* it keeps order statistics."""
    law = UniformSphere(8)
    n = 20_000
    deep = 0.03 * 3.3 * n ** (2 / 7)
    fast = mc_estimate(entropy, law, n, deep, key, 128, method="order-statistics")
    assert float(fast.truncation_error) > 0.1 * float(fast.stderr)
    auto = mc_estimate(entropy, law, n, deep, key, 128)
    dense = mc_estimate(entropy, law, n, deep, key, 128, method="dense")
    assert auto.truncation_error is None
    np.testing.assert_array_equal(auto.mean, dense.mean)
    at_critical = mc_estimate(entropy, law, n, 30 * deep, key, 128)
    assert at_critical.truncation_error is not None
    assert float(at_critical.truncation_error) < 0.1 * float(at_critical.stderr)


def test_auto_method_choice():
    # Order statistics at every d with a gap law (b2e15e0); without one, dense or streaming by size.
    assert resolve_method(UniformSphere(3), "auto", 10**12) == "order-statistics"
    assert resolve_method(UniformSphere(12), "auto", 10**5) == "order-statistics"
    no_gap_law = EmpiricalKeys(np.random.default_rng(0).normal(size=(10, 3)))
    assert resolve_method(no_gap_law, "auto", 10**5) == "dense"
    assert resolve_method(no_gap_law, "auto", 10**7) == "streaming"
    assert resolve_method(UniformSphere(3), "streaming", 10) == "streaming"


def test_streaming_bad_input(key):
    def user(q, keys, beta):
        return jnp.max(jax.nn.softmax(beta * keys @ q))

    with pytest.raises(ValueError, match="built-in observables only"):
        mc_estimate(user, UniformSphere(3), 100, 1.0, key, 4, method="streaming")
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 10\]"):
        mc_estimate(TopKMass(11), UniformSphere(3), 10, 1.0, key, 4, method="streaming")
    with pytest.raises(ValueError, match="chunk must be an integer >= 1"):
        mc_estimate(max_weight, UniformSphere(3), 100, 1.0, key, 4, method="streaming", chunk=0)
