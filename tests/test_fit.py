import numpy as np
import pytest

from lattn_jax import UniformSphere, fit_power_law
from lattn_jax.theory import critical_exponent


def test_exact_power_law():
    ns = np.array([1e2, 1e3, 1e4, 1e5])
    fit = fit_power_law(ns, 2.5 * ns**0.4, 0.01 * 2.5 * ns**0.4)
    assert float(fit.exponent) == pytest.approx(0.4, rel=1e-6)
    assert float(fit.prefactor) == pytest.approx(2.5, rel=1e-5)
    assert float(fit.chi2) == pytest.approx(0.0, abs=1e-8) and fit.dof == 2


def test_weighted_fit_matches_numpy_polyfit():
    rng = np.random.default_rng(1)
    ns = np.geomspace(1e2, 1e6, 6)
    rel = np.array([0.01, 0.02, 0.01, 0.05, 0.01, 0.03])
    betas = 0.7 * ns**0.66 * np.exp(rel * rng.standard_normal(6))
    fit = fit_power_law(ns, betas, rel * betas)
    slope, intercept = np.polyfit(np.log(ns), np.log(betas), 1, w=1 / rel)
    assert float(fit.exponent) == pytest.approx(slope, rel=1e-5)
    assert float(fit.prefactor) == pytest.approx(np.exp(intercept), rel=1e-4)


def test_reported_stderr_is_the_spread_of_repeated_fits():
    rng = np.random.default_rng(2)
    ns = np.geomspace(1e2, 1e5, 4)
    rel = 0.01
    exps, ses, chi2 = [], [], []
    for _ in range(2000):
        betas = 3.0 * ns**0.5 * np.exp(rel * rng.standard_normal(4))
        fit = fit_power_law(ns, betas, rel * betas)
        exps.append(float(fit.exponent))
        ses.append(float(fit.exponent_stderr))
        chi2.append(float(fit.chi2))
    # the std of a 2000-sample std has relative error ~1/sqrt(4000) = 1.6%
    assert np.std(exps) == pytest.approx(np.mean(ses), rel=0.07)
    assert np.mean(chi2) == pytest.approx(2.0, rel=0.1)


def test_unweighted_needs_three_points_and_uses_scatter():
    with pytest.raises(ValueError, match="at least three points"):
        fit_power_law([10, 100], [1.0, 2.0])
    fit = fit_power_law([10, 100, 1000], [1.0, 2.1, 3.9])
    assert fit.chi2 is None and float(fit.exponent_stderr) > 0


@pytest.mark.parametrize(
    ("ns", "betas", "stderrs", "match"),
    [
        ([10], [1.0], None, "at least two points"),
        ([10, 100], [1.0], None, "equal length"),
        ([10, 100], [1.0, -1.0], [0.1, 0.1], "finite and > 0"),
        ([10, 10], [1.0, 2.0], [0.1, 0.1], "two distinct"),
        ([10, 100], [1.0, 2.0], [0.1, 0.0], "stderrs must be finite, > 0"),
    ],
)
def test_bad_input(ns, betas, stderrs, match):
    with pytest.raises(ValueError, match=match):
        fit_power_law(ns, betas, stderrs)


def test_critical_exponent():
    assert critical_exponent(3) == 1.0
    assert critical_exponent(UniformSphere(5)) == 0.5
    with pytest.raises(ValueError, match="d must be an integer >= 2"):
        critical_exponent(1)
