"""Per-head query and key pools of a real model on real text, with the model's
own attention statistics on the same sequences: what the per-head analysis
(``lattn_jax.models._heads``) resamples from and compares against.
"""

import functools
import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from .._validation import ArgumentTypeError, ArgumentValueError, check_int, check_key
from ._bert import Bert, BertWeights, _scan_layers
from ._corpus import Corpus


class HeadPools(eqx.Module):
    """Raw per-head queries and keys (before the ``1/sqrt(d_h)`` scale) of a
    model on a corpus, and the model's own attention statistics there.

    Attributes:
        queries: ``(layers, heads, nq, head_dim)``, the queries of ``nq`` tokens
            drawn uniformly without replacement from the gathered tokens (the
            same tokens for every head).
        keys: ``(layers, heads, nk, head_dim)``, the keys of every gathered
            token in corpus order (``[CLS]``/``[SEP]`` included; see
            ``special_keys``), the same tokens for every head.
        seq_len: ``(sequences,)`` length of each sequence run through the model.
        real_max_weight: ``(sequences, layers, heads)``, mean over the
            sequence's query rows of ``max_j p_ij`` (the model's attention).
        real_entropy: ``(sequences, layers, heads)``, mean over rows of ``-sum_j p_ij log p_ij``.
        special_mass: ``(layers, heads)``, mean over all query rows of the
            attention mass on ``[CLS]`` and ``[SEP]``.
        head_dim: ``d_h``.
        corpus: which text: ``Corpus.label`` (name and SHA-256 prefix).
        special_keys: ``(nk,)`` whether each key is a ``[CLS]``/``[SEP]`` token
            (``None`` when unknown).

    Examples:
        >>> import numpy as np
        >>> pools = HeadPools(queries=np.zeros((1, 1, 2, 4)), keys=np.zeros((1, 1, 10, 4)),
        ...                   seq_len=np.array([10]), real_max_weight=np.full((1, 1, 1), 0.5),
        ...                   real_entropy=np.ones((1, 1, 1)), special_mass=np.zeros((1, 1)),
        ...                   head_dim=4, corpus="demo")
        >>> pools.num_keys, pools.num_queries
        (10, 2)
    """

    queries: Float[Array, "layers heads nq head_dim"]
    keys: Float[Array, "layers heads nk head_dim"]
    seq_len: Int[Array, " sequences"]
    real_max_weight: Float[Array, "sequences layers heads"]
    real_entropy: Float[Array, "sequences layers heads"]
    special_mass: Float[Array, "layers heads"]
    head_dim: int = eqx.field(static=True)
    corpus: str = eqx.field(static=True)
    special_keys: Bool[Array, " nk"] | None = None

    @property
    def num_keys(self) -> int:
        return self.keys.shape[2]

    @property
    def num_queries(self) -> int:
        return self.queries.shape[2]


@functools.partial(jax.jit, static_argnames=("num_heads", "eps"), donate_argnums=(1,))
def _pool_step(
    weights: BertWeights,
    keys: Float[Array, "layers heads nk d"],
    ids: Int[Array, "b t"],
    mask: Bool[Array, "b t"],
    special: Bool[Array, "b t"],
    start: Int[Array, ""],
    *,
    num_heads: int,
    eps: float,
):
    """One batch: write its keys into ``keys`` at flat token ``start`` (in
    place; out-of-range tokens dropped), return its queries ``(b, layers, heads,
    t, d)`` and per-sequence attention statistics ``(b, layers, heads)``."""

    def stats(row, attn):  # one sequence: z, probs (heads, t, t); s (heads, t, 1)
        mask_row, special_row = row
        q, k, z, s, probs = attn
        real = mask_row.astype(z.dtype)
        max_w = 1.0 / s[..., 0]  # max_j p_ij = exp(0) / s
        ent = jnp.log(s[..., 0]) - jnp.sum(probs * z, axis=-1)  # -sum p log p, log p = z - log s
        spec = jnp.sum(jnp.where(special_row, probs, 0.0), axis=-1)
        mean = [jnp.sum(v * real, axis=-1) / jnp.maximum(jnp.sum(real), 1.0) for v in (max_w, ent, spec)]
        return q, k, *mean

    _, (q, k, max_w, ent, spec) = _scan_layers(weights, ids, mask, num_heads, eps, stats, special)
    b, layers, heads, t, d = k.shape
    flat = k.transpose(1, 2, 0, 3, 4).reshape(layers, heads, b * t, d)
    keys = keys.at[:, :, start + jnp.arange(b * t)].set(flat, mode="drop")
    return keys, q, max_w, ent, spec


