"""Default locations: the archive file, the config folder, the captures beside the archive."""

from __future__ import annotations

from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_DIR = REPO_DIR / "config"  # --config, NARRATIVE_ARCHIVE_CONFIG
DATASETTE_DIR = REPO_DIR / "datasette"
DEFAULT_DB = "archive.db"  # --db, NARRATIVE_ARCHIVE_DB


def captures_dir(db_path: str | Path, captures: str | Path | None = None,
                 capture: bool = True) -> Path | None:
    """Where an archive's WARC files go: `captures`, else `captures/` beside the archive;
    None when capture is off."""
    if not capture:
        return None
    return Path(captures) if captures else Path(db_path).absolute().parent / "captures"
