import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import rtol, sphere

import lattn_jax as lj
from lattn_jax import (
    TopKMass,
    UniformSphere,
    effective_size,
    entropy,
    max_weight,
    participation_ratio,
    top_k_mass,
)

OBSERVABLES = [entropy, max_weight, TopKMass(3), effective_size, participation_ratio]
NAMES = {
    entropy: "entropy",
    max_weight: "max_weight",
    TopKMass(3): "top_k_mass",
    effective_size: "effective_size",
    participation_ratio: "participation_ratio",
}


def _reference(name, q, keys, beta):
    keys = np.asarray(keys, np.float64)
    keys = keys / np.linalg.norm(keys, axis=1, keepdims=True)  # exact unit keys
    s = keys @ np.asarray(q, np.float64)
    logits = beta * s
    logw = logits - logits.max()
    logw -= np.log(np.exp(logw).sum())
    w = np.exp(logw)
    return {
        "entropy": -(w * logw).sum(),
        "max_weight": w.max(),
        "top_k_mass": np.sort(w)[-3:].sum(),
        "effective_size": np.exp(-(w * logw).sum()),
        "participation_ratio": 1.0 / (w**2).sum(),
    }[name]


def _name(f):
    return NAMES[f]


def _keys(seed: int, n: int, d: int, dtype=jnp.float32) -> jax.Array:
    """Uniform unit keys from NumPy: the observables are under test, not the
    law's sampler (tests/test_laws.py), whose eager op-by-op compilations for
    every shape and dtype cost more than these tests."""
    return jnp.asarray(sphere(np.random.default_rng(seed), (n,), d), dtype)


@pytest.mark.parametrize("observable", OBSERVABLES, ids=_name)
@pytest.mark.parametrize("transform", [lambda f: f, jax.jit], ids=["eager", "jit"])
@pytest.mark.parametrize("beta", [0.0, 3.0, 100.0, 3000.0])
def test_against_float64_brute_force(key, observable, transform, beta):
    law = UniformSphere(4)
    keys = _keys(0, 2000, 4)
    got = transform(observable)(law.query(), keys, beta)
    assert got.shape == ()
    expected = _reference(_name(observable), law.query(), keys, beta)
    assert float(got) == pytest.approx(expected, rel=2e-4, abs=1e-6)


@pytest.mark.parametrize("observable", OBSERVABLES, ids=_name)
def test_beta_derivatives_match_finite_differences(observable, x64):
    q = UniformSphere(3).query(jnp.float64)
    keys = _keys(1, 300, 3, jnp.float64)
    beta, h, h2, h3 = 40.0, 1e-4, 1e-2, 1e-3

    @jax.jit  # every derivative and difference in one compilation per observable
    def derivatives(keys, beta):
        def f(b):
            return observable(q, keys, b)

        hessian = jax.hessian(f)
        return dict(
            central=(f(beta + h) - f(beta - h)) / (2 * h),
            grad=jax.grad(f)(beta),
            second=(f(beta + h2) - 2 * f(beta) + f(beta - h2)) / h2**2,
            hessian=hessian(beta),
            tangent=jax.jvp(f, (beta,), (jnp.ones_like(beta),))[1],
            third=jax.grad(jax.grad(jax.grad(f)))(beta),
            third_fd=(hessian(beta + h3) - hessian(beta - h3)) / (2 * h3),
        )

    r = {name: float(value) for name, value in derivatives(keys, jnp.float64(beta)).items()}
    assert r["grad"] == pytest.approx(r["central"], rel=1e-6, abs=1e-10)
    assert r["hessian"] == pytest.approx(r["second"], rel=1e-5, abs=1e-10)
    assert r["tangent"] == pytest.approx(r["central"], rel=1e-6, abs=1e-10)
    # Third derivative against a central difference of the (checked) Hessian:
    # truncation h^2 f^(5) / 6 ~ 5e-9 relative at h = 1e-3 (1e-2 gives 100x that),
    # round-off eps64 |f''| / h ~ 1e-13; 1e-7 bounds both.
    assert r["third"] == pytest.approx(r["third_fd"], rel=1e-7)


