"""Checks of the backward heat equation: attention over von Mises–Fisher keys
moves the query along ``grad_S log rho`` by ``A_d(beta) / beta`` (one query),
and one normalized attention step grows the tokens' mean resultant like a
backward heat flow for time ``1/beta``."""

import math
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._attention import attention_output
from .._laws._vmf import VonMisesFisher
from ..theory import heat_displacement, heat_flow_mean_resultant, mean_resultant
from . import Comparison
from ._common import mean_se, pyplot

_D = 3
_KAPPA = 1.0
_DISPLACEMENT_BETAS = (10.0, 20.0, 40.0)
_DISPLACEMENT_N = 2000
_DISPLACEMENT_CONTEXTS = 256
_STEP_BETA = 200.0
_STEP_N = 20000
_STEP_QUERIES = 128
_STEP_CONTEXTS = 8


def _law() -> VonMisesFisher:
    # mean e_2, default query e_1: the query sits where grad_S log rho = kappa e_2 is largest.
    return VonMisesFisher(jnp.eye(_D)[1], _KAPPA)


@eqx.filter_jit
def _displacement_run(law: VonMisesFisher, keys, betas):
    q, mu = law.query(), law.means[0]

    def one(k):
        context = law.sample(k, _DISPLACEMENT_N)
        return jax.vmap(lambda b: attention_output(q, context, b) @ mu)(betas)

    return jax.lax.map(one, keys, batch_size=32)


def _displacements(law: VonMisesFisher, key, betas: jax.Array) -> np.ndarray:
    """Per context and ``beta``: the output's component along the vMF mean."""
    return np.asarray(_displacement_run(law, jax.random.split(key, _DISPLACEMENT_CONTEXTS), betas), np.float64)


@eqx.filter_jit
def _step_run(law: VonMisesFisher, keys, beta):
    mu = law.means[0]

    def one(k):
        k_keys, k_queries = jax.random.split(k)
        keys = law.sample(k_keys, _STEP_N)
        queries = law.sample(k_queries, _STEP_QUERIES)
        out = jax.vmap(lambda x: attention_output(x, keys, beta))(queries)
        moved = out / jnp.linalg.norm(out, axis=1, keepdims=True)
        return moved @ mu - queries @ mu

    return jax.lax.map(one, keys)


def _step_increments(law: VonMisesFisher, key, beta: float) -> np.ndarray:
    """``<mu, o / |o|> - <mu, x>`` for fresh vMF queries ``x`` over ``n`` vMF keys."""
    return np.asarray(_step_run(law, jax.random.split(key, _STEP_CONTEXTS), beta), np.float64).ravel()


def check_heat(key, *, plot_dir: Path | None = None) -> list[Comparison]:
    """vMF keys on ``S^2`` (``kappa = 1``, mean ``e_2``).

    - Displacement: query ``e_1`` (orthogonal to the mean), ``n = 2000``, 256
      contexts, ``beta = 10, 20, 40``: the output's component along the mean
      against ``(A_d(beta) / beta) kappa`` ([`heat_displacement`][lattn_jax.theory.heat_displacement];
      its ``O(beta^-2)`` error, ``~kappa^2 / (2 beta^2)`` relative, and the ``O(rho/n)``
      ratio bias stay below a third of the standard error).
    - Backward heat flow: 8 contexts of ``n = 2e4`` keys, 128 fresh vMF queries
      each, ``beta = 200``: the mean increment of ``<mu, x>`` after one
      normalized attention step against ``A_d(kappa) (e^{(d-1)/beta} - 1)``
      ([`heat_flow_mean_resultant`][lattn_jax.theory.heat_flow_mean_resultant]).

    With ``plot_dir``, ``heat_displacement.png``: displacement against ``beta``."""
    law = _law()
    k_disp, k_step = jax.random.split(key)
    betas = jnp.asarray(_DISPLACEMENT_BETAS)
    disp = _displacements(law, k_disp, betas)
    mu = law.means[0]
    rows = []
    theory = np.asarray(heat_displacement(law, betas) @ mu)
    for i, beta in enumerate(_DISPLACEMENT_BETAS):
        mean, se = mean_se(disp[:, i])
        label = f"displacement (A_d/beta) grad log rho, d={_D}, kappa={_KAPPA:g}, n={_DISPLACEMENT_N}, beta={beta:g}"
        rows.append(Comparison("heat", label, float(theory[i]), mean, se))
    a_kappa = float(mean_resultant(_D, _KAPPA))
    step_theory = float(heat_flow_mean_resultant(_D, a_kappa, _STEP_BETA)) - a_kappa
    mean, se = mean_se(_step_increments(law, k_step, _STEP_BETA))
    label = f"<mu, x> growth per step, e^((d-1)/beta) flow, d={_D}, kappa={_KAPPA:g}, n=2e4, beta={_STEP_BETA:g}"
    rows.append(Comparison("heat", label, step_theory, mean, se))
    if plot_dir is not None:
        _plot(Path(plot_dir), law, disp)
    return rows


def _plot(plot_dir: Path, law: VonMisesFisher, disp: np.ndarray) -> None:
    plt = pyplot()
    mu = law.means[0]
    grid = np.geomspace(2.0, 100.0, 60)
    first_order = np.asarray(heat_displacement(law, jnp.asarray(grid)) @ mu)
    # Exact mean field for vMF keys: A_d(|v|) <v, mu> / |v| with v = beta q + kappa mu.
    norm = np.sqrt(grid**2 + _KAPPA**2)
    exact = np.asarray(mean_resultant(_D, jnp.asarray(norm))) * _KAPPA / norm
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=110)
    ax.plot(grid, first_order, "k-", label=r"$(A_d(\beta)/\beta)\,\nabla_S \log\rho$ (first order)")
    ax.plot(grid, exact, "C1--", label="exact mean field (vMF)")
    ax.plot(grid, _KAPPA / grid, "k:", label=r"$(1/\beta)\,\nabla_S \log\rho$")
    means = disp.mean(axis=0)
    ses = disp.std(axis=0, ddof=1) / math.sqrt(disp.shape[0])
    ax.errorbar(
        _DISPLACEMENT_BETAS, means, ses, fmt="o", color="C0", capsize=3, label=f"Monte Carlo, n = {_DISPLACEMENT_N}"
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\beta$")
    ax.set_ylabel("output displacement along the density gradient")
    ax.set_title(rf"vMF keys, $\kappa$ = {_KAPPA:g}, d = {_D}, query orthogonal to the mean")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(plot_dir / "heat_displacement.png")
    plt.close(fig)
