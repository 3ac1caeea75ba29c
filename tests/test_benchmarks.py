"""Smoke test of the benchmark suite at tiny sizes: it runs, the
implementations agree, and the JSON holds every workload's figures."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # ~27 s of CPU: mostly compilations and two fresh processes
def test_run_quick(tmp_path):
    out = tmp_path / "bench.json"
    command = [sys.executable, "benchmarks/run.py", "--quick", "--peers", "naive-jax,numpy", "--json", str(out)]
    command += ["--w3-methods", "order-statistics"]  # one fresh process is enough to test the W3 machinery
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
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


@pytest.mark.slow  # ~30 s: the accelerator script at tiny sizes, so it stays ready for a lent GPU
def test_gpu_script_quick_on_cpu(tmp_path):
    out = tmp_path / "gpu.json"
    # No script time limit: on a loaded machine its default (270 s) can skip W3 before it starts.
    command = [sys.executable, "benchmarks/gpu.py", "--quick", "--time-limit", "1e9", "--json", str(out)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads(out.read_text())
    assert record["w1"]["agreement_ok"], record["w1"]["agreement"]
    assert all(row["rel"] <= 0.01 for row in record["w2"]["rows"]), record["w2"]
    assert set(record["w3"]) == {"dense", "order-statistics", "streaming"}
    assert all(v["largest_n"] >= 1000 for v in record["w3"].values()), record["w3"]
