"""Checks of the critical regime: finite-``n`` Monte Carlo against the
Poisson-process limit, and ``beta*_n`` against ``critical_constant``."""

import math
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._critical import find_critical_beta
from .._estimators import mc_estimates
from .._fit import fit_power_law
from .._laws import AbstractLaw, PowerDensity, UniformSphere
from .._observables import entropy, max_weight
from .._sampling._contexts import make_sampler
from ..theory import (
    critical_constant,
    critical_exponent,
    finite_size_coefficient,
    limit_mean_max_weight,
    sample_limit_entropy,
    sample_limit_weights,
)
from . import Comparison
from ._common import mean_se, pyplot, save

_COLLAPSE_NS = (10**4, 10**6)
_GAMMA_FACTORS = (0.5, 1.0, 2.0)
_CONTEXTS = 2048
_LIMIT_SAMPLES = 4096


def check_collapse(key, *, plot_dir: Path | None = None, d: int = 3) -> list[Comparison]:
    """E[max weight] and E[H] at ``beta = gamma n^{2/(d-1)}`` for several ``n``
    against the ``n -> inf`` limit (max weight: quadrature; entropy: samples of
    the limit process), at ``gamma = (0.5, 1, 2) x gamma*``."""
    law = UniformSphere(d)
    p = float(critical_exponent(d))
    g_star = float(critical_constant(d))
    gammas = np.array(_GAMMA_FACTORS) * g_star
    k_limit, k_sim = jax.random.split(key)
    rows = []
    limit_h = []
    for i, gamma in enumerate(gammas):
        limit_h.append(mean_se(sample_limit_entropy(jax.random.fold_in(k_limit, i), d, float(gamma), _LIMIT_SAMPLES)))
    limit_w = np.asarray(limit_mean_max_weight(d, gammas))
    sims = {}
    for j, n in enumerate(_COLLAPSE_NS):
        k = jax.random.fold_in(k_sim, j)
        betas = gammas * n**p
        w, h = mc_estimates((max_weight, entropy), law, n, betas, k, _CONTEXTS)
        sims[n] = (w, h)
        for i, gamma in enumerate(gammas):
            label = f"d={d}, n={n:.0e}, gamma={gamma / g_star:.1f} gamma*"
            rows.append(
                Comparison(
                    "critical", f"E[max weight], {label}", float(limit_w[i]), float(w.mean[i]), float(w.stderr[i])
                )
            )
            se = math.hypot(float(h.stderr[i]), limit_h[i][1])
            rows.append(Comparison("critical", f"E[H], {label}", limit_h[i][0], float(h.mean[i]), se))
    if plot_dir is not None:
        _plot_collapse(plot_dir, d, g_star, sims, gammas, limit_w, limit_h)
    return rows


def _plot_collapse(plot_dir, d, g_star, sims, gammas, limit_w, limit_h):
    plt = pyplot()
    grid = np.geomspace(0.1, 10.0, 60) * g_star
    curve = np.asarray(limit_mean_max_weight(d, grid))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.9), dpi=150)
    axes[0].plot(grid / g_star, curve, "k-", label="Poisson limit")
    for j, (n, (w, h)) in enumerate(sims.items()):
        axes[0].errorbar(gammas / g_star, w.mean, w.stderr, fmt="o", color=f"C{j}", label=f"n = {n:.0e}")
        axes[1].errorbar(gammas / g_star, h.mean, h.stderr, fmt="o", color=f"C{j}", label=f"n = {n:.0e}")
    mean_h = [m for m, _ in limit_h]
    axes[1].plot(gammas / g_star, mean_h, "ks--", label="Poisson limit (samples)")
    for ax, name in zip(axes, ["E[max weight]", "E[H]"], strict=True):
        ax.set_xscale("log")
        ax.set_xlabel(r"$\beta / (\gamma^* n^{2/(d-1)})$")
        ax.set_ylabel(name)
        ax.legend()
    fig.suptitle(f"Collapse onto the critical-scale limit, d = {d}")
    save(plt, fig, plot_dir, "collapse.png")


@eqx.filter_jit
def _top(sampler, keys, beta, k):
    def one(key_):
        log_w, _ = sampler.atoms(sampler.sample(key_), beta).log_weights(beta)
        return jnp.exp(log_w[:k])

    return jax.lax.map(one, keys, batch_size=256)


def _top_weights(law: AbstractLaw, n: int, beta: float, key, num_contexts: int, k: int) -> np.ndarray:
    """Per-context ``k`` largest weights (order statistics: the head holds them)."""
    sampler = make_sampler(law, n, "order-statistics")
    return np.asarray(_top(sampler, jax.random.split(key, num_contexts), jnp.asarray(beta, sampler.dtype), k))


