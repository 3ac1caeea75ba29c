import chex
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_z
from scipy import stats

from lattn_jax import (
    UniformSphere,
    critical_scan,
    entropy,
    find_critical_beta,
    max_weight,
    mc_estimate,
)
from lattn_jax.theory import exact_critical_beta

# The searches here share their compiled programs with other tests (the order-statistics
# search compiles once per law, context count and dtype, for every n): at 4096 contexts with
# tests/test_cli.py's `lattn critical --quiet` runs, at 2048 (SHARED) with the
# critical-convergence check. A search with a step listener (on_step) is a program of its own,
# and one the persistent cache does not keep (it holds a host callback).
SHARED = 2048


@pytest.mark.parametrize(("d", "n"), [(3, 1000), (6, 100_000)])  # d = 4, n = 1e5: the next test
def test_root_and_fresh_context_check(key, d, n):
    """beta* solves the sample equation, and E[max weight] at beta* on fresh
    contexts is the level within the combined error (check + search)."""
    law = UniformSphere(d)
    k_search, k_check = jax.random.split(key)
    crit = find_critical_beta(law, n, k_search, num_contexts=4096)
    assert bool(crit.converged)
    assert float(crit.value) == pytest.approx(0.5, abs=1e-5)
    # Same key and count: mc_estimate sees the very contexts the search solved on.
    same = mc_estimate(max_weight, law, n, crit.beta, k_search, 4096)
    assert float(same.mean) == pytest.approx(0.5, abs=1e-4)
    fresh = mc_estimate(max_weight, law, n, crit.beta, k_check, 4096)
    search_se = float(crit.slope) * float(crit.stderr / crit.beta)
    assert_z(fresh.mean, 0.5, np.hypot(float(fresh.stderr), search_se))
    assert float(crit.stderr / crit.beta) < 0.015


def test_stderr_is_honest_across_seeds(key):
    """The spread of beta* over S = 400 seeds matches the reported (delta-method)
    stderr: (S - 1) s^2 / mean(stderr^2) is chi^2(S - 1) when the stderr is
    right (beta* over 128 contexts is close to normal at n = 1e4: sample skew
    and excess kurtosis below 0.2 in trials; the mean of 400 squared stderrs is
    exact to ~1%). The two-sided 1e-4 quantiles bound the variance ratio to
    [0.748, 1.299]; a 25% miscalibration of the stderr (variance ratio 1.25^2 or
    0.8^2) fails with probability 0.994 (0.989). One compilation (vmapped seeds);
    head = 64 keeps order statistics cheap and exact at the critical scale."""
    seeds, law = 400, UniformSphere(4)
    search = jax.jit(jax.vmap(lambda k: find_critical_beta(law, 10_000, k, num_contexts=128, head=64)))
    results = search(jax.random.split(key, seeds))
    assert bool(jnp.all(results.converged))
    spread = np.var(np.asarray(results.beta, np.float64), ddof=1)
    reported = np.mean(np.asarray(results.stderr, np.float64) ** 2)
    lo, hi = stats.chi2.ppf([0.5e-4, 1 - 0.5e-4], seeds - 1) / (seeds - 1)
    assert lo < spread / reported < hi, (spread / reported, lo, hi)


def test_dense_and_order_statistics_agree(key):
    law = UniformSphere(3)  # the order-statistics search is then the SHARED program
    k1, k2 = jax.random.split(key)
    dense = find_critical_beta(law, 5000, k1, num_contexts=SHARED, method="dense")
    fast = find_critical_beta(law, 5000, k2, num_contexts=SHARED, method="order-statistics")
    assert_z(fast.beta, dense.beta, np.hypot(float(fast.stderr), float(dense.stderr)))


@pytest.mark.slow
def test_d4_n1e5_against_exact_theory_and_dense_brute_force(key, x64):
    """Issue acceptance: for d = 4, n = 1e5, beta* from the default search agrees
    with two independent routes: the exact finite-n beta* (quadrature of the
    binomial formula, no sampling) and a float64 brute force over all n keys
    (E[max weight] at beta* from dense contexts is the level).
    benchmarks/accuracy_d4.py does the brute force with 8192 contexts."""
    law = UniformSphere(4)
    k1, k2 = jax.random.split(key)
    crit = find_critical_beta(law, 100_000, k1, num_contexts=8192)
    assert_z(crit.beta, exact_critical_beta(law, 100_000), crit.stderr)
    brute = mc_estimate(max_weight, law, 100_000, crit.beta, k2, 256, method="dense", derivative=True)
    search_se = float(crit.slope) * float(crit.stderr / crit.beta)
    assert_z(brute.mean, 0.5, np.hypot(float(brute.stderr), search_se))
    # the implied relative error of beta*: (E_dense[W](beta*) - level) / (dE/dlog beta)
    implied = (float(brute.mean) - 0.5) / (float(brute.derivative) * float(crit.beta))
    implied_se = float(brute.stderr) / (float(brute.derivative) * float(crit.beta))
    assert abs(implied) < 0.03 + 2 * implied_se