_entropy_grad = jax.jit(jax.grad(entropy, argnums=2))  # one compilation for the three betas


@pytest.mark.parametrize("beta", [0.5, 20.0, 500.0])
def test_entropy_derivative_identity(beta, x64):
    """dH/dbeta = -beta Var_w(<q, k>) on one context of exact unit keys, in
    float64 to rtol(float64): the reference takes the variance about the
    weighted mean (no cancellation), and both sides see the same keys (measured
    agreement 3e-14 at beta = 500)."""
    law = UniformSphere(5)
    unit = sphere(np.random.default_rng(2), (1000,), 5)  # exact unit keys, float64
    q = law.query(jnp.float64)
    dh = _entropy_grad(q, jnp.asarray(unit), jnp.float64(beta))
    s = unit @ np.asarray(q)
    w = np.exp(beta * (s - s.max()))
    w /= w.sum()
    var = np.sum(w * (s - np.sum(w * s)) ** 2)
    assert float(dh) == pytest.approx(-beta * var, rel=rtol(jnp.float64))


def test_float32_at_critical_scale_d3_n1e6(key, x64):
    """d = 3, n = 1e6, beta ~ beta* ~ 0.4 n: float32 agrees with float64."""
    law = UniformSphere(3)
    keys64 = _keys(3, 1_000_000, 3, jnp.float64)
    keys32 = keys64.astype(jnp.float32)
    q64, q32 = law.query(jnp.float64), law.query(jnp.float32)
    observables = [entropy, max_weight, participation_ratio]

    @jax.jit  # both precisions, values and gradients, in one compilation for the three betas
    def both(keys32, keys64, beta):
        beta32 = beta.astype(jnp.float32)
        lo = [observable(q32, keys32, beta32) for observable in observables]
        hi = [observable(q64, keys64, beta) for observable in observables]
        d32 = jax.grad(lambda b: max_weight(q32, keys32, b))(beta32)
        d64 = jax.grad(lambda b: max_weight(q64, keys64, b))(beta)
        return lo, hi, d32, d64

    for beta in [1e5, 4e5, 2e6]:
        lo, hi, d32, d64 = both(keys32, keys64, jnp.float64(beta))
        for lo_, hi_ in zip(lo, hi, strict=True):
            assert lo_.dtype == jnp.float32
            assert float(lo_) == pytest.approx(float(hi_), rel=1e-4, abs=1e-5)
        assert d32.dtype == jnp.float32
        assert float(d32) == pytest.approx(float(d64), rel=1e-3, abs=1e-12)


def test_float32_at_beta_1e9():
    """Keys within 6e-5 rad of q and beta = 1e9 (logits spread over ~1): float32
    matches the exact float64 answer from gaps 1 - cos(angle)."""
    angles = np.random.default_rng(0).uniform(0, 6e-5, size=200)
    keys = jnp.asarray(np.stack([np.cos(angles), np.sin(angles)], axis=1), jnp.float32)
    q = jnp.array([1.0, 0.0], jnp.float32)
    g = 1 - np.cos(angles)
    logw = -1e9 * (g - g.min())
    logw -= np.log(np.exp(logw).sum())
    expected = {entropy: -(np.exp(logw) * logw).sum(), max_weight: np.exp(logw).max()}
    for observable, value in expected.items():
        assert float(observable(q, keys, jnp.float32(1e9))) == pytest.approx(value, rel=1e-3, abs=1e-4)


def test_top_k_bounds():
    keys = _keys(4, 10, 3)
    q = jnp.array([1.0, 0.0, 0.0])
    assert float(TopKMass(10)(q, keys, 2.0)) == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError, match="k must be an integer in"):
        TopKMass(11)(q, keys, 2.0)
    assert top_k_mass == TopKMass(2)


