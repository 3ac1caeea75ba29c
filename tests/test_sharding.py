"""Contexts across devices (fake CPU devices in a subprocess) and across two
processes (jax.distributed on 127.0.0.1): the same estimates as one device."""

import functools
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from sharding_worker import case

from lattn_jax import UniformSphere, max_weight, mc_estimate
from lattn_jax._sampling._sharding import context_mesh

WORKER = Path(__file__).with_name("sharding_worker.py")
ROOT = Path(__file__).parent.parent


def _env(devices: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


@functools.cache
def _one_device() -> dict:
    """The reference on this process's single device, computed once for both
    subprocess tests (the workers compute only their multi-device layouts)."""
    return case()


def _assert_same(got: dict, want: dict) -> None:
    # Each context is computed exactly as on one device; only the float
    # round-off of differently vectorized batches can differ.
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-6, err_msg=name)


@pytest.mark.slow
def test_four_devices_equal_one():
    out = subprocess.run(
        [sys.executable, str(WORKER), "devices"], env=_env(4), capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["devices"] == 4
    _assert_same(result["all"], _one_device())


@pytest.mark.slow
def test_two_processes_equal_one():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    procs = [
        subprocess.Popen(
            [sys.executable, "-u", str(WORKER), "process", str(i), str(port)],
            env=_env(2),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    want = _one_device()
    for p, (stdout, stderr) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, stderr[-3000:]
        result = json.loads(stdout.strip().splitlines()[-1])
        assert (result["devices"], result["local"]) == (4, 2)
        _assert_same(result["all"], want)


def test_one_device_mesh_is_the_plain_path(key):
    assert context_mesh(None) is None
    assert context_mesh(1) is None
    assert context_mesh("all") is None or len(jax.devices()) > 1
    plain = mc_estimate(max_weight, UniformSphere(3), 500, 100.0, key, 16, method="dense")
    same = mc_estimate(max_weight, UniformSphere(3), 500, 100.0, key, 16, method="dense", devices=jax.devices()[:1])
    np.testing.assert_array_equal(plain.mean, same.mean)


@pytest.mark.parametrize(
    ("devices", "error", "match"),
    [
        ("some", ValueError, "devices must be None, 'all', a count"),
        (0, ValueError, r"devices must be a count in \[1, "),
        (10**6, ValueError, r"devices must be a count in \[1, "),
        (2.5, TypeError, "devices must be None, 'all', a count"),
        ([], TypeError, "devices must be None, 'all', a count"),
    ],
)
def test_bad_devices(key, devices, error, match):
    with pytest.raises(error, match=match):
        mc_estimate(max_weight, UniformSphere(3), 100, 1.0, key, 4, devices=devices)
