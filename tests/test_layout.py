"""The package's layout: each module imports alone (no import cycles)."""

from __future__ import annotations

import ast
import json
import os
import re
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
    # a relative PYTHONPATH entry ("PYTHONPATH=.") names the directory pytest started in, not
    # tests/: else a worktree's new module would be looked for in the installed checkout
    paths = [str(Path(entry).resolve()) for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep)
             if entry]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)} if paths else None
    result = subprocess.run([sys.executable, "-c", IMPORT_EACH_ALONE], input=json.dumps(MODULES),
                            capture_output=True, text=True, cwd=ROOT / "tests", timeout=300,
                            env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_package_has_its_modules():
    assert {"narrative_archive.fts", "narrative_archive.crawl.items", "narrative_archive.times",
            "narrative_archive.spiders.base", "narrative_archive.scheduler.triggers"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_alone(import_errors, module):
    assert module not in import_errors, import_errors.get(module)


# --- SQL lives in the archive module --------------------------------------------------

# Where SQL may run outside narrative_archive/store/, and why. A file listed with None
# may run any; otherwise only on lines holding one of the fragments given.
SQL_ALLOWED: dict[str, tuple[str, ...] | None] = {
    # the FTS5 leaf: in-memory articles_fts tables (query checks, the ingest matcher,
    # a narrative's examples), never the archive
    "narrative_archive/fts.py": None,
    # the demo's screenshots (a script, like benchmarks/): picks pages to shoot
    "datasette/demo_screenshots.py": ("SELECT article_id FROM mention_articles", "db.execute("),
    # the published archive's SQL guard: printf() in a private in-memory connection, for
    # the bounded printf SQL function the guard plugin registers
    "narrative_archive/publish/sqlguard.py": ('conn.execute(f"select printf(',),
    # Datasette performance: PRAGMAs on Datasette's connections and the export's own
    # read-only one; the count and page of Datasette's own ?_search= SQL rewritten to
    # read the FTS index (the plugin rewrites Datasette's queries, so it holds them)
    "datasette/plugins/narrative_archive_perf.py": (
        'conn.execute(f"PRAGMA ', "await super().execute(FTS_COUNT",
        'await super().execute("select max(id)', "return await super().execute(sql"),
}
SQL_SOURCES = ("narrative_archive", "spiders", "scheduler", "datasette")
SQL_CALLS = {"execute", "executemany", "executescript", "query"}
SQL_TEXT = [re.compile(pattern) for pattern in (
    r"\bINSERT\s+(OR\s+\w+\s+)?INTO\b", r"\bSELECT\b[\s\S]*?\bFROM\b",
    r"\bUPDATE\s+\w+\s+SET\b", r"\bDELETE\s+FROM\b")]


def _text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "?"
                       for part in node.values)
    return None


def sql_outside_the_archive_module(root: Path = ROOT) -> list[str]:
    """file:line: what, for every SQL call or statement outside narrative_archive/store/."""
    found = []
    for top in SQL_SOURCES:
        for path in sorted((root / top).rglob("*.py")):
            name = path.relative_to(root).as_posix()
            if name.startswith("narrative_archive/store/") or SQL_ALLOWED.get(name, ()) is None:
                continue
            source = path.read_text(encoding="utf-8")
            lines, tree = source.splitlines(), ast.parse(source)
            docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                          if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                               ast.AsyncFunctionDef))
                          and node.body and isinstance(node.body[0], ast.Expr)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr in SQL_CALLS:
                    what = f".{node.func.attr}("
                elif id(node) not in docstrings and (text := _text(node)) \
                        and any(pattern.search(text) for pattern in SQL_TEXT):
                    what = " ".join(text.split())[:60]
                else:
                    continue
                line = lines[node.lineno - 1]
                if any(fragment in line for fragment in SQL_ALLOWED.get(name, ())):
                    continue
                found.append(f"{name}:{node.lineno}: {what}")
    return found


def test_sql_only_in_the_archive_module():
    """Every read and write of an archive table goes through narrative_archive.store."""
    assert sql_outside_the_archive_module() == []


