"""The project as a Scrapyd egg: setuptools' bdist_egg over a copy of the package.

`scrapyd-deploy --build-egg` writes a setup.py into the project root and runs
`setup.py bdist_egg` there; this project is pyproject-only and maps spiders/ and
scheduler/ into the package (package-dir), so the same step runs here over a copy
with the mapping spelled out, and the root is left as it is. The egg's `scrapy`
entry point names the settings module Scrapyd's runner loads.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SETTINGS_MODULE = "narrative_archive.crawl.settings"
SOURCES = {"narrative_archive": "narrative_archive", "spiders": "narrative_archive/spiders",
           "scheduler": "narrative_archive/scheduler"}

SETUP_PY = """\
from setuptools import setup

setup(
    name="narrative_archive",
    version={version!r},
    packages={packages!r},
    entry_points={{"scrapy": ["settings = {settings}"]}},
    zip_safe=True,
)
"""


def source_root() -> Path:
    """The checkout holding narrative_archive/, spiders/ and scheduler/ (an editable install)."""
    import narrative_archive

    return Path(narrative_archive.__file__).resolve().parents[1]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("narrative-archive")
    except PackageNotFoundError:
        return "0"


def build_egg(out_dir: str | Path, root: str | Path | None = None,
              python: str = sys.executable) -> Path:
    """Build the egg into `out_dir`; return its path. CalledProcessError names a failed build."""
    root = Path(root) if root else source_root()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="narrative-archive-egg-") as tmp:
        work = Path(tmp)
        for source, target in SOURCES.items():
            if not (root / source).is_dir():  # an installed package holds them already
                continue
            shutil.copytree(root / source, work / target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        packages = sorted(str(p.parent.relative_to(work)).replace("/", ".")
                          for p in work.rglob("__init__.py"))
        (work / "setup.py").write_text(SETUP_PY.format(
            version=_version(), packages=packages, settings=SETTINGS_MODULE))
        subprocess.run([python, "setup.py", "-q", "bdist_egg", "-d", str(work / "dist")],
                       cwd=work, check=True, capture_output=True)
        egg = next((work / "dist").glob("*.egg"))
        built = out_dir / egg.name
        shutil.copyfile(egg, built)
    return built
