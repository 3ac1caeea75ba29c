"""EmpiricalKeys, load_keys and estimate_local_exponent on keys with known alpha."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_z, rtol

import lattn_jax as lj
from lattn_jax._laws._empirical import _truncated_beta_moments

N = 200_000


def _subsphere_keys(seed: int, d: int, m: int) -> np.ndarray:
    """Keys uniform on the great (m-1)-sphere spanned by the first m axes of R^d
    (the query e_1 lies on it): alpha = m - 1. m = d is the whole sphere."""
    keys = np.zeros((N, d))
    keys[:, :m] = np.random.default_rng(seed).normal(size=(N, m))
    return keys


def _e1(d):
    return np.eye(d)[0]


@pytest.mark.parametrize(("d", "m"), [(3, 3), (6, 6), (10, 10), (10, 4), (16, 6)])
def test_local_exponent_recovers_alpha(d, m):
    """alpha within |z| < 4 of its reported stderr (which test_stderr_is_calibrated
    checks against the spread over samples; the former 5-10% bounds were guesses)."""
    alpha = m - 1
    est = lj.estimate_local_exponent(_subsphere_keys(d * 100 + m, d, m), _e1(d))
    assert_z(est.alpha, alpha, est.stderr)
    assert est.critical_exponent == pytest.approx(2 / est.alpha)
    assert est.critical_exponent_stderr == pytest.approx(2 * est.stderr / est.alpha**2)


def test_without_curvature_it_is_the_biased_plain_estimator():
    # The measurement: plain nearest-neighbour MLE gives ~7.9 for alpha = 9 at k = 5000.
    keys = _subsphere_keys(7, 10, 10)
    flat = lj.estimate_local_exponent(keys, _e1(10), k=5000, curvature=False)
    curved = lj.estimate_local_exponent(keys, _e1(10), k=5000)
    assert flat.alpha < 9 - 4 * flat.stderr
    assert abs(curved.alpha - 9) < 4 * curved.stderr


def test_stderr_is_calibrated():
    """Over S = 400 independent samples (alpha = 4 known) the z-scores
    (alpha_hat - 4) / stderr are standard normal: sum z^2 is chi^2(S) and the
    mean z is N(0, 1/S). Both bounds are two-sided at 1e-4 (sum z^2 / S in
    [0.749, 1.298], |mean z| < 3.89 / sqrt(S)); a 25% miscalibration of the
    stderr (z spread 0.8 or 1.25) fails with probability 0.99. About 1 s."""
    from scipy import stats

    seeds = 400
    z = []
    for seed in range(seeds):
        keys = np.random.default_rng(1000 + seed).normal(size=(2000, 5))
        est = lj.estimate_local_exponent(keys, _e1(5), k=200)
        z.append((est.alpha - 4) / est.stderr)
    z = np.asarray(z)
    lo, hi = stats.chi2.ppf([0.5e-4, 1 - 0.5e-4], seeds) / seeds
    assert lo < np.mean(z**2) < hi, (np.mean(z**2), lo, hi)
    assert abs(z.mean()) < stats.norm.isf(0.5e-4) / np.sqrt(seeds), z.mean()


@pytest.mark.parametrize(
    ("a", "x", "tol"),
    # x is the (k+1)-th smallest half-gap: below 1/2 unless k reaches past 90 degrees,
    # where the quadrature is still good to ~1e-7 (far below any statistical error).
    [(0.5, 0.01, 1e-10), (1.5, 0.5, 1e-10), (2.5, 0.3, 1e-10), (4.5, 0.45, 1e-10), (1.0, 0.9, 1e-6)],
)
def test_truncated_moments_against_adaptive_quadrature(a, x, tol):
    from scipy import integrate

    def density(u):
        return u ** (a - 1) * (1 - u) ** (a - 1)

    def t(u):
        return np.log(u) + np.log1p(-u)

    def integral(f):
        return integrate.quad(f, 0, x, limit=200, epsabs=0, epsrel=1e-13)[0]

    z = integral(density)
    mean = integral(lambda u: t(u) * density(u)) / z
    var = integral(lambda u: (t(u) - mean) ** 2 * density(u)) / z
    got_mean, got_var = _truncated_beta_moments(a, x)
    assert abs(got_mean - mean) < tol
    assert abs(got_var - var) < tol * var * 10


def test_empirical_law_resamples_and_scores(key):
    keys = np.random.default_rng(0).normal(size=(500, 4)) * 3.0
    q = np.array([0.0, 2.0, 0.0, 0.0])
    law = lj.EmpiricalKeys(keys, query=q)
    unit = keys / np.linalg.norm(keys, axis=1, keepdims=True)
    unit_gaps = 0.5 * np.sum((unit - np.array([0.0, 1.0, 0.0, 0.0])) ** 2, axis=1)
    np.testing.assert_allclose(law.query(), [0, 1, 0, 0])
    sample = np.asarray(law.sample(key, 64))
    # every sampled key is one of the stored unit keys
    dist = np.min(np.linalg.norm(sample[:, None, :] - unit[None], axis=-1), axis=1)
    assert np.all(dist < 1e-6)
    gaps = law.sample_gaps(key, 64)  # the same draw, as gaps
    np.testing.assert_allclose(gaps, 0.5 * np.sum((sample - law.query()) ** 2, axis=1), atol=1e-6)
    # mc_estimate through the law against a float64 brute force on the same resampled contexts
    n, beta, contexts = 200, 40.0, 64
    est = lj.mc_estimate(lj.max_weight, law, n, beta, key, contexts)
    brute = []
    for k in jax.random.split(key, contexts):
        idx = np.asarray(jax.random.choice(k, 500, (n,), replace=False))
        assert len(set(idx.tolist())) == n  # distinct keys
        g = np.sort(unit_gaps[idx])
        brute.append(1.0 / np.sum(np.exp(-beta * (g - g[0]))))
    assert float(est.mean) == pytest.approx(np.mean(brute), rel=rtol(jnp.float32))


@pytest.mark.parametrize(
    ("array", "error", "message"),
    [
        (np.ones(5), ValueError, "must be a 2-D array"),
        (np.ones((2, 3, 4)), ValueError, "must be a 2-D array"),
        (np.arange(12).reshape(4, 3), TypeError, "must be a float array, got dtype int64"),
        (np.array([[1.0, 0.0], [np.nan, 1.0], [0.0, 1.0]]), ValueError, r"NaN or inf in 1 rows \(first: row 1\)"),
        (np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]), ValueError, r"1 zero vectors \(first: row 1\)"),
        (np.ones((1, 3)), ValueError, "N >= 2 keys of dimension d >= 2"),
    ],
)
def test_malformed_npy_files(tmp_path, array, error, message):
    path = tmp_path / "keys.npy"
    np.save(path, array)
    with pytest.raises(error, match=message):
        lj.load_keys(path)
    with pytest.raises(error, match=message):
        lj.EmpiricalKeys(array, query=np.ones(array.shape[-1]) if array.ndim else None)


def test_resampling_with_replacement(key):
    keys = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(ValueError, match="n = 60 exceeds the N = 50 keys"):
        lj.EmpiricalKeys(keys).sample_gaps(key, 60)
    gaps = lj.EmpiricalKeys(keys, replace=True).sample_gaps(key, 60)
    assert gaps.shape == (60,) and len(set(np.asarray(gaps).tolist())) <= 50


def test_unreadable_files(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        lj.load_keys(tmp_path / "missing.npy")
    bad = tmp_path / "bad.npy"
    bad.write_text("not numpy")
    with pytest.raises(ValueError, match="cannot read|not a plain .npy"):
        lj.load_keys(bad)
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="not a plain .npy array"):
        lj.load_keys(obj)


def test_argument_errors():
    keys = np.random.default_rng(0).normal(size=(100, 3))
    with pytest.raises(ValueError, match=r"query must have shape \(3,\)"):
        lj.EmpiricalKeys(keys, query=np.ones(4))
    with pytest.raises(ValueError, match="query must be finite and nonzero"):
        lj.estimate_local_exponent(keys, np.zeros(3))
    with pytest.raises(ValueError, match="k must be below the number of keys N = 100"):
        lj.estimate_local_exponent(keys, _e1(3), k=100)
    with pytest.raises(ValueError, match="k must be an integer >= 10"):
        lj.estimate_local_exponent(keys, _e1(3), k=3)
    with pytest.raises(ValueError, match="coincides with the query"):
        lj.estimate_local_exponent(np.vstack([keys, _e1(3)]), _e1(3), k=20)
