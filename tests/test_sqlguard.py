"""What anonymous SQL may do on the published archive (narrative_archive.publish.sqlguard),
on plain sqlite3 connections: the Datasette tests check the same through the server."""

from __future__ import annotations

import sqlite3

import pytest

from narrative_archive.publish import sqlguard
from narrative_archive.publish.sqlguard import (
    MAX_SQL_BYTES,
    PRINTF_MAX_FIELD,
    authorize,
    check_printf_fields,
    guard_connection,
    guarded_printf,
)


@pytest.fixture
def conn(tmp_path):
    conn = sqlite3.connect(tmp_path / "archive.db")
    conn.execute("create table articles (id integer primary key, text text)")
    conn.execute("insert into articles (text) values ('Russia arms the Taliban')")
    guard_connection(conn)
    yield conn
    conn.close()


def one(conn, sql):
    return conn.execute(sql).fetchone()[0]


@pytest.mark.parametrize("sql", [
    "select length(printf('%.*c', 50000000, 'x'))",
    "select printf('%.*c', 900000000, 'x')",
    "select printf('%900000000d', 1)",
    "select format('%*c', -900000000, 'x')",
    "select length(zeroblob(900000000))",
    "select length(group_concat(printf('%.*c', 1000000, 'x'))) from "
    "(with recursive n(i) as (select 1 union all select i + 1 from n where i < 100)"
    " select i from n)",
])
# a refused printf() field is also reported as an unraisable callback error
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_no_value_can_be_huge(conn, sql):
    with pytest.raises(sqlite3.DataError, match="string or blob too big"):
        conn.execute(sql).fetchall()


def test_values_up_to_the_limit_still_read(conn):
    assert one(conn, "select text from articles") == "Russia arms the Taliban"
    assert one(conn, f"select length(zeroblob({sqlguard.MAX_VALUE_BYTES}))") \
        == sqlguard.MAX_VALUE_BYTES
    assert one(conn, f"select length(printf('%.*c', {PRINTF_MAX_FIELD}, 'x'))") \
        == PRINTF_MAX_FIELD


def test_sql_text_length_is_limited(conn):
    assert one(conn, "select 1" + " " * (MAX_SQL_BYTES - 20)) == 1
    with pytest.raises(sqlite3.DataError, match="too big|too large"):
        conn.execute("select 1" + " " * MAX_SQL_BYTES)


def test_printf_and_format_still_format(conn):
    row = conn.execute(
        "select printf('%05d|%.2f|%-4s|%q|%%|%c', 42, 3.14159, 'ab', 'it''s', 'xyz'),"
        " format('%s-%s', 'x', null), printf('%.*s', 3, 'abcdef'), printf(null),"
        " printf('%d%%', 5)").fetchone()
    assert row == ("00042|3.14|ab  |it''s|%|x", "x-", "abc", None, "5%")


@pytest.mark.parametrize("format_string, args", [
    (f"%{PRINTF_MAX_FIELD + 1}d", (1,)),
    (f"%.{PRINTF_MAX_FIELD + 1}f", (1.0,)),
    ("%-0*d", (PRINTF_MAX_FIELD + 1, 1)),
    ("%s %.*c", ("a", -(PRINTF_MAX_FIELD + 1), "x")),  # the second field's precision
    ("%*.*s", (1, PRINTF_MAX_FIELD + 1, "x")),
])
def test_wide_printf_fields_are_refused_before_sqlite_sees_them(format_string, args):
    with pytest.raises(OverflowError):
        check_printf_fields(format_string, args)
    with pytest.raises(OverflowError):
        guarded_printf(format_string, *args)


@pytest.mark.parametrize("format_string, args", [
    (f"%{PRINTF_MAX_FIELD}d", (1,)),
    ("%%%d", (PRINTF_MAX_FIELD + 1,)),  # "%%" takes no argument; the number is a value
    ("%*d", ("not a number", 1)),  # a width SQLite reads as 0
    ("%*d", ()),  # missing arguments are SQLite's business
    (None, ()),
    (42, ()),
])
def test_narrow_or_odd_printf_fields_pass(format_string, args):
    check_printf_fields(format_string, args)


def test_guarded_printf_formats_like_sqlite():
    plain = sqlite3.connect(":memory:")
    for format_string, args in (("%5.1f|%x|%s", (2.25, 255, None)), ("%c%c", ("ab", "cd")),
                                ("%,d", (1234567,)), ("%!.3g", (0.1,))):
        marks = ", ".join("?" * (len(args) + 1))
        expected = plain.execute(f"select printf({marks})", (format_string, *args)).fetchone()[0]
        assert guarded_printf(format_string, *args) == expected


@pytest.mark.parametrize("sql", [
    "select fts3_tokenizer('simple')",
    "select hex(FTS3_TOKENIZER('porter'))",
    "select fts3_tokenizer('x', zeroblob(8))",
])
def test_fts3_tokenizer_is_refused(conn, sql):
    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        conn.execute(sql)


def test_the_file_path_reads_as_null(conn, tmp_path):
    for sql in ("select * from pragma_database_list", "select file from pragma_database_list()",
                "select group_concat(file) as file from PRAGMA_DATABASE_LIST"):
        cursor = conn.execute(sql)
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor]
        assert rows and all(not row["file"] for row in rows), sql
    assert one(conn, "select name from pragma_database_list") == "main"


def test_the_authorizer_lets_everything_else_through():
    ok = sqlite3.SQLITE_OK
    assert authorize(sqlite3.SQLITE_FUNCTION, None, "highlight", None, None) == ok
    assert authorize(sqlite3.SQLITE_READ, "articles", "file", "main", None) == ok
    assert authorize(sqlite3.SQLITE_READ, "pragma_database_list", "name", "main", None) == ok
    assert authorize(sqlite3.SQLITE_SELECT, None, None, None, None) == ok
