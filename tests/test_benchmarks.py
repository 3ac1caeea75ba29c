"""Smoke test of the benchmark suite at tiny sizes: it runs, the
implementations agree, and the JSON holds every workload's figures."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict:
    """The scripts with the session's compilation cache (conftest.py), every
    program stored (the W3 child process inherits it). Their W1 programs are the
    same at ``--quick`` sizes, and ``run.py``'s searches (d = 3, n = 1e3, 1024
    contexts) are ``gpu.py``'s W3 betas, so ``run.py`` after ``gpu.py`` compiles
    nothing new (measured: 17-23 s alone, 6-8 s after it); warm, both start
    compiled. Only compilation is shared: every figure checked is computed."""
    env = dict(os.environ)
    if env.get("LATTN_JAX_CACHE"):
        env["JAX_COMPILATION_CACHE_DIR"] = env["LATTN_JAX_CACHE"]
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    return env


def _script(*args) -> subprocess.CompletedProcess:
    command = [sys.executable, *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=_env())


@pytest.mark.slow  # ~40 s cold, ~17 s warm: one script after the other, so the second reuses compilations
def test_gpu_and_cpu_scripts_quick(tmp_path):
    # The accelerator script at tiny sizes on the CPU, so it stays ready for a lent GPU.
    # No script time limit: on a loaded machine its default (270 s) can skip W3 before it starts.
    out = tmp_path / "gpu.json"
    result = _script("benchmarks/gpu.py", "--quick", "--time-limit", "1e9", "--json", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads(out.read_text())
    assert record["w1"]["agreement_ok"], record["w1"]["agreement"]
    assert all(row["rel"] <= 0.01 for row in record["w2"]["rows"]), record["w2"]
    assert set(record["w3"]) == {"dense", "order-statistics", "streaming"}
    assert all(v["largest_n"] >= 1000 for v in record["w3"].values()), record["w3"]

    # The CPU suite.
    out = tmp_path / "bench.json"
    command = ["benchmarks/run.py", "--quick", "--peers", "naive-jax,numpy", "--json", str(out)]
    command += ["--w3-methods", "order-statistics"]  # one fresh process is enough to test the W3 machinery
    result = _script(*command)
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads(out.read_text())
    assert record["machine"]["nproc"] >= 1 and record["machine"]["versions"]["jax"]
    w1 = record["w1"]
    assert set(w1["seconds_median"]) == {
        "lattn-jax",
        "naive-jax",
        "numpy",
        "floor: random numbers",
        "floor: one pass per beta",
        "reference: d normals per key",
        "reference: one pass per beta as a reduction",
    }
    assert w1["agreement_ok"], w1["agreement"]
    assert set(w1["ratio_lattn_over"]) == {"naive-jax", "numpy", "floor"}
    (row,) = record["w2"]["rows"]
    assert row["lattn_converged"] and record["w2"]["agreement_ok"], row
    methods = record["w3"]["methods"]
    assert set(methods) == {"order-statistics"}
    assert all(v["largest_n"] == 1000 and v["points"][0]["peak_rss_bytes"] > 0 for v in methods.values()), methods
    assert "agreement" in result.stdout and "W3" in result.stdout
