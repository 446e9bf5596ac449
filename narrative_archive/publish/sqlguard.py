"""What anonymous SQL may do on the published archive: bounded, and blind to the server.

`guard_connection(conn)` sets it up on one sqlite3 connection (the Datasette plugin
calls it from prepare_connection for every connection but Datasette's own _internal):

- no string, blob or row longer than MAX_VALUE_BYTES ("string or blob too big"), and no
  SQL text longer than MAX_SQL_BYTES;
- printf() and its alias format() refuse a width or precision over PRINTF_MAX_FIELD
  before SQLite loops over it;
- the authorizer refuses fts3_tokenizer() and reads the file column of
  pragma_database_list as NULL, so no query discloses the server's file path.
"""

from __future__ import annotations

import re
import sqlite3
import threading

# Longest string or blob (and row) a query may make. Above any stored article, so every
# row still reads; far below what printf('%.*c', 900000000, 'x') would allocate.
MAX_VALUE_BYTES = 16 * 1024 * 1024
MAX_SQL_BYTES = 50_000  # the longest SQL text; ready-made queries are a few KB
# fts3_tokenizer('name') returns a C pointer; with two arguments it registers a tokenizer.
REFUSED_FUNCTIONS = {"fts3_tokenizer"}
# SQLite 3.40's printf() loops once per character of a field's width or precision, with no
# check of the time limit: printf('%.*c', 900000000, 'x') runs for seconds even when the
# result is refused as too long. Such fields are refused before SQLite sees them.
PRINTF_MAX_FIELD = 100_000
_PRINTF_FIELD = re.compile(r"%[-+ #!0,]*(\*|\d+)?(?:\.(\*|\d*))?l{0,2}(.)", re.DOTALL)
_printf_connections = threading.local()


def authorize(action, arg1, arg2, db_name, trigger):
    """sqlite3 authorizer: refuse REFUSED_FUNCTIONS, and read the file column of
    pragma_database_list as NULL (it is the server's file path)."""
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in REFUSED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    if (action == sqlite3.SQLITE_READ and (arg1 or "").lower() == "pragma_database_list"
            and (arg2 or "").lower() == "file"):
        return sqlite3.SQLITE_IGNORE
    return sqlite3.SQLITE_OK


def check_printf_fields(format_string, args) -> None:
    """Raise OverflowError (sqlite3: SQLITE_TOOBIG) when a field of the printf() format,
    or a `*` taken from args, is wider or more precise than PRINTF_MAX_FIELD."""
    if not isinstance(format_string, str):
        return
    position = 0
    for match in _PRINTF_FIELD.finditer(format_string):
        width, precision, conversion = match.groups()
        for field in (width, precision):
            if field == "*":
                value = args[position] if position < len(args) else 0
                position += 1
                try:
                    field = abs(int(value))
                except (TypeError, ValueError):
                    field = 0
            if field and int(field) > PRINTF_MAX_FIELD:
                raise OverflowError("printf field too wide")
        if conversion != "%":
            position += 1


def guarded_printf(format_string, *args):
    """SQLite's printf(format, ...) (alias format()), refusing widths and precisions above
    PRINTF_MAX_FIELD with "string or blob too big"; formatted by SQLite itself, on a private
    in-memory connection (one per thread) with the same MAX_VALUE_BYTES limit."""
    check_printf_fields(format_string, args)
    conn = getattr(_printf_connections, "conn", None)
    if conn is None:
        conn = _printf_connections.conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    marks = ", ".join("?" * (len(args) + 1))
    try:
        return conn.execute(f"select printf({marks})", (format_string, *args)).fetchone()[0]
    except sqlite3.DataError as error:
        raise OverflowError(str(error)) from None


def guard_connection(conn: sqlite3.Connection) -> None:
    """Limit what SQL run on conn may make and see (see the module's docstring)."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES)
    conn.set_authorizer(authorize)
    for name in ("printf", "format"):
        conn.create_function(name, -1, guarded_printf, deterministic=True)