def gather_pools(
    model: Bert,
    corpus: Corpus,
    *,
    num_keys: int = 100_000,
    num_queries: int = 1024,
    seq_len: int = 512,
    key: PRNGKeyArray | None = None,
    progress: Callable[[int, int], object] | None = None,
    batch_size: int = 1,
) -> HeadPools:
    """Run ``model`` over consecutive ``seq_len``-token sequences of ``corpus``
    (``[CLS]`` + text + ``[SEP]``, real positions, no padding) until
    ``num_keys`` tokens are gathered; keep every head's key of each of those
    tokens, the queries of ``num_queries`` of them drawn with ``key`` (uniform,
    without replacement, the same tokens for all heads), and per sequence the
    model's own mean max attention weight and entropy per head, computed from
    the probabilities the forward pass used. Batched and jitted (one program
    for all batches); the keys are written in place, so memory is about the
    pool itself (``layers * heads * num_keys * head_dim`` float32: 920 MB for
    MiniLM at 100k).

    Args:
        model: from [`load_bert`][lattn_jax.models.load_bert].
        corpus: from [`default_corpus`][lattn_jax.models.default_corpus] or
            [`read_corpus`][lattn_jax.models.read_corpus].
        num_keys: keys per head (``nk``).
        num_queries: queries per head (``nq <= num_keys``).
        seq_len: tokens per sequence, ``[CLS]``/``[SEP]`` included, at most the
            model's positions (512).
        key: PRNG key for the query sample (default ``jax.random.key(0)``).
        progress: called as ``progress(done, total)`` in sequences after each batch.
        batch_size: sequences per jitted call (the model runs them one at a time inside it).

    Raises ``ValueError`` when the corpus is too short: the message gives its
    token count and the number of tokens the request needs.

    Examples:
        >>> from lattn_jax.models import Corpus, load_bert
        >>> text = Corpus("demo", ["Attention is all you need, said the paper. " * 40])
        >>> pools = gather_pools(load_bert(), text, num_keys=200, num_queries=16, seq_len=64)
        >>> pools.keys.shape, pools.queries.shape, pools.real_max_weight.shape
        ((6, 12, 200, 32), (6, 12, 16, 32), (4, 6, 12))
    """
    if not isinstance(model, Bert):
        raise ArgumentTypeError(f"model must be a Bert from load_bert(), got {type(model).__name__}")
    if not isinstance(corpus, Corpus):
        raise ArgumentTypeError(
            f"corpus must be a Corpus (default_corpus() or read_corpus(path)), got {type(corpus).__name__}"
        )
    num_keys = check_int("num_keys", num_keys, minimum=1)
    num_queries = check_int("num_queries", num_queries, minimum=1)
    if num_queries > num_keys:
        raise ArgumentValueError(
            f"num_queries = {num_queries} exceeds num_keys = {num_keys} (queries come from those tokens)"
        )
    seq_len = check_int("seq_len", seq_len, minimum=3)
    if seq_len > model.max_positions:
        raise ArgumentValueError(f"seq_len must be at most the model's {model.max_positions} positions, got {seq_len}")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    key = jax.random.key(0) if key is None else key
    check_key("key", key)
    if progress is not None and not callable(progress):
        raise ArgumentTypeError(f"progress must be a callable (done, total) or None, got {type(progress).__name__}")

    sequences = corpus.sequences(model, seq_len)
    needed = math.ceil(num_keys / seq_len)
    if len(sequences) < needed:
        content = seq_len - 2
        have = len(corpus.token_ids(model))
        raise ArgumentValueError(
            f"the text {corpus.label} has {have} tokens, too few for num_keys = {num_keys}:"
            f" {needed} sequences of {seq_len} ({content} text tokens each) need at least {needed * content} tokens;"
            f" use a longer text or lower num_keys (at most {len(sequences) * seq_len} here)"
        )
    sequences = sequences[:needed]
    cfg = model.config
    q_index = np.sort(np.asarray(jax.random.choice(key, num_keys, (num_queries,), replace=False)))
    keys = jnp.zeros((cfg.num_layers, cfg.num_heads, num_keys, cfg.head_dim), jnp.float32)
    queries = np.zeros((cfg.num_layers, cfg.num_heads, num_queries, cfg.head_dim), np.float32)
    stats = np.zeros((3, needed, cfg.num_layers, cfg.num_heads), np.float64)
    special_row = np.zeros(seq_len, bool)
    special_row[[0, -1]] = True
    batch_size = min(batch_size, needed)
    for first in range(0, needed, batch_size):
        chunk = sequences[first : first + batch_size]
        rows = len(chunk)
        ids = np.zeros((batch_size, seq_len), np.int32)
        ids[:rows] = chunk
        mask = np.zeros((batch_size, seq_len), bool)
        mask[:rows] = True
        mask[rows:, 0] = True  # filler rows: one real token, results dropped
        special = np.broadcast_to(special_row, (batch_size, seq_len))
        start = first * seq_len
        keys, q, max_w, ent, spec = _pool_step(
            model.weights,
            keys,
            jnp.asarray(ids),
            jnp.asarray(mask),
            jnp.asarray(special),
            jnp.asarray(start, jnp.int32),
            num_heads=cfg.num_heads,
            eps=cfg.layer_norm_eps,
        )
        for i, s in enumerate((max_w, ent, spec)):  # (b, layers, heads)
            stats[i, first : first + rows] = np.asarray(s)[:rows]
        picked = (q_index >= start) & (q_index < start + rows * seq_len)
        local = q_index[picked] - start
        qb = np.asarray(q)  # (b, layers, heads, t, d)
        queries[:, :, picked] = qb[local // seq_len, :, :, local % seq_len].transpose(1, 2, 0, 3)
        if progress is not None:
            progress(first + rows, needed)
    special_keys = np.tile(special_row, needed)[:num_keys]
    return HeadPools(
        queries=jnp.asarray(queries),
        keys=keys,
        seq_len=jnp.full(needed, seq_len, jnp.int32),
        real_max_weight=jnp.asarray(stats[0], jnp.float32),
        real_entropy=jnp.asarray(stats[1], jnp.float32),
        special_mass=jnp.asarray(stats[2].mean(axis=0), jnp.float32),
        head_dim=cfg.head_dim,
        corpus=corpus.label,
        special_keys=jnp.asarray(special_keys),
    )
