"""Every response as a WARC record: the captures directory (paths), writing (writer),
reading back (reader), WACZ packages (wacz); the Scrapy middleware (middleware) is
loaded by the crawl's settings, not from here.

The names the next stages call are exported here: `from narrative_archive.capture
import read_record`.
"""

from narrative_archive.capture.paths import (
    CaptureDirError,
    CaptureError,
    UnsafePath,
    check_captures_dir,
    safe_path,
)
from narrative_archive.capture.reader import (
    CaptureProblem,
    ReadRecord,
    StoredRecord,
    UnreadableRecord,
    decode_body,
    header,
    iter_records,
    read_record,
    record_bytes,
    request_after,
    stored_record,
)
from narrative_archive.capture.wacz import export_wacz
from narrative_archive.capture.writer import (
    DEFAULT_GZIP_LEVEL,
    DEFAULT_MAX_BYTES,
    BuiltPair,
    CaptureRecord,
    CaptureWriter,
    build_pair,
)

__all__ = [
    "DEFAULT_GZIP_LEVEL",
    "DEFAULT_MAX_BYTES",
    "BuiltPair",
    "CaptureDirError",
    "CaptureError",
    "CaptureProblem",
    "CaptureRecord",
    "CaptureWriter",
    "ReadRecord",
    "StoredRecord",
    "UnreadableRecord",
    "UnsafePath",
    "build_pair",
    "check_captures_dir",
    "decode_body",
    "export_wacz",
    "header",
    "iter_records",
    "read_record",
    "record_bytes",
    "request_after",
    "safe_path",
    "stored_record",
]