@pytest.mark.parametrize("observable", OBSERVABLES, ids=_name)
@pytest.mark.parametrize("beta", [-1.0, float("nan"), float("inf")])
def test_bad_beta(observable, beta):
    keys = _keys(4, 10, 3)
    with pytest.raises(ValueError, match="beta must be finite and >= 0"):
        observable(jnp.array([1.0, 0.0, 0.0]), keys, beta)


# --- observables as types ------------------------------------------------------------------------------------


def test_observables_hash_by_value():
    """Modules with static fields: equal configurations are equal and hash alike,
    so jit caches keyed on them hit without identity tricks."""
    assert TopKMass(3) == TopKMass(3) and hash(TopKMass(3)) == hash(TopKMass(3))
    assert TopKMass(3) != TopKMass(4)
    assert lj._observables.Entropy() == entropy


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "3"])
def test_top_k_mass_needs_a_positive_integer(k):
    with pytest.raises((TypeError, ValueError), match="k must be an integer"):
        TopKMass(k)


def test_partial_of_a_builtin_points_to_top_k_mass(key):
    import functools

    with pytest.raises(TypeError, match=r"TopKMass\(k\)"):
        lj.mc_estimate(functools.partial(top_k_mass, k=3), UniformSphere(3), 100, 1.0, key, 8)


class _NearestShare(lj.AbstractObservable):
    """w_(1) / (w_(1) + w_(2)): only the two nearest keys matter."""

    def on_atoms(self, atoms, beta):
        g1, g2 = atoms.smallest(2)
        return jax.nn.sigmoid(beta * (g2 - g1))


class _SecondMoment(lj.AbstractSummaryObservable):
    """sum_i w_i^2 from the summary (1 / participation ratio)."""

    def from_summary(self, s):
        return s.s2 / (s.s0 * s.s0)


def test_custom_observables_by_subclassing(key):
    """A subclass of the base is an observable: callable on keys, run on gaps by
    every method it allows, agreeing with a brute-force reference."""
    law = UniformSphere(4)
    keys = _keys(5, 500, 4)
    q = law.query()
    w = np.asarray(jax.nn.softmax(30.0 * keys @ q), np.float64)
    top2 = np.sort(w)[-2:]
    assert float(_NearestShare()(q, keys, 30.0)) == pytest.approx(top2[1] / top2.sum(), rel=1e-4)
    assert float(_SecondMoment()(q, keys, 30.0)) == pytest.approx(np.sum(w**2), rel=1e-4)
    for method in ["dense", "order-statistics", "streaming"]:
        est = lj.mc_estimate(_SecondMoment(), law, 500, 30.0, key, 16, method=method)
        assert 0 < float(est.mean) <= 1
    with pytest.raises(TypeError, match="streaming"):
        lj.mc_estimate(_NearestShare(), law, 500, 30.0, key, 16, method="streaming")


def test_generic_truncation_equals_the_closed_form(key, x64):
    """The base class's count curvature (forward-over-forward derivatives in the
    far atoms' counts) equals a summary observable's closed form (Hessian in the sums)."""
    from lattn_jax._sampling._contexts import make_sampler

    sampler = make_sampler(UniformSphere(4), 10**6, "order-statistics", head=64)
    observables = [entropy, max_weight, participation_ratio, _SecondMoment()]

    @jax.jit  # as the estimators run it: one compilation for both betas, not hundreds of eager ops
    def both(row, beta):
        atoms = sampler.atoms(row, beta)
        return [
            (
                o.count_curvature(atoms, beta, sampler.head),
                lj.AbstractObservable.count_curvature(o, atoms, beta, sampler.head),
            )
            for o in observables
        ]

    # The rows as tests/test_streaming.py's truncation test draws them (the same
    # compiled program, from the persistent cache when that test ran first).
    row = jax.jit(jax.vmap(sampler.sample))(jax.random.split(key, 3))[0]
    for beta in [100.0, 3000.0]:
        for closed, generic in both(row, jnp.asarray(beta)):
            assert abs(float(generic)) > 1e-12
            np.testing.assert_allclose(closed, generic, rtol=1e-8)
