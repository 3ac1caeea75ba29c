"""The package's import structure: every module imports on its own, and the
graph of imports between lattn_jax's modules (module level and inside
functions alike) has no cycle."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import lattn_jax

PACKAGE = Path(lattn_jax.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if not name.endswith("__main__"):
            out[name] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The lattn_jax modules ``name`` imports (``from package import sub`` of a
    submodule counts as importing the submodule, not the package)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            subs = [f"{module}.{alias.name}" for alias in node.names]
            # `from package import submodule` needs the submodule (its parent package is
            # being imported anyway); `from module import name` needs the module.
            targets = subs if all(sub in modules for sub in subs) else [module, *subs]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_import_graph_is_acyclic():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert sum(map(len, graph.values())) > len(graph), "the graph should hold the package's imports"
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_every_module_imports_first_in_a_fresh_interpreter():
    """Each module imported first, in a fresh interpreter state (one subprocess,
    ``sys.modules`` cleared of lattn_jax between modules).

    Importing ``a.b`` first runs ``import a`` to its end and then finds ``a.b``
    in ``sys.modules`` when ``a``'s own imports loaded it: exactly the import of
    ``a`` first. Such a module is covered by its package's run and not imported
    again (of 55 modules, about 10 start a different sequence: the package, and
    the submodules of ``checks``, ``cli`` and ``models`` that their packages
    leave out). Sorted names put every package before its submodules."""
    script = (
        "import importlib, sys\n"
        f"names = {sorted(_modules())!r}\n"
        "loaded, ran = {}, 0\n"
        "for name in names:\n"
        "    parent = name.rpartition('.')[0]\n"
        "    if name in loaded.get(parent, ()):\n"
        "        loaded[name] = loaded[parent]  # the same import sequence as its package's\n"
        "        continue\n"
        "    for loaded_name in [m for m in sys.modules if m == 'lattn_jax' or m.startswith('lattn_jax.')]:\n"
        "        del sys.modules[loaded_name]\n"
        "    importlib.import_module(name)\n"
        "    loaded[name] = {m for m in sys.modules if m == 'lattn_jax' or m.startswith('lattn_jax.')}\n"
        "    ran += 1\n"
        "print(ran, len(loaded))\n"
    )
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    ran, covered = map(int, out.stdout.split()[-2:])
    assert covered == len(_modules()) and 1 < ran < covered, out.stdout
