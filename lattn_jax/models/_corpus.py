"""Real-text corpora (placeholder: implementation in progress)."""

import equinox as eqx


class Corpus(eqx.Module):
    """A text corpus (work in progress)."""


def default_corpus() -> Corpus:
    """The default corpus (work in progress)."""
    raise NotImplementedError("default_corpus is being written")


def read_corpus(path) -> Corpus:
    """A user's text file (work in progress)."""
    raise NotImplementedError("read_corpus is being written")
