"""The package's layout: each module imports alone (no import cycles)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Where each part of the package lives in the repository (pyproject's package-dir).
PACKAGE_DIRS = {"narrative_archive": ROOT / "narrative_archive",
                "narrative_archive.spiders": ROOT / "spiders",
                "narrative_archive.scheduler": ROOT / "scheduler"}


def package_modules() -> list[str]:
    """Every module of the package, by its import name."""
    names = []
    for package, directory in PACKAGE_DIRS.items():
        for path in sorted(directory.rglob("*.py")):
            parts = path.relative_to(directory).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts[:1] in (("spiders",), ("scheduler",)) or parts[-1:] == ("__main__",):
                continue  # the mapped packages are listed under their own name; __main__ runs
            names.append(".".join((package, *parts)))
    return names


MODULES = package_modules()

# Imports each module with none of the package's modules loaded before it (third-party
# ones stay, which does not hide a cycle: only the package's own import order can).
IMPORT_EACH_ALONE = """
import importlib, json, sys, traceback
errors = {}
for name in json.loads(sys.stdin.read()):
    for loaded in [m for m in sys.modules if m == "narrative_archive" or m.startswith("narrative_archive.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        errors[name] = traceback.format_exc(limit=-3)
print(json.dumps(errors))
"""


@pytest.fixture(scope="module")
def import_errors() -> dict[str, str]:
    result = subprocess.run([sys.executable, "-c", IMPORT_EACH_ALONE], input=json.dumps(MODULES),
                            capture_output=True, text=True, cwd=ROOT / "tests", timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_package_has_its_modules():
    assert {"narrative_archive.fts", "narrative_archive.items", "narrative_archive.times",
            "narrative_archive.spiders.base", "narrative_archive.scheduler.triggers"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_alone(import_errors, module):
    assert module not in import_errors, import_errors.get(module)
