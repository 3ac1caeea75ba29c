"""The computation the sharding tests compare across device layouts, and the
subprocess entry points that run it (tests/test_sharding.py):

    python sharding_worker.py devices            # all (fake) devices of one process
    python sharding_worker.py process I PORT     # process I of 2 (jax.distributed)

Fake CPU devices come from ``XLA_FLAGS`` set by the caller. The one-device
reference is computed by the test itself (in its own process). The workers use
the persistent compilation cache named by ``LATTN_JAX_CACHE`` (the tests'), as
the CLI does.
"""

import json
import sys

import jax
import jax.numpy as jnp

import lattn_jax as lj
from lattn_jax.cli._common import setup_jax


def case(devices=None) -> dict:
    """An estimate with derivative (dense, 30 contexts: not a multiple of the
    device count) and an order-statistics critical search."""
    law = lj.UniformSphere(3)
    key = jax.random.key(7)
    betas = jnp.array([30.0, 3000.0])
    est = lj.mc_estimate(lj.entropy, law, 3000, betas, key, 30, method="dense", derivative=True, devices=devices)
    crit = lj.find_critical_beta(law, 5000, key, num_contexts=30, method="order-statistics", devices=devices)
    jax.block_until_ready((est, crit))
    return {
        "mean": [float(x) for x in est.mean],
        "stderr": [float(x) for x in est.stderr],
        "derivative": [float(x) for x in est.derivative],
        "beta": float(crit.beta),
        "beta_stderr": float(crit.stderr),
    }


def main(argv: list[str]) -> None:
    if argv[0] == "devices":
        print(json.dumps({"devices": len(jax.devices()), "all": case("all")}), flush=True)
        return
    process_id, port = int(argv[1]), int(argv[2])
    jax.distributed.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=process_id)
    out = case("all")
    print(json.dumps({"devices": len(jax.devices()), "local": len(jax.local_devices()), "all": out}), flush=True)
    jax.distributed.shutdown()


if __name__ == "__main__":
    setup_jax()  # before any computation: the persistent compilation cache
    main(sys.argv[1:])
