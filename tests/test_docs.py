"""The docs and the public API's ergonomics: every public function has a
runnable ``Examples:``, every public name is in the API reference, every figure
a page uses is in the gallery, the Python on the pages prints what the pages
say it prints, and every ``lattn`` option has a help text."""

import contextlib
import inspect
import io
import re
from pathlib import Path

import jax
import pytest

import lattn_jax
from lattn_jax import models, theory
from lattn_jax.cli import build_parser
from lattn_jax.cli._figures import FIGURES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# Pages whose Python blocks are run: each ```python block followed by a ```text
# block must print exactly that text (fixed seeds, CPU). They are the slowest
# tests (theory.md about 2 minutes of one core), so they are scheduled first:
#   python -m pytest tests/test_docs.py -k page
RUNNABLE = [
    "quickstart.md",
    "theory.md",
    "tutorials/find-beta-star.md",
    "tutorials/differentiate.md",
    "tutorials/custom-law.md",
]


def _public(module):
    for name in dir(module):
        obj = getattr(module, name)
        if name.startswith("_") or inspect.ismodule(obj):
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            yield f"{module.__name__}.{name}", obj


PUBLIC = dict([*_public(lattn_jax), *_public(theory), *_public(models)])


@pytest.mark.parametrize(
    "name",
    sorted(PUBLIC),
)
def test_public_api_has_a_docstring_example(name):
    doc = inspect.getdoc(PUBLIC[name]) or ""
    assert doc.strip(), f"{name} has no docstring"
    assert re.search(r"^Examples:\s*$", doc, re.MULTILINE), f"{name}'s docstring has no 'Examples:' section"
    example = doc[re.search(r"^Examples:\s*$", doc, re.MULTILINE).end() :]
    assert ">>>" in example, f"{name}'s Examples: section has no doctest (>>> lines)"


def test_docstring_sections_are_named_as_griffe_reads_them():
    """Google style as mkdocstrings renders it without extensions: ``Examples:``
    (a singular ``Example:`` would render as an admonition of plain text)."""
    singular = [
        f"{path.relative_to(ROOT)}:{i}"
        for path in sorted((ROOT / "lattn_jax").rglob("*.py"))
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if re.fullmatch(r"\s*Example:\s*", line)
    ]
    assert not singular, f"'Example:' sections (use 'Examples:'): {singular}"


def _api_pages() -> str:
    return "\n".join(p.read_text() for p in sorted((DOCS / "api").glob("*.md")))


def test_every_public_name_is_in_the_api_reference():
    pages = _api_pages()
    documented = set(re.findall(r"^::: ([\w.]+)", pages, re.MULTILINE))
    missing = []
    for name in PUBLIC:
        module, _, short = name.rpartition(".")
        # `::: lattn_jax.theory` documents the whole package; top-level names are listed one by one.
        if name not in documented and f"lattn_jax.{short}" not in documented and module not in documented:
            missing.append(name)
    assert not missing, f"not in docs/api/*.md: {missing}"


def test_every_figure_on_a_page_is_in_the_gallery():
    used = set()
    for page in [ROOT / "README.md", *DOCS.rglob("*.md")]:
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+\.png)\)", page.read_text()):
            path = (page.parent / target).resolve()
            assert path.parent == DOCS / "figures", f"{page.name}: {target} is not in docs/figures"
            used.add(path.stem)
    made = {name for name in FIGURES}
    assert used <= made, f"figures used but not made by `lattn figures`: {used - made}"
    for name in made:
        png = DOCS / "figures" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not committed"
        assert png.stat().st_size < 250_000, f"{png} is too large"


def test_every_cli_option_has_help():
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    assert set(sub.choices) >= {"critical", "figures"}
    helps = {a.dest: a.help for a in sub._choices_actions}
    for name, command in sub.choices.items():
        assert helps.get(name), f"lattn {name} has no one-line help"
        assert command.description, f"lattn {name} has no description"
        for action in command._actions:
            assert action.help, f"lattn {name} {action.option_strings or action.dest} has no help text"


def _blocks(page: Path) -> list[tuple[str, str]]:
    """(python code, expected text) pairs: a ```python block directly followed by a ```text block."""
    pattern = re.compile(r"```python\n(.*?)```\s*\n```text\n(.*?)```", re.DOTALL)
    return pattern.findall(page.read_text())


def _run_page(page: str) -> None:
    path = DOCS / page
    if not path.exists():
        pytest.skip(f"{page} is not written yet")
    pairs = _blocks(path)
    assert pairs, f"{page} has no ```python block followed by its ```text output"
    namespace: dict = {}
    for code, expected in pairs:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), jax.numpy_dtype_promotion("standard"):
            exec(compile(code, str(path), "exec"), namespace)
        assert out.getvalue() == expected, f"{page}: the block\n{code}\nprinted\n{out.getvalue()}"


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE)
def test_page_prints_what_it_says(page):
    _run_page(page)


def test_runnable_pages_exist_and_pair_code_with_output():
    # Cheap and always on: every runnable page has code blocks, each with its output.
    for page in RUNNABLE:
        text = (DOCS / page).read_text()
        assert _blocks(DOCS / page), page
        assert text.count("```python") == len(_blocks(DOCS / page)), f"{page}: a python block without its output"
