"""Griffe extension for the API reference: the project's docstrings use a
Google-style ``Example:`` section (singular), which griffe would render as an
admonition of plain text. Rename it to ``Examples:`` so the doctests render as
code."""

import re

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class SingularExamples(griffe.Extension):
    """Treat ``Example:`` like ``Examples:``."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
