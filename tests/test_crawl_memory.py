"""What the crawl's processes load: their fixed cost is counted once per process in the
tree's RSS (docs/reliability.md, "the processes' fixed cost"), so heavy modules nobody
uses stay out. Each check runs in a fresh interpreter."""

import os
import subprocess
import sys


def loaded_after(code: str, env_extra: dict | None = None) -> set[str]:
    env = {**os.environ, **(env_extra or {})}
    result = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sys.modules))"],
                            capture_output=True, text=True, env=env, check=True)
    return set(result.stdout.split())


def test_the_crawl_process_loads_neither_numpy_nor_extraction():
    loaded = loaded_after("import narrative_archive.crawl.run")
    assert "sqlite_utils" in loaded
    assert not {"numpy", "trafilatura", "py3langid", "scipy", "datasketch"} & loaded


def test_a_warm_worker_loads_no_scipy_and_maps_the_language_model(tmp_path):
    loaded = loaded_after(
        "from narrative_archive.crawl import workers\n"
        "workers.warm_up()\n"
        "from narrative_archive.extract import language\n"
        "assert isinstance(language._language_identifier().tk_nextmove, memoryview)\n"
        "import numpy\n",  # hidden from sqlite_utils only, importable afterwards
        {"XDG_CACHE_HOME": str(tmp_path)})
    assert {"trafilatura", "numpy"} <= loaded
    assert not {"scipy", "datasketch"} & loaded
