"""The simplex model of Chen, Lin, Polyanskiy and Rigollet, "Critical attention
scaling in long-context transformers" (arXiv 2510.05554, ICLR 2026).

In the paper, ``n`` unit tokens ``y_1, ..., y_n`` form a regular simplex,
``<y_i, y_j> = rho`` for ``i != j``, attention scores are ``beta <y_i, y_j>``
with ``beta = gamma log n``, and token ``i`` attends to all ``n`` tokens,
itself included. Its weight on itself is

    ``w_ii = 1 / (1 + (n - 1) exp(-beta (1 - rho))) = 1 / (1 + (n - 1) n^{-gamma (1 - rho)})``,

so as ``n -> infinity`` attention spreads (``w_ii -> 0``, rank collapse) for
``gamma < gamma_c = 1 / (1 - rho)`` and becomes the identity (``w_ii -> 1``)
for ``gamma > gamma_c``: ``beta_n ~ log n`` is critical. At finite ``n`` the
step is smooth: ``w_ii`` goes from 0.1 to 0.9 as ``gamma / gamma_c`` moves by
``2 ln 9 / ln n`` (0.48 at ``n = 1e4``), and ``w_ii = n / (2n - 1)`` at
``gamma_c``.

As a context law ([`Simplex`][lattn_jax.Simplex]) the tokens live in a fixed dimension
``d``: ``y_i = sqrt(rho) e_1 + sqrt(1 - rho) z_i`` with ``z_i`` i.i.d. uniform
on the unit sphere of ``e_1``'s complement, and the query is the token
``y_0 = sqrt(rho) e_1 + sqrt(1 - rho) e_2``, which is also the first key. Then
``<y_i, y_j> = rho + (1 - rho) <z_i, z_j>`` with ``<z_i, z_j> = O(d^{-1/2})``:
the paper's "almost-simplex" (its Assumption 2), exact as ``d -> infinity``.
At finite ``d`` the other tokens' gaps fluctuate by ``(1 - rho) d^{-1/2}``:
to second order ``log E[exp(-beta g)] = -c + c^2 / (2 (d - 1))`` with
``c = beta (1 - rho)``, so the critical ``gamma`` moves up to about
``gamma_c (1 + ln n / (2 (d - 1)))`` (3.6% at ``n = 1e4``, ``d = 128``); keep
``ln n << d`` to see the paper's limit.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._validation import (
    ArgumentValueError,
    check_beta,
    check_in_range,
    check_int,
    check_sizes,
    default_float,
)
from ._abstract import check_sample
from ._sphere import AbstractLaw, UniformSphere


def simplex_self_weight(n: ArrayLike, beta: ArrayLike, rho: ArrayLike) -> Float[Array, "*batch"]:
    """The exact simplex's self-attention weight (the max weight for ``rho < 1``):
    ``1 / (1 + (n - 1) exp(-beta (1 - rho)))``.

    Examples:
        >>> import math
        >>> round(float(simplex_self_weight(1e4, 2.0 * math.log(1e4), 0.5)), 4)  # gamma = gamma_c
        0.5
    """
    check_sizes("n", n)
    beta = check_beta("beta", beta)
    check_in_range("rho", rho, -1.0, 1.0)
    n = jnp.asarray(n, jnp.result_type(float))
    return jax.nn.sigmoid(beta * (1.0 - rho) - jnp.log(n - 1.0))


class Simplex(AbstractLaw):
    """The almost-simplex of arXiv 2510.05554 as a context law (see the module
    docstring): ``n`` tokens with pairwise correlation ``rho`` (up to
    ``O(d^{-1/2})`` fluctuations) in dimension ``d``; the query is the first
    token, so the context holds the query itself (gap 0) and ``n - 1`` tokens at
    gaps ``(1 - rho) (1 - <e_2, z_i>)``. Use it with ``beta = gamma log n``
    (``ScalableSoftmax(s=gamma)``); the critical ``gamma_c = 1 / (1 - rho)``.

    Examples:
        >>> import jax
        >>> law = Simplex(0.5, 64)
        >>> law.critical_gamma
        2.0
        >>> law.sample_gaps(jax.random.key(0), 4).shape
        (4,)
    """

    rho: float = eqx.field(static=True)
    d: int = eqx.field(static=True)

    def __check_init__(self):
        check_int("d", self.d, minimum=3)
        if isinstance(self.rho, bool) or not isinstance(self.rho, int | float) or not 0 <= self.rho < 1:
            raise ArgumentValueError(f"rho must be a number in [0, 1), got {self.rho!r}", argument="rho")

    @property
    def dim(self) -> int:
        return self.d

    @property
    def critical_gamma(self) -> float:
        """``gamma_c = 1 / (1 - rho)``."""
        return 1.0 / (1.0 - self.rho)

    def query(self, dtype=None) -> Float[Array, " d"]:
        dtype = dtype or default_float()
        return jnp.zeros((self.d,), dtype).at[0].set(self.rho**0.5).at[1].set((1.0 - self.rho) ** 0.5)

    def sample(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, "n d"]:
        n = check_sample(key, n, minimum=2)  # the query itself and at least one other token
        dtype = dtype or default_float()
        z = UniformSphere(self.d - 1).sample(key, n - 1, dtype)
        others = jnp.concatenate([jnp.full((n - 1, 1), self.rho**0.5, dtype), (1.0 - self.rho) ** 0.5 * z], axis=1)
        return jnp.concatenate([self.query(dtype)[None], others], axis=0)

    def sample_gaps(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, " n"]:
        n = check_sample(key, n, minimum=2)  # the query itself and at least one other token
        dtype = dtype or default_float()
        others = (1.0 - self.rho) * UniformSphere(self.d - 1).sample_gaps(key, n - 1, dtype)
        return jnp.concatenate([jnp.zeros((1,), dtype), others])
