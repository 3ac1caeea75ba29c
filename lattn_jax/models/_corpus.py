"""Real text for real heads: the docstrings of Python's standard library (no
download, the same on every machine with the same Python), or a user's file,
cut into model-length token sequences.

A [`Corpus`][lattn_jax.models.Corpus] is a tuple of whitespace-normalised documents with a name and
a SHA-256, so every output can record exactly which text it was measured on.
"""

import hashlib
import importlib
import inspect
import re
import sys
import warnings
from pathlib import Path

import equinox as eqx
import numpy as np

from .._validation import ArgumentTypeError, ArgumentValueError

# Pure-Python or always-built modules whose documented names do not depend on
# the platform (no os/socket/subprocess/selectors, no optional C libraries).
STDLIB_MODULES = (
    "abc argparse ast base64 bisect calendar cmd codecs collections collections.abc colorsys concurrent.futures "
    "configparser contextlib copy csv dataclasses datetime decimal difflib dis email email.message email.utils enum "
    "filecmp fnmatch fractions ftplib functools getopt gettext glob graphlib gzip hashlib heapq hmac html html.parser "
    "http.client http.cookies http.server imaplib inspect io ipaddress itertools json json.decoder keyword linecache "
    "logging logging.handlers mailbox math mimetypes numbers operator optparse pathlib pickle pickletools pkgutil "
    "poplib pprint profile pstats queue quopri random re reprlib sched secrets shelve shlex statistics string "
    "stringprep struct tabnanny tarfile textwrap threading timeit tokenize trace traceback types typing unittest "
    "unittest.mock urllib.parse urllib.request uuid warnings wave weakref xml.dom.minidom xml.etree.ElementTree "
    "xml.sax zipfile zipimport"
).split()


class Corpus(eqx.Module):
    """A text corpus: whitespace-normalised documents, a name and the SHA-256
    of their text (UTF-8, documents joined by blank lines; for a file, of the
    file's bytes, so ``sha256sum FILE`` reproduces it).

    Attributes:
        name: ``"python3.11-stdlib-docstrings"`` or the file's path.
        documents: the documents, in order.
        sha256: hex digest (see above).

    Examples:
        >>> c = Corpus("demo", ("One sentence.", "Another one."))
        >>> c.num_chars, c.label[:18]
        (27, 'demo sha256:79c552')
    """

    name: str = eqx.field(static=True)
    documents: tuple[str, ...] = eqx.field(static=True)
    sha256: str = eqx.field(static=True)

    def __init__(self, name: str, documents, sha256: str | None = None):
        if not isinstance(name, str):
            raise ArgumentTypeError(f"name must be a str, got {type(name).__name__}")
        documents = tuple(documents)
        if not all(isinstance(d, str) for d in documents):
            raise ArgumentTypeError("documents must be strings")
        self.name = name
        self.documents = documents
        self.sha256 = sha256 if sha256 is not None else hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def text(self) -> str:
        """The documents joined by blank lines."""
        return "\n\n".join(self.documents)

    @property
    def num_chars(self) -> int:
        return len(self.text)

    @property
    def label(self) -> str:
        """``name sha256:<first 16 hex digits>``: what an output records."""
        return f"{self.name} sha256:{self.sha256[:16]}"

    def token_ids(self, model) -> np.ndarray:
        """The corpus as one stream of ``model``'s token ids (no special tokens)."""
        per_doc = model.text_ids(self.documents)
        if not per_doc:
            return np.zeros(0, np.int32)
        return np.concatenate([np.asarray(ids, np.int32) for ids in per_doc])

    def sequences(self, model, seq_len: int) -> np.ndarray:
        """Consecutive chunks of the token stream as ``(count, seq_len)`` model
        inputs, each ``[CLS] + seq_len - 2 tokens + [SEP]``; a final partial
        chunk is dropped (every sequence has the same length)."""
        stream = self.token_ids(model)
        prefix, suffix = model.special_ids
        content = seq_len - len(prefix) - len(suffix)
        count = len(stream) // content
        body = stream[: count * content].reshape(count, content)
        cls = np.broadcast_to(np.asarray(prefix, np.int32), (count, len(prefix)))
        sep = np.broadcast_to(np.asarray(suffix, np.int32), (count, len(suffix)))
        return np.concatenate([cls, body, sep], axis=1)


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _docstrings(module) -> list[str]:
    """Docstrings of a module, then of its public classes (each followed by its
    own methods and properties) and functions, by sorted name; only objects
    defined in that module."""
    found = []

    def add(obj):
        doc = getattr(obj, "__doc__", None)
        if isinstance(doc, str) and doc.strip():
            found.append(_normalise(doc))

    add(module)
    for name, obj in sorted(vars(module).items()):
        if name.startswith("_") or inspect.ismodule(obj) or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj):
            add(obj)
            for _, member in sorted(vars(obj).items()):
                if isinstance(member, classmethod | staticmethod):
                    member = member.__func__
                if isinstance(member, property) or inspect.isroutine(member):
                    add(member)
        elif inspect.isroutine(obj):
            add(obj)
    return found


def default_corpus() -> Corpus:
    """The docstrings of a fixed, sorted list of Python standard-library
    modules (``STDLIB_MODULES``): real human-written English available on
    every machine. Modules in sorted order; in each, the module's docstring,
    then public classes (with their methods) and functions by sorted name;
    whitespace normalised; exact duplicates dropped (first kept). Named after
    the Python version (the text differs between versions); on Python 3.11
    2,754 documents, 156,368 tokens for all-MiniLM-L6-v2 (sha256:7d5b7487...).

    Raises ``ValueError`` under ``python -OO`` (docstrings stripped).

    Examples:
        >>> c = default_corpus()
        >>> c.name.endswith("-stdlib-docstrings"), len(c.documents) > 1000
        (True, True)
    """
    if sys.flags.optimize >= 2:
        raise ArgumentValueError(
            "Python runs with -OO, which strips docstrings; the default corpus needs them (or use --text)"
        )
    seen: set[str] = set()
    documents = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation notices of some modules on import
        for name in sorted(STDLIB_MODULES):
            for doc in _docstrings(importlib.import_module(name)):
                if doc not in seen:
                    seen.add(doc)
                    documents.append(doc)
    major, minor = sys.version_info[:2]
    return Corpus(f"python{major}.{minor}-stdlib-docstrings", documents)


def read_corpus(path: str | Path) -> Corpus:
    """A user's UTF-8 text file as a corpus: paragraphs (split at blank lines),
    whitespace normalised; named by its path, hashed over its bytes.

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "t.txt")
        >>> _ = open(path, "w").write("First  paragraph.\\n\\nSecond\\none.")
        >>> read_corpus(path).documents
        ('First paragraph.', 'Second one.')
    """
    if not isinstance(path, str | Path):
        raise ArgumentTypeError(f"path must be a str or pathlib.Path of a text file, got {type(path).__name__}")
    file = Path(path)
    if not file.is_file():
        raise ArgumentValueError(f"text file {str(path)!r} does not exist")
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ArgumentValueError(f"text file {str(path)!r} is not UTF-8 (byte {err.start}: {err.reason})") from None
    paragraphs = [_normalise(p) for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))]
    documents = tuple(p for p in paragraphs if p)
    if not documents:
        raise ArgumentValueError(f"text file {str(path)!r} is empty (no text after removing whitespace)")
    return Corpus(str(path), documents, hashlib.sha256(raw).hexdigest())