def test_the_sql_scan_names_file_and_line(tmp_path):
    (tmp_path / "narrative_archive" / "store").mkdir(parents=True)
    (tmp_path / "narrative_archive" / "store" / "runs.py").write_text(
        'def ok(db):\n    return db.execute("SELECT id FROM crawl_runs")\n')
    (tmp_path / "narrative_archive" / "status.py").write_text(
        '"""SELECT x FROM y in a docstring is prose."""\n\n\ndef f(db):\n'
        '    return db.execute(\n        "SELECT id FROM articles"\n        " WHERE id = ?")\n')
    assert sql_outside_the_archive_module(tmp_path) == [
        "narrative_archive/status.py:5: .execute(",
        "narrative_archive/status.py:6: SELECT id FROM articles WHERE id = ?"]


# --- the data flow: which stage may import which ------------------------------------

LEAVES = {"paths", "times", "urls", "fts", "ftsgate", "ftsparse", "searchbox", "cron", "processes"}
# What each part of the package may import besides the leaves and itself. Stages import
# down the flow (crawl -> capture, extract, store, match, analysis); store is the one
# place that knows the schema, so every stage after config may use it; nothing imports
# upwards (a spider never imports the scheduler, publish never imports crawl).
MAY_IMPORT: dict[str, set[str]] = {
    "config": set(),
    "extract": set(),
    "capture": set(),
    "store": set(),
    "analysis": {"config", "store"},
    "match": {"config", "store", "analysis"},
    "sources": {"config"},
    "publish": {"config", "store", "capture"},
    "crawl": {"config", "store", "extract", "capture", "analysis", "match", "sources"},
    "ingest": {"config", "store", "extract", "capture", "analysis", "match"},
    "spiders": {"config", "crawl", "sources", "extract"},
    "scheduler": {"config", "store", "crawl", "publish"},
    "fleet": {"config", "store", "crawl", "capture", "ingest", "scheduler"},
    "cli": {"config", "store", "extract", "capture", "analysis", "match", "sources", "crawl",
            "ingest", "spiders", "publish", "scheduler", "fleet"},
    "__main__": {"cli"},
}
KNOWN_UPWARD: set[tuple[str, str]] = set()  # none: keep it that way


def part_of(module: str) -> str:
    """narrative_archive.crawl.run -> crawl; narrative_archive.times -> times."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports_against_the_flow(dirs: dict[str, Path] = PACKAGE_DIRS) -> list[str]:
    """module -> imported module, for every import of the package that its part may not make."""
    found = []
    for package, directory in dirs.items():
        for path in sorted(directory.rglob("*.py")):
            parts = path.relative_to(directory).with_suffix("").parts
            module = ".".join((package, *(parts[:-1] if parts[-1] == "__init__" else parts)))
            here = part_of(module)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.ImportFrom) or not node.module \
                        or not node.module.startswith("narrative_archive"):
                    continue
                targets = [node.module] if node.module != "narrative_archive" else \
                    [f"narrative_archive.{alias.name}" for alias in node.names]
                for target in targets:
                    there = part_of(target)
                    if there == here or there in LEAVES or (here, there) in KNOWN_UPWARD:
                        continue
                    if here in LEAVES or there not in MAY_IMPORT.get(here, set()):
                        found.append(f"{module} -> {target}")
    return found


def test_imports_run_down_the_flow():
    assert imports_against_the_flow() == []


def test_every_part_has_a_rule():
    parts = {part_of(m) for m in MODULES} | {"spiders", "scheduler"}
    assert parts - LEAVES - set(MAY_IMPORT) - {"narrative_archive"} == set()


# --- small modules --------------------------------------------------------------------

MAX_LINES = 450
KNOWN_LONG: set[str] = set()  # none: keep it that way


def test_no_module_over_450_lines():
    long = [f"{path.relative_to(ROOT).as_posix()}: {lines}"
            for top in ("narrative_archive", "spiders", "scheduler", "datasette")
            for path in sorted((ROOT / top).rglob("*.py"))
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
            and path.relative_to(ROOT).as_posix() not in KNOWN_LONG]
    assert long == []


def test_every_package_is_in_the_distribution():
    """pyproject lists packages by name: a new subpackage left out of it is missing from
    the wheel (an editable install still finds it, so nothing else would fail)."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
                 ["tool"]["setuptools"]["packages"])
    top = ROOT / "narrative_archive"
    packages = {".".join(("narrative_archive", *init.parent.relative_to(top).parts))
                for init in top.rglob("__init__.py")}
    assert packages - listed == set()
