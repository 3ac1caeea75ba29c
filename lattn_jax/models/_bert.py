"""A BERT encoder in JAX/equinox (placeholder: implementation in progress)."""

import equinox as eqx


class Bert(eqx.Module):
    """A BERT encoder (work in progress)."""


def load_bert(path=None) -> Bert:
    """Load a BERT model (work in progress)."""
    raise NotImplementedError("load_bert is being written")