def test_entropy_curvature_criterion(key):
    """The root is where d^2 E[H] / d(log beta)^2 peaks (checked on the same contexts).

    The curvature at log beta* and 0.3 either side: a central difference (step
    h = 0.01) of the pathwise slope beta dE[H]/dbeta, all six points in one
    mc_estimate (one program, half the compile time of jit(vmap(grad(grad)))).
    Its error, O(h^2), was 6e-5 against the exact second derivative; the
    curvature falls by 0.09 and 0.13 from the peak to the two sides."""
    law = UniformSphere(6)
    crit = find_critical_beta(law, 10_000, key, num_contexts=512, criterion="entropy_curvature")
    assert bool(crit.converged)

    h = 0.01
    t = float(jnp.log(crit.beta)) + np.array([[-0.3 - h, -0.3 + h], [-h, h], [0.3 - h, 0.3 + h]])
    beta = jnp.exp(jnp.asarray(t, crit.beta.dtype))
    est = mc_estimate(entropy, law, 10_000, beta, key, 512, method="order-statistics", derivative=True)
    slope = np.asarray(est.derivative * beta, np.float64)  # dE[H]/dlog beta
    left, at, right = (slope[:, 1] - slope[:, 0]) / (2 * h)
    assert at > left and at > right


def test_jit_and_vmap_over_keys(key):
    """Under jax.jit and jax.vmap together (one compilation; vmap alone is the
    same batched trace), the searches match the eager ones key by key."""
    law = UniformSphere(3)
    keys = jax.random.split(key, 3)
    direct = np.array([float(find_critical_beta(law, 1000, k, num_contexts=SHARED).beta) for k in keys])
    both = jax.jit(jax.vmap(lambda k: find_critical_beta(law, 1000, k, num_contexts=SHARED).beta))(keys)
    np.testing.assert_allclose(both, direct, rtol=1e-4)


def test_float64(key, x64):
    crit = find_critical_beta(UniformSphere(3), 1000, key, num_contexts=512)
    assert crit.beta.dtype == jnp.float64 and bool(crit.converged)
    assert float(crit.value) == pytest.approx(0.5, abs=1e-9)


def test_scan(key):
    law = UniformSphere(3)
    seen, steps = [], []
    scan = critical_scan(
        law,
        [100, 1000],
        key,
        num_contexts=SHARED,
        callback=lambda n, r: seen.append(n),
        on_step=lambda *step: steps.append(step),
    )
    assert scan.beta.shape == (2,) and seen == [100, 1000]
    one = find_critical_beta(law, 1000, jax.random.fold_in(key, 1), num_contexts=SHARED)  # no listener
    assert float(scan.beta[1]) == pytest.approx(float(one.beta), rel=1e-6)
    np.testing.assert_array_equal(scan.n, [100, 1000])
    # Every search step reached the listener: iterations 1..k per point, the last at beta*.
    iterations = [it for it, _, _ in steps]
    k0, k1 = int(scan.iterations[0]), int(scan.iterations[1])
    assert iterations == [*range(1, k0 + 1), *range(1, k1 + 1)]
    assert steps[-1][1] == pytest.approx(float(one.beta), rel=1e-6)
    assert abs(steps[-1][2]) < 1e-4  # the criterion (mean max weight - level) at the root


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(n=1), ValueError, "n must be an integer >= 2"),
        (dict(level=0.0), ValueError, "level must be in the open interval"),
        (dict(level=1.0), ValueError, "level must be in the open interval"),
        (dict(level="half"), TypeError, "level must be a float"),
        (dict(n=10, level=0.05), ValueError, "level must exceed 1/n"),
        (dict(num_contexts=1), ValueError, "num_contexts must be an integer >= 2"),
        (dict(criterion="peak"), ValueError, "criterion must be one of"),
        (dict(method="magic"), ValueError, "method must be one of"),
        (dict(law="sphere"), TypeError, "law must be a context law"),  # an int d is UniformSphere(d)
        (dict(law=1), ValueError, "law must be an integer >= 2"),
        (dict(on_step="print"), TypeError, "on_step must be a function"),
        (dict(key=jax.random.split(jax.random.key(0), 2)), ValueError, "key must be a single PRNG key"),
    ],
)
def test_bad_input(key, kwargs, error, match):
    args = dict(law=UniformSphere(3), n=100, key=key)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        find_critical_beta(**args)


def test_scan_needs_points(key):
    with pytest.raises(ValueError, match="ns must hold at least one"):
        critical_scan(UniformSphere(3), [], key)


def test_new_level_needs_no_new_compilation(key, monkeypatch):
    """The level is traced: searches at several levels share one compilation."""
    import lattn_jax._critical as critical

    traced = chex.assert_max_traces(critical._search.__wrapped__, n=1)
    monkeypatch.setattr(critical, "_search", eqx.filter_jit(traced))  # a fresh jit: traces counted from 0
    law = UniformSphere(3)  # the program itself comes from the persistent cache (SHARED)
    betas = [float(find_critical_beta(law, 500, key, level=lv, num_contexts=SHARED).beta) for lv in (0.3, 0.5, 0.8)]
    assert betas[0] < betas[1] < betas[2]
