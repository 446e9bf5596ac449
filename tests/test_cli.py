"""The CLI through click's CliRunner: init, config errors, rematch, timeline, status."""

import csv
import io
import json

import pytest

from narrative_archive import store
from narrative_archive.cli import cli
from narrative_archive.config import load_config
from narrative_archive.match import narratives
from tests.conftest import article


def invoke(runner, *args):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_init_creates_and_reruns(runner, db_path, config_dir):
    result = invoke(runner, "init", "--db", db_path, "--config", config_dir)
    assert result.exit_code == 0, result.output
    assert "2 outlets, 7 narratives" in result.output
    assert "narrative russia-arming-taliban v1" in result.output
    again = invoke(runner, "init", "--db", db_path, "--config", config_dir)
    assert again.exit_code == 0 and "narrative russia" not in again.output  # nothing changed


def test_db_and_config_from_environment(runner, tmp_path, config_dir, monkeypatch):
    monkeypatch.setenv("NARRATIVE_ARCHIVE_DB", str(tmp_path / "env.db"))
    monkeypatch.setenv("NARRATIVE_ARCHIVE_CONFIG", str(config_dir))
    assert invoke(runner, "init").exit_code == 0
    assert (tmp_path / "env.db").exists()


BAD_QUERY = """\
- id: russia-arming-taliban
  title: Russia is arming the Taliban
  query: AND taliban
"""


@pytest.mark.parametrize("filename, content, message", [
    ("narratives.yml", BAD_QUERY,
     "narratives.yml: narrative 'russia-arming-taliban': query: fts5: syntax error near \"AND\""
     " (line 3)"),
    ("narratives.yml", "- id: n\n  title: N\n  query: taliban\n  queries:\n    ru: 'талиб* AND'\n",
     "narratives.yml: narrative 'n': queries.ru: fts5: syntax error near \"\" (line 5)"),
    ("narratives.yml", "- id: n\n  title: N\n  query: 'foo: bar'\n",
     "narratives.yml: narrative 'n': query: fts5: no such column: foo (line 3)"),
    ("narratives.yml", "- id: Bad Id\n  title: N\n  query: taliban\n",
     "narratives.yml: narrative 'Bad Id': id: must be a slug"),
    ("narratives.yml", "- id: n\n  title: N\n  query: taliban\n  since: last year\n",
     "narratives.yml: narrative 'n': since: expected a date like 2017-01-01"),
    ("narratives.yml", "- id: n\n  title: N\n  querry: taliban\n",
     "narratives.yml: narrative 'n': querry: unknown key"),
    ("narratives.yml", "- id: n\n  title: [unclosed\n",
     "narratives.yml: invalid YAML"),
    ("outlets.yml", "- id: x\n  name: X\n  url: ftp://x.org/\n",
     "outlets.yml: outlet 'x': url: not an http(s) URL: 'ftp://x.org/' (line 3)"),
    ("outlets.yml", "- id: x\n  name: X\n  url: https://x.org/\n  kind: tabloid\n",
     "outlets.yml: outlet 'x': kind: expected one of state, public"),
    ("outlets.yml", "- id: x\n  name: X\n  url: https://x.org/\n  country: Russia\n",
     "outlets.yml: outlet 'x': country: expected an ISO 3166 code"),
    ("outlets.yml", "- id: x\n  name: X\n  url: https://x.org/\n- id: x\n  name: Y\n  url: https://y.org/\n",
     "outlets.yml: outlet 'x': id: duplicate id (line 4)"),
    ("schedule.yml", "jobs:\n  - id: j\n    spider: feeds\n    every: often\n",
     "schedule.yml: job 'j': every: expected a duration like 90s, 30m, 6h or 1d, got 'often' (line 4)"),
    ("schedule.yml", "jobs:\n  - id: j\n    spider: rss\n    every: 1h\n",
     "schedule.yml: job 'j': spider: expected one of feeds, sitemaps, search, revisit (line 3)"),
    ("schedule.yml", "jobs:\n  - id: j\n    spider: feeds\n    cron: '99 * * * *'\n",
     "schedule.yml: job 'j': cron: invalid crontab expression"),
    ("schedule.yml", "jobs:\n  - id: j\n    spider: feeds\n    every: 1h\n    outlets: [nope]\n",
     "schedule.yml: job 'j': outlets: unknown outlet 'nope' (line 5)"),
])
def test_invalid_config_is_refused_and_archive_untouched(runner, db_path, config_dir,
                                                         filename, content, message):
    (config_dir / filename).write_text(content)
    result = runner.invoke(cli, ["init", "--db", str(db_path), "--config", str(config_dir)])
    assert result.exit_code != 0
    assert message in result.output
    assert not db_path.exists()


def test_config_falls_back_to_defaults_per_file(config_dir):
    config = load_config(config_dir)
    assert [o.id for o in config.outlets] == ["example-news", "example-state"]
    assert config.narrative("russia-arming-taliban").queries  # default narratives.yml
    assert {job.id for job in config.jobs} >= {"feeds", "sitemaps"}  # default schedule.yml


def test_default_config_is_valid_and_complete():
    config = load_config()
    assert len(config.outlets) >= 30
    assert {dict(n.queries).keys() >= {"ru", "uk", "ar", "fa"}
            for n in config.narratives if n.id == "russia-arming-taliban"} == {True}
    for narrative in config.narratives:
        assert narrative.description and len(narrative.description) > 60, narrative.id


