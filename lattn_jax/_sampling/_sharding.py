"""Contexts across devices and hosts: a one-axis mesh over the contexts.

Contexts are independent, so the estimators split them evenly over the
devices of a ``jax.sharding.Mesh`` with one axis, ``"contexts"``
(``jax.shard_map``), and gather the per-context values (a few numbers per
context) onto every device before averaging. Every context is computed from
its own key exactly as on one device, and the average runs on the gathered
values in the same order, so results equal the one-device results.

With several processes (``jax.distributed.initialize`` first), ``jax.devices()``
lists the devices of all of them and the same call in every process computes one
global estimate; each process gets the full result.
"""

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec
from jaxtyping import PyTree

from .._validation import ArgumentTypeError, ArgumentValueError

AXIS = "contexts"


def context_mesh(devices: int | str | Sequence | None) -> Mesh | None:
    """The mesh over which contexts are split, or ``None`` for one device.

    Args:
        devices: ``None`` (the default device only), ``"all"`` (every device of
            every process: ``jax.devices()``), a count ``N`` (the first ``N`` of
            ``jax.devices()``) or a sequence of devices.

    Examples:
        >>> context_mesh(None) is None
        True
        >>> context_mesh(1) is None
        True
    """
    if devices is None:
        return None
    available = jax.devices()
    if isinstance(devices, str):
        if devices != "all":
            raise ArgumentValueError(
                f"devices must be None, 'all', a count >= 1 or a list of devices, got {devices!r}", argument="devices"
            )
        chosen = available
    elif isinstance(devices, int | np.integer) and not isinstance(devices, bool):
        if not 1 <= devices <= len(available):
            raise ArgumentValueError(
                f"devices must be a count in [1, {len(available)}] (devices available), got {devices}",
                argument="devices",
            )
        chosen = available[: int(devices)]
    elif isinstance(devices, Sequence) and devices and all(isinstance(d, jax.Device) for d in devices):
        chosen = list(devices)
    else:
        raise ArgumentTypeError(
            f"devices must be None, 'all', a count >= 1 or a list of devices, got {devices!r}", argument="devices"
        )
    if len(chosen) == 1 and jax.process_count() == 1:
        return None
    return Mesh(np.array(chosen), (AXIS,))


def padded_count(num_contexts: int, mesh: Mesh | None) -> int:
    """``num_contexts`` rounded up to a multiple of the mesh size (the padding
    contexts are computed and dropped)."""
    if mesh is None:
        return num_contexts
    return math.ceil(num_contexts / mesh.size) * mesh.size


def over_contexts(
    fn: Callable[..., PyTree], mesh: Mesh | None, data: PyTree, shared: PyTree = None, *, gather: bool = True
) -> PyTree:
    """``fn(data, shared)`` where every leaf of ``data`` and of the result has a
    leading contexts axis and ``shared`` is the same for all contexts, run as
    one shard of ``data`` per device of ``mesh`` (directly without a mesh).
    ``gather=True`` returns the result replicated on every device, ``False``
    leaves it split (for data that stays on its device, like pre-sampled
    contexts)."""
    if mesh is None:
        return fn(data, shared)
    spec = PartitionSpec(AXIS)

    def local(local_data, local_shared):
        out = fn(local_data, local_shared)
        if gather:
            out = jax.tree.map(lambda x: jax.lax.all_gather(x, AXIS, tiled=True), out)
        return out

    # The gathered values are replicated by construction (all_gather), which the
    # replication checker cannot always see through jvp and lax.map.
    out_specs = PartitionSpec() if gather else spec
    in_specs = (spec, PartitionSpec())
    return jax.shard_map(local, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False)(data, shared)


def pad_keys(keys: jax.Array, total: int) -> jax.Array:
    """``keys`` extended to ``total`` entries by repeating its first ones."""
    extra = total - keys.shape[0]
    return keys if extra == 0 else jnp.concatenate([keys, keys[:extra]])
