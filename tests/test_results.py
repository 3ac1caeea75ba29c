"""Result classes and ``load_keys``: fields, shapes and dtypes, values against an
independent reference, and that every result is a pytree that survives ``jit``.

A result survives ``jit`` when ``jax.jit(lambda r: r)`` returns the same class
with equal fields (static fields kept out of the leaves), a jitted function can
read its fields, and, where the library builds it from arrays, building it
inside ``jit`` or ``vmap`` gives the same values.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_z, log_softmax, rtol, sphere

import lattn_jax as lj
from lattn_jax import theory as th


def _stderr(values):
    return float(np.std(values, ddof=1) / np.sqrt(values.shape[0]))


def _fields(result):
    return {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}


def _assert_survives_jit(result, static=()):
    """Flatten/unflatten and a jitted identity give the same class and fields; the
    names in ``static`` are not leaves and come back unchanged."""
    leaves, treedef = jax.tree.flatten(result)
    arrays = [name for name, v in _fields(result).items() if name not in static and v is not None]
    nested = sum(len(jax.tree.leaves(getattr(result, name))) for name in arrays)
    assert len(leaves) == nested, (len(leaves), arrays)
    for out in (jax.tree.unflatten(treedef, leaves), jax.jit(lambda r: r)(result)):
        assert type(out) is type(result)
        for name, value in _fields(result).items():
            got = getattr(out, name)
            if name in static:
                assert got == value and type(got) is type(value)
            elif value is None:
                assert got is None
            else:
                for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(value), strict=True):
                    if isinstance(b, float):  # a Python float leaf is traced as the default float32
                        np.testing.assert_allclose(np.asarray(a, np.float64), b, rtol=rtol(np.float32))
                    else:
                        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # a jitted function of the result reads its fields like the eager one
    total = jax.jit(lambda r: sum(jnp.sum(jnp.asarray(x, jnp.float32)) for x in jax.tree.leaves(r)))(result)
    eager = sum(np.sum(np.asarray(x, np.float32)) for x in leaves)
    np.testing.assert_allclose(float(total), float(eager), rtol=rtol(np.float32))


# ---------------------------------------------------------------- Estimate


def test_estimate_fields_values_and_jit(key):
    """mc_estimate's Estimate: fields over beta's shape, derivative fields only on request;
    truncation_error zero when every key is exact (n <= head);
    mean against a float64 NumPy brute force of E[H] (independent contexts, |z| < 4 on the
    combined stderr) and the derivative dE[H]/dbeta = -beta E[Var_w(g)] likewise."""
    d, n, m = 3, 20, 2048
    betas = jnp.asarray([1.0, 5.0, 30.0])
    est = lj.mc_estimate(lj.entropy, lj.UniformSphere(d), n, betas, key, m, derivative=True)
    assert isinstance(est, lj.Estimate)
    for name in ("mean", "stderr", "derivative", "derivative_stderr"):
        assert getattr(est, name).shape == (3,) and getattr(est, name).dtype == jnp.float32
    # auto picks order statistics for uniform keys; with n = 20 <= head every key is exact
    np.testing.assert_array_equal(np.asarray(est.truncation_error), np.zeros(3))
    assert bool((est.stderr > 0).all()) and bool((est.derivative_stderr > 0).all())
    rng = np.random.default_rng(11)
    gaps = 1.0 - sphere(rng, (20_000, n), d)[..., 0]
    for i, beta in enumerate(np.asarray(betas, np.float64)):
        log_w = log_softmax(-beta * gaps)
        w = np.exp(log_w)
        h = -(w * log_w).sum(axis=1)
        var_g = (w * gaps**2).sum(axis=1) - (w * gaps).sum(axis=1) ** 2
        dh = -beta * var_g  # H = beta <g>_w + log Z, so dH/dbeta = -beta Var_w(g)
        assert_z(est.mean[i], h.mean(), math.hypot(float(est.stderr[i]), _stderr(h)))
        assert_z(est.derivative[i], dh.mean(), math.hypot(float(est.derivative_stderr[i]), _stderr(dh)))
    _assert_survives_jit(est)
    plain = lj.Estimate(jnp.zeros(2), jnp.ones(2))
    assert plain.derivative is None and plain.truncation_error is None
    _assert_survives_jit(plain)


# ---------------------------------------------------------------- CriticalBeta


def test_critical_beta_fields_and_jit(key):
    """find_critical_beta's CriticalBeta: scalar float fields, int iterations, bool
    converged, n as given; critical_scan stacks the same record along ns. By hand,
    batched fields survive jit and vmap."""
    law = lj.UniformSphere(3)
    crit = lj.find_critical_beta(law, 30, key, num_contexts=256)
    assert isinstance(crit, lj.CriticalBeta)
    for name in ("beta", "stderr", "value", "slope", "n"):
        assert getattr(crit, name).shape == () and getattr(crit, name).dtype == jnp.float32, name
    assert jnp.issubdtype(crit.iterations.dtype, jnp.integer) and crit.converged.dtype == jnp.bool_
    assert int(crit.n) == 30 and bool(crit.converged) and 0 < int(crit.iterations) <= 60
    assert 0 < float(crit.stderr) < 0.1 * float(crit.beta) and float(crit.slope) > 0
    _assert_survives_jit(crit)
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), crit, crit)
    _assert_survives_jit(stacked)
    betas = jax.vmap(lambda r: r.beta * r.n)(stacked)
    np.testing.assert_allclose(np.asarray(betas), 30.0 * float(crit.beta), rtol=rtol(np.float32))


# ---------------------------------------------------------------- PowerLawFit


@pytest.mark.parametrize("weighted", [True, False])
def test_power_law_fit_against_numpy_polyfit(weighted):
    """fit_power_law against np.polyfit in log-log: weights 1 / (stderr / beta) and the
    unscaled covariance with stderrs, the residual-scaled covariance (chi2 / dof) without;
    prefactor_stderr = c sqrt(Var log c). The fields are JAX arrays of the default float
    (float32 here), so rtol(float32) for the rounding of a float64 least squares."""
    ns = np.array([100.0, 1000.0, 1e4, 1e5])
    betas = np.array([39.8, 400.7, 4003.6, 39844.0])
    stderrs = np.array([0.39, 4.03, 39.3, 393.0])
    x, y = np.log(ns), np.log(betas)
    if weighted:
        fit = lj.fit_power_law(ns, betas, stderrs)
        sigma = stderrs / betas
        params, cov = np.polyfit(x, y, 1, w=1.0 / sigma, cov="unscaled")
        chi2 = np.sum(((y - np.polyval(params, x)) / sigma) ** 2)
        np.testing.assert_allclose(float(fit.chi2), chi2, rtol=rtol(np.float32))
    else:
        fit = lj.fit_power_law(ns, betas)
        params, cov = np.polyfit(x, y, 1, cov=True)
        assert fit.chi2 is None
    assert isinstance(fit, lj.PowerLawFit) and fit.dof == 2 and isinstance(fit.dof, int)
    for name in ("exponent", "exponent_stderr", "prefactor", "prefactor_stderr"):
        assert getattr(fit, name).shape == () and getattr(fit, name).dtype == jnp.float32
    np.testing.assert_allclose(float(fit.exponent), params[0], rtol=rtol(np.float32))
    np.testing.assert_allclose(float(fit.exponent_stderr), math.sqrt(cov[0, 0]), rtol=rtol(np.float32))
    np.testing.assert_allclose(float(fit.prefactor), math.exp(params[1]), rtol=rtol(np.float32))
    c_stderr = math.exp(params[1]) * math.sqrt(cov[1, 1])
    np.testing.assert_allclose(float(fit.prefactor_stderr), c_stderr, rtol=rtol(np.float32))
    _assert_survives_jit(fit, static=("dof",))


# ---------------------------------------------------------------- LocalExponent


def test_local_exponent_fields_values_and_jit():
    """estimate_local_exponent on uniform keys on S^3 (alpha = 3 exactly in law, as the
    docstring says): alpha within 4 reported stderrs, both with and without curvature
    (k = 50 keeps the uncorrected estimator's bias, ~ k / N, small); radius is the
    (k+1)-th nearest distance by NumPy; the critical_exponent properties by the delta method."""
    rng = np.random.default_rng(12)
    keys = rng.standard_normal((20_000, 4))
    q = np.array([1.0, 0.0, 0.0, 0.0])
    dist = np.sort(np.linalg.norm(keys / np.linalg.norm(keys, axis=1, keepdims=True) - q, axis=1))
    for curvature in (True, False):
        est = lj.estimate_local_exponent(keys, q, k=50, curvature=curvature)
        assert isinstance(est, lj.LocalExponent)
        assert isinstance(est.alpha, float) and isinstance(est.stderr, float) and isinstance(est.k, int)
        assert est.k == 50 and est.curvature is curvature
        assert_z(est.alpha, 3.0, est.stderr)
        np.testing.assert_allclose(est.radius, dist[50], rtol=1e-12)
        assert est.critical_exponent == pytest.approx(2.0 / est.alpha, rel=1e-15)
        assert est.critical_exponent_stderr == pytest.approx(2.0 * est.stderr / est.alpha**2, rel=1e-15)
        _assert_survives_jit(est)
        got = jax.jit(lambda e: e.critical_exponent)(est)  # a property read inside jit
        np.testing.assert_allclose(float(got), 2.0 / est.alpha, rtol=rtol(np.float32))


# ---------------------------------------------------------------- ScheduleFit


def test_schedule_fit_fields_values_and_jit(key):
    """fit_schedule's ScheduleFit: loss_history has one value per step, loss a scalar,
    max_weight/max_weight_stderr/ns one per n; max_weight at the fitted beta(n) against a
    float64 NumPy brute force on independent contexts, |z| < 4 on the combined stderr."""
    d, ns, steps = 3, [20, 80], 4
    fit = lj.fit_schedule(lj.UniformSphere(d), ns, key, steps=steps, num_contexts=256)
    assert isinstance(fit, lj.ScheduleFit) and isinstance(fit.schedule, lj.PowerLaw)
    assert fit.loss_history.shape == (steps,) and fit.loss.shape == ()
    assert fit.max_weight.shape == fit.max_weight_stderr.shape == fit.ns.shape == (2,)
    np.testing.assert_array_equal(np.asarray(fit.ns), ns)
    rng = np.random.default_rng(13)
    for i, n in enumerate(ns):
        beta = float(fit.schedule(float(n)))
        gaps = 1.0 - sphere(rng, (8000, n), d)[..., 0]
        w1 = np.exp(log_softmax(-beta * gaps).max(axis=1))
        assert_z(fit.max_weight[i], w1.mean(), math.hypot(float(fit.max_weight_stderr[i]), _stderr(w1)))
    _assert_survives_jit(fit)
    betas = jax.jit(lambda f: f.schedule(f.ns))(fit)  # the schedule evaluated inside jit
    np.testing.assert_allclose(np.asarray(betas), [float(fit.schedule(float(n))) for n in ns], rtol=rtol(np.float32))


# ---------------------------------------------------------------- RegimeMap


def test_regime_map_record_fields_and_jit():
    """A RegimeMap over three n: every array field of shape (3,), regime an integer array,
    band static; labels follow the band (ratio < 1/band, between, > band) and survive jit."""
    ratio = jnp.asarray([0.2, 1.0, 7.0])
    ones = jnp.ones(3)
    record = lj.RegimeMap(
        ns=jnp.asarray([1e2, 1e3, 1e4]),
        beta=ratio * 10.0,
        beta_star=10.0 * ones,
        beta_star_stderr=0.1 * ones,
        ratio=ratio,
        max_weight=jnp.asarray([0.1, 0.5, 0.95]),
        max_weight_stderr=0.01 * ones,
        entropy=jnp.asarray([3.0, 1.2, 0.1]),
        entropy_stderr=0.02 * ones,
        regime=jnp.asarray([-1, 0, 1]),
        band=4.0,
    )
    for name, value in _fields(record).items():
        if name != "band":
            assert value.shape == (3,), name
    _assert_survives_jit(record, static=("band",))
    out = jax.jit(lambda r: r)(record)
    assert out.band == 4.0 and out.labels == ["sub-critical", "critical", "super-critical"]


# ---------------------------------------------------------------- OutputCovariance


def test_output_covariance_fields_values_and_jit(x64):
    """output_covariance's OutputCovariance: at beta = 0 the weights are 1/n, so both
    variances are Var(k_j) / n = 1 / (d n) and effective_keys = n exactly (rtol(float64)).
    At beta = 2 (d = 3, n = 1000) against float64 brute force of Var(<o, q>) and of one
    orthogonal component, |z| < 4 with the sample variance's stderr sqrt((m4 - s^4) / M)
    (2% here; the delta method's O(1/n) relative remainder, ~ rho / n ~ 0.3%, is far below);
    matrix() against parallel q q^T + perpendicular (I - q q^T) in NumPy; building it
    under jit and jit(vmap) gives the eager values."""
    d, n = 3, 100
    betas = jnp.asarray([0.0, 2.0, 9.0])
    batched = th.output_covariance(d, n, betas)  # eager, the reference for jit and vmap below
    assert isinstance(batched, th.OutputCovariance)
    for name in ("parallel", "perpendicular", "effective_keys"):
        assert getattr(batched, name).shape == (3,) and getattr(batched, name).dtype == jnp.float64
    # Built under jit and under jit(vmap), both in one compiled program.
    for built in jax.jit(
        lambda b: (th.output_covariance(d, n, b), jax.vmap(lambda x: th.output_covariance(d, n, x))(b))
    )(betas):
        assert type(built) is th.OutputCovariance
        for name in ("parallel", "perpendicular", "effective_keys"):
            np.testing.assert_allclose(
                np.asarray(getattr(built, name)), np.asarray(getattr(batched, name)), rtol=rtol(np.float64)
            )
    _assert_survives_jit(batched)
    cov0 = jax.tree.map(lambda x: x[0], batched)

    for value in (cov0.parallel, cov0.perpendicular):
        np.testing.assert_allclose(float(value), 1.0 / (d * n), rtol=rtol(np.float64))
    np.testing.assert_allclose(float(cov0.effective_keys), n, rtol=rtol(np.float64))

    beta, n = 2.0, 1000
    cov = jax.tree.map(lambda x: x[1], th.output_covariance(d, n, betas))
    rng = np.random.default_rng(14)
    keys = sphere(rng, (5000, n), d)
    w = np.exp(log_softmax(beta * keys[..., 0]))
    out = (w[..., None] * keys).sum(axis=1)
    for value, comp in [(cov.parallel, out[:, 0]), (cov.perpendicular, out[:, 1])]:
        dev = comp - comp.mean()
        var = np.mean(dev**2)
        se = math.sqrt((np.mean(dev**4) - var**2) / comp.shape[0])
        assert_z(value, var, se)

    q = np.array([0.0, 0.6, 0.8])
    ref = float(cov.parallel) * np.outer(q, q) + float(cov.perpendicular) * (np.eye(3) - np.outer(q, q))
    np.testing.assert_allclose(np.asarray(cov.matrix(jnp.asarray(q))), ref, rtol=rtol(np.float64))


# ---------------------------------------------------------------- load_keys


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_load_keys_values_and_dtypes(tmp_path, dtype):
    """Any float .npy (N, d) array comes back as float64 with the same values
    (every float16/float32 value is exact in float64), C or Fortran order alike."""
    arr = np.random.default_rng(15).standard_normal((7, 5)).astype(dtype)
    for order in ("C", "F"):
        path = tmp_path / f"keys-{order}.npy"
        np.save(path, np.asarray(arr, order=order))
        for p in (path, str(path)):
            got = lj.load_keys(p)
            assert got.dtype == np.float64 and got.shape == (7, 5)
            np.testing.assert_array_equal(got, arr.astype(np.float64))


def _save(path, arr, **kwargs):
    np.save(path, arr, **kwargs)
    return path


def test_load_keys_bad_files(tmp_path):
    """Every bad file is refused with the file's name and the problem in the message."""
    good = np.ones((4, 3))
    bad_row = good.copy()
    bad_row[2, 1] = np.nan
    zero_row = good.copy()
    zero_row[1] = 0.0
    text = tmp_path / "text.npy"
    text.write_text("not an array\n")
    truncated = tmp_path / "truncated.npy"
    truncated.write_bytes(_save(tmp_path / "full.npy", np.ones((100, 3))).read_bytes()[:200])
    archive = tmp_path / "archive.npy"
    with open(archive, "wb") as fh:
        np.savez(fh, a=good, b=good)
    cases = [
        (tmp_path / "missing.npy", ValueError, "does not exist"),
        (tmp_path, ValueError, "does not exist"),  # a directory is not a keys file
        (text, ValueError, "npy"),
        (truncated, ValueError, "npy"),
        (archive, ValueError, "archive"),
        (_save(tmp_path / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True), ValueError, "npy"),
        (_save(tmp_path / "ints.npy", np.ones((4, 3), dtype=np.int64)), TypeError, "dtype int64"),
        (_save(tmp_path / "complex.npy", good.astype(np.complex128)), TypeError, "dtype complex128"),
        (_save(tmp_path / "bools.npy", good.astype(bool)), TypeError, "dtype bool"),
        (_save(tmp_path / "flat.npy", np.ones(6)), ValueError, "2-D"),
        (_save(tmp_path / "cube.npy", np.ones((2, 2, 2))), ValueError, "2-D"),
        (_save(tmp_path / "one.npy", np.ones((1, 3))), ValueError, "N >= 2"),
        (_save(tmp_path / "thin.npy", np.ones((5, 1))), ValueError, "d >= 2"),
        (_save(tmp_path / "nan.npy", bad_row), ValueError, "NaN or inf in 1 rows (first: row 2)"),
        (_save(tmp_path / "zero.npy", zero_row), ValueError, "1 zero vectors (first: row 1)"),
    ]
    for path, error, message in cases:
        with pytest.raises(error) as info:
            lj.load_keys(path)
        assert message in str(info.value), (path, str(info.value))
        if error is ValueError or "dtype" in message:
            assert str(path) in str(info.value), (path, str(info.value))
    with pytest.raises(TypeError, match="path must be a str or pathlib.Path"):
        lj.load_keys(3)