@pytest.fixture
def filled(db_path, config_dir, runner):
    invoke(runner, "init", "--db", db_path, "--config", config_dir)
    db = store.open_db(db_path)
    config = load_config(config_dir)
    claim = "US commanders say Russia is arming the Taliban with machine guns."
    rows = [
        ("https://example.com/1", "2017-03-23T10:00:00Z", "example-news"),
        ("https://example.com/2", "2017-03-24T08:00:00Z", "example-news"),
        ("https://state.example.org/3", "2017-03-24T12:00:00Z", "example-state"),
        ("https://example.com/4", "2017-04-02T12:00:00Z", "example-news"),
    ]
    for url, published, outlet in rows:
        article_id, _ = store.save_article(db, article(url, claim, published_at=published), outlet)
        narratives.match_article(db, article_id, config.narratives)
    # No published date: dated by first_seen_at.
    article_id, _ = store.save_article(db, article("https://example.com/5", claim), "example-news",
                                       fetched_at="2017-05-01T00:00:00Z")
    narratives.match_article(db, article_id, config.narratives)
    return db


def test_timeline_formats(runner, db_path, config_dir, filled):
    base = ["timeline", "russia-arming-taliban", "--db", db_path]
    table = invoke(runner, *base)
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert lines[0].split() == ["day", "articles", "stories", "outlets"]
    assert lines[2].split() == ["2017-03-23", "1", "1", "1"]
    assert lines[3].split() == ["2017-03-24", "2", "2", "2"]
    assert lines[-1].split() == ["2017-05-01", "1", "1", "1"]

    rows = list(csv.DictReader(io.StringIO(invoke(runner, *base, "--format", "csv").output)))
    assert rows[1] == {"day": "2017-03-24", "articles": "2", "stories": "2", "outlets": "2"}

    weekly = json.loads(invoke(runner, *base, "--by", "week", "--format", "json").output)
    assert weekly[0] == {"week": "2017-03-20", "articles": 3, "stories": 3, "outlets": 2}
    monthly = json.loads(invoke(runner, *base, "--by", "month", "--format", "json").output)
    assert monthly == [
        {"month": "2017-03", "articles": 3, "stories": 3, "outlets": 2},
        {"month": "2017-04", "articles": 1, "stories": 1, "outlets": 1},
        {"month": "2017-05", "articles": 1, "stories": 1, "outlets": 1}]
    since = json.loads(invoke(runner, *base, "--since", "2017-04-01", "--format", "json").output)
    # every day from the first mention in range to the last, an empty one as zeros
    assert (since[0]["day"], since[-1]["day"], len(since)) == ("2017-04-02", "2017-05-01", 30)
    assert [r["day"] for r in since if r["articles"]] == ["2017-04-02", "2017-05-01"]
    assert since[1] == {"day": "2017-04-03", "articles": 0, "stories": 0, "outlets": 0}


def test_timeline_unknown_narrative(runner, db_path, filled):
    result = runner.invoke(cli, ["timeline", "nope", "--db", str(db_path)])
    assert result.exit_code != 0 and "unknown narrative 'nope'" in result.output


def test_first_seen_view(filled):
    rows = list(filled.query(
        "SELECT outlet, url FROM narrative_first_seen WHERE narrative = 'russia-arming-taliban'"
        " ORDER BY outlet"))
    assert rows == [{"outlet": "example-news", "url": "https://example.com/1"},
                    {"outlet": "example-state", "url": "https://state.example.org/3"}]


def test_rematch_command_after_editing_a_query(runner, db_path, config_dir, filled):
    (config_dir / "narratives.yml").write_text(
        "- id: russia-arming-taliban\n  title: R\n  query: NEAR(russia \"arm the taliban\", 3)"
        " AND machine\n- id: other\n  title: O\n  query: helicopter*\n")
    result = invoke(runner, "rematch", "--db", db_path, "--config", config_dir)
    assert result.exit_code == 0, result.output
    assert "russia-arming-taliban v2: 5 mentions (+0 -0)" in result.output
    assert "other v1: 0 mentions" in result.output
    only = invoke(runner, "rematch", "--db", db_path, "--config", config_dir,
                  "--narrative", "other")
    assert "russia-arming-taliban" not in only.output
    bad = runner.invoke(cli, ["rematch", "--db", str(db_path), "--config", str(config_dir),
                              "--narrative", "nope"])
    assert bad.exit_code != 0 and "unknown narrative(s): nope" in bad.output


def test_status(runner, db_path, filled):
    store.finish_run(filled, store.start_run(filled, "feeds"), "ok", pages=5)
    result = invoke(runner, "status", "--db", db_path)
    assert result.exit_code == 0
    assert "articles" in result.output and "russia-arming-taliban" in result.output
    report = json.loads(invoke(runner, "status", "--db", db_path, "--format", "json").output)
    assert report["tables"]["articles"] == 5
    mentions = {n["narrative"]: n["mentions"] for n in report["narratives"]}
    assert mentions["russia-arming-taliban"] == 5
    assert report["last_runs"][0]["spider"] == "feeds"
