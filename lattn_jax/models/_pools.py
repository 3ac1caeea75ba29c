"""Per-head query/key pools gathered over a corpus (placeholder: in progress)."""

import equinox as eqx
from jaxtyping import Array, Float


class HeadPools(eqx.Module):
    """Per-head query and key pools (contract; implementation in progress)."""

    queries: Float[Array, "layers heads nq head_dim"]
    keys: Float[Array, "layers heads nk head_dim"]
    seq_len: Array
    real_max_weight: Float[Array, "sequences layers heads"]
    real_entropy: Float[Array, "sequences layers heads"]
    special_mass: Float[Array, "layers heads"]
    head_dim: int = eqx.field(static=True)
    corpus: str = eqx.field(static=True)


def gather_pools(
    model, corpus, *, num_keys=100_000, num_queries=1024, seq_len=512, key=None, progress=None
) -> HeadPools:
    """Gather pools (work in progress)."""
    raise NotImplementedError("gather_pools is being written")