def check_ordered_weights(key, *, plot_dir: Path | None = None, d: int = 3, n: int = 10**6) -> list[Comparison]:
    """Means of ``W_(1)``, ``W_(2)``, ``W_(3)`` at ``beta = gamma* n^{2/(d-1)}``
    against samples of the limit process; the figure compares their CDFs."""
    g_star = float(critical_constant(d))
    k_limit, k_sim = jax.random.split(key)
    limit = np.asarray(sample_limit_weights(k_limit, d, g_star, _LIMIT_SAMPLES, k=3))
    sim = _top_weights(UniformSphere(d), n, g_star * n ** float(critical_exponent(d)), k_sim, _CONTEXTS, 3)
    rows = []
    for j in range(3):
        (m_lim, se_lim), (m_sim, se_sim) = mean_se(limit[:, j]), mean_se(sim[:, j])
        rows.append(
            Comparison(
                "critical", f"E[W_({j + 1})], d={d}, n={n:.0e}, gamma*", m_lim, m_sim, math.hypot(se_lim, se_sim)
            )
        )
    if plot_dir is not None:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=110)
        for j in range(3):
            for data, style, who in ((limit[:, j], "-", "limit"), (sim[:, j], "--", f"n = {n:.0e}")):
                xs = np.sort(data)
                ax.plot(xs, np.arange(1, xs.size + 1) / xs.size, style, color=f"C{j}", label=f"W_({j + 1}), {who}")
        ax.set_xlabel("weight")
        ax.set_ylabel("CDF")
        ax.set_title(f"Ordered weights at the critical scale, d = {d}")
        ax.legend(fontsize=8)
        save(plt, fig, plot_dir, "ordered_weights.png")
    return rows


_CONVERGENCE_LAWS = ((UniformSphere(3), "uniform d=3"), (PowerDensity(3, 1.0), "power s=1, d=3"))
_CONVERGENCE_NS = (10**2, 10**3, 10**4, 10**5, 10**6)


def check_critical_convergence(key, *, plot_dir: Path | None = None) -> list[Comparison]:
    """``beta*_n / n^{2/alpha}`` against ``critical_constant`` for two local
    exponents (``alpha = 2``: uniform keys in d = 3; ``alpha = 3``: density
    ``|k - q|^1`` on ``S^2``), at the largest ``n`` with the first finite-size
    correction, plus the exponent of a corrected fit over all ``n``."""
    rows, curves = [], []
    for i, (law, name) in enumerate(_CONVERGENCE_LAWS):
        p = float(critical_exponent(law))
        g_star = float(critical_constant(law))
        kappa = float(finite_size_coefficient(law))
        crit = [
            find_critical_beta(law, n, jax.random.fold_in(jax.random.fold_in(key, i), n), num_contexts=_CONTEXTS)
            for n in _CONVERGENCE_NS
        ]
        beta = np.array([float(c.beta) for c in crit])
        se = np.array([float(c.stderr) for c in crit])
        ns = np.array(_CONVERGENCE_NS, float)
        ratio = beta / ns**p
        corrected = g_star * (1.0 + kappa * ns ** (-p))
        rows.append(
            Comparison(
                "critical", f"beta*/n^(2/alpha) at n=1e6, {name}", corrected[-1], ratio[-1], se[-1] / ns[-1] ** p
            )
        )
        fit = fit_power_law(ns, beta, se, finite_size=(kappa, p))
        rows.append(
            Comparison(
                "critical",
                f"exponent 2/alpha (corrected fit), {name}",
                p,
                float(fit.exponent),
                float(fit.exponent_stderr),
            )
        )
        curves.append((name, ns, ratio, se / ns**p, g_star, corrected))
    if plot_dir is not None:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=110)
        for j, (name, ns, ratio, ratio_se, g_star, corrected) in enumerate(curves):
            ax.errorbar(ns, ratio / g_star, ratio_se / g_star, fmt="o", color=f"C{j}", label=f"{name}: simulation")
            ax.plot(ns, corrected / g_star, "--", color=f"C{j}", label=f"{name}: with finite-size term")
        ax.axhline(1.0, color="k", lw=1, label=r"limit $\gamma^*$")
        ax.set_xscale("log")
        ax.set_xlabel("n")
        ax.set_ylabel(r"$\beta^*_n / (\gamma^* n^{2/\alpha})$")
        ax.legend(fontsize=8)
        save(plt, fig, plot_dir, "critical_convergence.png")
    return rows
