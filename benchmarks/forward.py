"""Tokens per second of lattn-jax's jitted BERT forward pass (all-MiniLM-L6-v2,
``lattn_jax.models``) against the reference PyTorch implementation
(``transformers.BertModel``, what sentence-transformers runs) on the same CPU
and the same batches: real text (the default corpus), 64 sequences x 512
tokens by default, in batches of 8. Compilation (JAX) is timed separately.

PyTorch is not a lattn-jax dependency: point ``--torch-python`` at an
interpreter that has ``torch`` and ``transformers`` (a scratch venv); this
script re-runs itself there on the same token ids and compares the outputs::

    python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install torch==2.13.0 sentence-transformers
    python benchmarks/forward.py --torch-python /tmp/refenv/bin/python --json /tmp/forward.json

Without ``--torch-python`` only the JAX side runs.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _batches(ids: np.ndarray, batch: int) -> list[np.ndarray]:
    return [ids[i : i + batch] for i in range(0, len(ids), batch)]


def run_jax(ids: np.ndarray, batch: int, reps: int) -> dict:
    import jax
    import jax.numpy as jnp

    from lattn_jax.models import load_bert
    from lattn_jax.models._bert import encode

    model = load_bert()
    cfg = model.config
    batches = [jnp.asarray(b) for b in _batches(ids, batch)]
    mask = jnp.ones(batches[0].shape, bool)

    def forward(b):
        return encode(model.weights, b, mask, num_heads=cfg.num_heads, eps=cfg.layer_norm_eps)

    t0 = time.perf_counter()
    first = forward(batches[0]).block_until_ready()
    first_s = time.perf_counter() - t0
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for b in batches:
            forward(b).block_until_ready()
        times.append(time.perf_counter() - t0)
    steady_batch = statistics.median(times) / len(batches)
    return {
        "seconds": times,
        "first_call_seconds": first_s,
        "compile_seconds": max(0.0, first_s - steady_batch),
        "hidden_first_batch": np.asarray(first),
        "jax": jax.__version__,
        "devices": str(jax.devices()),
    }


def run_torch(ids: np.ndarray, batch: int, reps: int, model_dir: str, attn: str) -> dict:
    import torch
    import transformers

    model = transformers.BertModel.from_pretrained(model_dir, attn_implementation=attn).eval()
    batches = [torch.from_numpy(b.astype(np.int64)) for b in _batches(ids, batch)]
    mask = torch.ones(batches[0].shape, dtype=torch.long)
    with torch.inference_mode():
        t0 = time.perf_counter()
        first = model(input_ids=batches[0], attention_mask=mask).last_hidden_state.numpy()
        first_s = time.perf_counter() - t0
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for b in batches:
                model(input_ids=b, attention_mask=mask)
            times.append(time.perf_counter() - t0)
    return {
        "seconds": times,
        "first_call_seconds": first_s,
        "hidden_first_batch": first,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequences", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--torch-python", help="an interpreter with torch and transformers (not a project dependency)")
    parser.add_argument("--json", help="write every number here")
    parser.add_argument("--peer", choices=["torch"], help=argparse.SUPPRESS)  # internal: the PyTorch side
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.peer == "torch":  # running under --torch-python
        ids = np.load(args.ids)
        result = {attn: run_torch(ids, args.batch, args.reps, args.model_dir, attn) for attn in ("sdpa", "eager")}
        np.savez(args.out, **{f"{k}_hidden": v.pop("hidden_first_batch") for k, v in result.items()})
        Path(args.out + ".json").write_text(json.dumps(result))
        return

    sys.path.insert(0, str(ROOT))
    from lattn_jax.models import default_corpus, load_bert
    from lattn_jax.models._bert import bundled_model_dir

    corpus = default_corpus()
    ids = corpus.sequences(load_bert(), args.seq_len)[: args.sequences].astype(np.int32)
    if len(ids) < args.sequences or len(ids) % args.batch:
        raise SystemExit(f"need {args.sequences} sequences in whole batches of {args.batch}; the corpus has {len(ids)}")
    tokens = ids.size
    record = {
        "cpu": _cpu_model(),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "corpus": corpus.label,
        "sequences": args.sequences,
        "seq_len": args.seq_len,
        "batch": args.batch,
        "tokens": tokens,
        "reps": args.reps,
    }
    ours = run_jax(ids, args.batch, args.reps)
    hidden = ours.pop("hidden_first_batch")
    ours["tokens_per_second"] = tokens / statistics.median(ours["seconds"])
    record["lattn_jax"] = ours
    shape = f"{args.sequences} x {args.seq_len} tokens, batch {args.batch}"
    print(f"CPU: {record['cpu']} ({record['nproc']} cores); {shape}")
    print(
        f"lattn-jax  {ours['tokens_per_second']:8.0f} tokens/s  (median of {args.reps}; first call"
        f" {ours['first_call_seconds']:.2f} s, compile ~{ours['compile_seconds']:.2f} s)"
    )
    if args.torch_python:
        with tempfile.TemporaryDirectory() as tmp:
            np.save(Path(tmp) / "ids.npy", ids)
            out = str(Path(tmp) / "torch.npz")
            command = [args.torch_python, __file__, "--peer", "torch", "--ids", str(Path(tmp) / "ids.npy")]
            command += ["--model-dir", str(bundled_model_dir()), "--out", out]
            command += ["--batch", str(args.batch), "--reps", str(args.reps)]
            subprocess.run(command, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
            peers = json.loads(Path(out + ".json").read_text())
            hidden_peers = np.load(out)
            for attn, peer in peers.items():
                peer["tokens_per_second"] = tokens / statistics.median(peer["seconds"])
                peer["max_abs_diff_hidden"] = float(np.max(np.abs(hidden_peers[f"{attn}_hidden"] - hidden)))
                peer["lattn_speedup"] = ours["tokens_per_second"] / peer["tokens_per_second"]
                record[f"torch_{attn}"] = peer
                print(
                    f"torch {attn:5s} {peer['tokens_per_second']:8.0f} tokens/s  (first call"
                    f" {peer['first_call_seconds']:.2f} s, {peer['threads']} threads; lattn-jax/torch"
                    f" {peer['lattn_speedup']:.2f}x; max |hidden diff| {peer['max_abs_diff_hidden']:.1e})"
                )
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
