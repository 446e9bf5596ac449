"""Imported before sqlite_utils (by store/__init__): sqlite_utils imports numpy when it is
installed, only to know the column types of numpy values, which the archive never
inserts. numpy (installed for the extraction workers) cost every process that opens the
archive 17 MiB and 0.1 s: the crawl process, the CLI, the writer. It is hidden while
sqlite_utils loads, then importable again for whoever needs it."""

import sys

if "sqlite_utils.db" not in sys.modules and "numpy" not in sys.modules:
    sys.modules["numpy"] = None  # type: ignore[assignment]  # `import numpy` raises ImportError
    try:
        import sqlite_utils.db  # noqa: F401
    finally:
        del sys.modules["numpy"]
