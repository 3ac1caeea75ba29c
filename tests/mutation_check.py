"""Mutation check, run by hand (not collected by pytest, not in CI): break one
core formula at a time in a copy of ``lattn_jax`` and show that the tests of its
module fail.

Each mutation replaces one exact source fragment (the script stops if the
fragment is gone, so it cannot pass by mutating nothing). The package, the
tests and ``pyproject.toml`` are copied to a temporary folder and pytest runs
there, so ``import lattn_jax`` reads the copy (checked before each run); the
working tree is never edited. First the same tests run on the unmutated copy,
which must pass.

    python tests/mutation_check.py            # all mutations, ~10 min on 2 cores
    python tests/mutation_check.py stderr     # one of them, by name
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name: (file, original fragment, mutated fragment, tests that must catch it)
MUTATIONS = {
    "entropy-sign": (
        "lattn_jax/_observables.py",
        "return jnp.log(summary.s0) - summary.s1 / summary.s0",
        "return jnp.log(summary.s0) + summary.s1 / summary.s0",
        ["tests/test_observables.py"],
    ),
    "order-statistics-off-by-one": (
        "lattn_jax/_sampling/_contexts.py",
        "self.n - m.astype(self.dtype) + 1.0)",
        "self.n - m.astype(self.dtype))",
        ["tests/test_estimators.py"],
    ),
    "bessel-order": (
        "lattn_jax/_laws/_vmf.py",
        "return bessel_ratio_parts(d / 2.0 - 1.0, kappa)[2]",
        "return bessel_ratio_parts(d / 2.0, kappa)[2]",
        ["tests/test_vmf_heat.py"],
    ),
    "stderr-sqrt": (
        "lattn_jax/_estimators.py",
        "jnp.std(values, axis=0, ddof=1) / jnp.sqrt(num)",
        "jnp.std(values, axis=0, ddof=1) / num",
        ["tests/test_estimators.py"],
    ),
    "critical-exponent": (
        "lattn_jax/theory/_exponents.py",
        "return as_float_array(2.0 / float(law.local_exponent))",
        "return as_float_array(2.0 / (float(law.local_exponent) + 1.0))",  # 2/d for uniform keys, not 2/(d-1)
        ["tests/test_fit.py", "tests/test_cli.py"],
    ),
}


def run_tests(where: Path, tests: list[str]) -> tuple[int, str]:
    env = dict(os.environ, PYTHONPATH=str(where))
    probe = [sys.executable, "-c", "import lattn_jax; print(lattn_jax.__file__)"]
    imported = subprocess.run(probe, cwd=where, env=env, capture_output=True, text=True).stdout.strip()
    if not imported.startswith(str(where)):
        sys.exit(f"the tests would import {imported}, not the copy in {where}")
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-n", "2", *tests]
    result = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    failed = [line for line in lines if line.startswith("FAILED")]
    return result.returncode, (failed[0] if failed else lines[-1] if lines else result.stderr[-300:])


def main(names: list[str]) -> int:
    unknown = set(names) - set(MUTATIONS)
    if unknown:
        sys.exit(f"unknown mutation(s) {sorted(unknown)}; choose from {sorted(MUTATIONS)}")
    caught_all = True
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        shutil.copytree(ROOT / "tests", where / "tests")
        shutil.copy(ROOT / "pyproject.toml", where)
        for name in names or list(MUTATIONS):
            path, original, mutated, tests = MUTATIONS[name]
            shutil.rmtree(where / "lattn_jax", ignore_errors=True)
            shutil.copytree(ROOT / "lattn_jax", where / "lattn_jax")
            target = where / path
            source = target.read_text()
            if source.count(original) != 1:
                sys.exit(f"{name}: the fragment {original!r} is not in {path} exactly once; update this script")
            code, line = run_tests(where, tests)
            if code != 0:
                sys.exit(f"{name}: {tests} fail before mutating: {line}")
            target.write_text(source.replace(original, mutated))
            start = time.perf_counter()
            code, line = run_tests(where, tests)
            caught = code != 0
            caught_all &= caught
            verdict = "CAUGHT" if caught else "MISSED"
            print(f"{verdict:6} {name:28} {' '.join(tests)} ({time.perf_counter() - start:.0f} s): {line}", flush=True)
    return 0 if caught_all else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
