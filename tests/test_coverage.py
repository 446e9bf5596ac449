"""Narrative coverage: narratives' own examples (check), near-misses and suggested variants."""

import pytest

from narrative_archive import fts, store
from narrative_archive.cli import cli
from narrative_archive.config import ConfigError, load_narratives
from narrative_archive.match import coverage, narratives
from tests.conftest import article

NARRATIVE = """\
- id: arms
  title: Russia arms the Taliban
  query: NEAR(russia* weapon* taliban*, 10)
  queries:
    ru: NEAR(росси* оружи* талиб*, 10)
  examples:
    en:
      match: [Russia sends weapons to the Taliban]
      no_match: [Moscow hosts Taliban peace talks]
    ru:
      match: [Россия поставляет оружие талибам]
      no_match: [В Москве прошли переговоры с талибами]
  lexicon:
    en: {actor: [russia*, moscow], target: [taliban*], act: [weapon*, arm]}
"""


def write_narratives(config_dir, text):
    (config_dir / "narratives.yml").write_text(text)
    return config_dir / "narratives.yml"


def load(config_dir, text):
    return load_narratives(write_narratives(config_dir, text), narratives.check_query)


def test_shipped_narratives_pass_their_own_examples(default_narratives):
    for narrative in default_narratives:
        report = coverage.check_narrative(narrative)
        assert narrative.examples, f"{narrative.id} has no examples"
        assert report.ok, "\n".join(coverage.format_report(report))
        for language in report.languages:
            assert language.matched + len(language.missed) + language.no_match >= 8


def test_check_reports_precision_recall_and_failing_examples(config_dir, runner):
    text = NARRATIVE.replace("match: [Russia sends weapons to the Taliban]",
                             "match: [Russia sends weapons to the Taliban, "
                             "Kremlin accused of arming the Taleban]")
    write_narratives(config_dir, text)
    result = runner.invoke(cli, ["check", "--config", str(config_dir)])
    assert result.exit_code == 1
    assert "arms [en] FAIL precision 1.00 recall 0.50" in result.output
    assert "missed: Kremlin accused of arming the Taleban" in result.output
    assert "arms [ru] ok   precision 1.00 recall 1.00" in result.output


def test_check_uses_the_variants_like_matching_does(config_dir):
    # The Russian example matches only through the ru variant, OR-ed with the main query.
    (narrative,) = load(config_dir, NARRATIVE)
    report = coverage.check_narrative(narrative)
    assert report.ok and [lang.language for lang in report.languages] == ["en", "ru"]
    without_variant = load(config_dir, NARRATIVE.replace(
        "  queries:\n    ru: NEAR(росси* оружи* талиб*, 10)\n", ""))[0]
    report = coverage.check_narrative(without_variant)
    assert report.languages[1].missed == ("Россия поставляет оружие талибам",)


def test_check_one_narrative_passing(config_dir, runner):
    write_narratives(config_dir, NARRATIVE)
    result = runner.invoke(cli, ["check", "arms", "--config", str(config_dir)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["check", "nope", "--config", str(config_dir)])
    assert result.exit_code == 2 and "unknown narrative 'nope'" in result.output


@pytest.mark.parametrize("old, new, message", [
    ("match: [Russia sends weapons to the Taliban]", "match: [Russia sends weapons, 12]",
     "examples.en.match[1]: expected a text, got 12 (line 8)"),
    ("no_match: [Moscow hosts Taliban peace talks]", "no_match: []",
     "examples.en.no_match: expected a non-empty list of example texts (line 9)"),
    ("    ru:\n      match", "    xx:\n      match",
     "examples.xx: 'xx' is not an ISO 639-1 language code like 'en' or 'fa' (line 10)"),
    ("ru: NEAR(росси* оружи* талиб*, 10)", "ru: NEAR(росси* оружи*",
     "queries.ru: fts5: syntax error"),
    ("queries:\n    ru:", "queries:\n    russian:", "queries.russian: 'russian' is not an ISO"),
    ("act: [weapon*, arm]", "act: []", "lexicon.en.act: expected a non-empty list of terms"),
])
def test_bad_examples_name_file_narrative_key_and_line(config_dir, runner, db_path, old, new,
                                                       message):
    path = write_narratives(config_dir, NARRATIVE.replace(old, new))
    with pytest.raises(ConfigError) as error:
        load_narratives(path, narratives.check_query)
    assert str(error.value).startswith(f"{path}: narrative 'arms': ")
    assert message in str(error.value)
    result = runner.invoke(cli, ["init", "--db", str(db_path), "--config", str(config_dir)])
    assert result.exit_code == 1 and message in result.output
    assert not db_path.exists()


def test_init_warns_when_a_narrative_fails_its_examples(config_dir, runner, db_path):
    write_narratives(config_dir, NARRATIVE.replace(
        "no_match: [Moscow hosts Taliban peace talks]",
        "no_match: [Moscow hosts Taliban peace talks, Russian weapons reach the Taliban]"))
    result = runner.invoke(cli, ["init", "--db", str(db_path), "--config", str(config_dir)])
    assert result.exit_code == 0
    assert "failing their own examples: arms" in result.output


def test_near_misses_lists_articles_with_actor_and_target_that_do_not_match(
        config_dir, runner, db_path):
    write_narratives(config_dir, NARRATIVE)
    runner.invoke(cli, ["init", "--db", str(db_path), "--config", str(config_dir)])
    db = store.open_db(db_path)
    (narrative,) = load(config_dir, NARRATIVE)
    texts = {
        "match": "Russia sends weapons to the Taliban.",
        "far": "Russia, officials said on Monday after a long meeting in the capital with "
               "several delegations from neighbouring countries and agencies, was behind "
               "the weapons the Taliban used.",
        "unrelated": "The Taliban closed girls' schools in Kabul.",
    }
    for name, text in texts.items():
        article_id, _ = store.save_article(db, article(f"https://example.com/{name}", text),
                                           "example-news")
        narratives.match_article(db, article_id, [narrative])
    rows = coverage.near_misses(db, narrative)
    assert [row["url"] for row in rows] == ["https://example.com/far"]
    assert "[Russia]" in rows[0]["passage"] and "[Taliban]" in rows[0]["passage"]
    result = runner.invoke(cli, ["near-misses", "arms", "--db", str(db_path),
                                 "--config", str(config_dir)])
    assert result.exit_code == 0 and "https://example.com/far" in result.output
    assert "https://example.com/match" not in result.output


def test_near_misses_needs_a_lexicon(config_dir, runner, db_path):
    write_narratives(config_dir, NARRATIVE.split("  lexicon:")[0])
    runner.invoke(cli, ["init", "--db", str(db_path), "--config", str(config_dir)])
    result = runner.invoke(cli, ["near-misses", "arms", "--db", str(db_path),
                                 "--config", str(config_dir)])
    assert result.exit_code == 1 and "has no lexicon" in result.output


def test_suggest_drafts_a_valid_query_from_the_lexicon(config_dir, runner):
    write_narratives(config_dir, NARRATIVE)
    result = runner.invoke(cli, ["suggest", "arms", "--language", "en",
                                 "--config", str(config_dir)])
    assert result.exit_code == 0
    draft = result.output.strip()
    assert draft == ("(taliban*) AND (NEAR(russia* weapon*, 20) OR NEAR(russia* arm, 20)"
                     " OR NEAR(moscow weapon*, 20) OR NEAR(moscow arm, 20))")
    assert narratives.check_query(draft) is None
    result = runner.invoke(cli, ["suggest", "arms", "--language", "ru",
                                 "--config", str(config_dir)])
    assert result.exit_code == 1 and "no actor/target/act terms for 'ru'" in result.output


def test_shipped_lexicons_suggest_valid_queries(default_narratives):
    for narrative in default_narratives:
        for language, _ in narrative.lexicon:
            draft = coverage.suggest(narrative, language)
            assert narratives.check_query(draft) is None, (narrative.id, language, draft)


def test_check_warns_of_a_star_inside_quotes(config_dir, runner):
    """FTS5 reads a * inside a quoted phrase as a separator: "черн* ястреб*" matches neither
    "черный ястреб" nor anything but those exact words. `check` says so and how to write the
    prefix, and still passes (the query is valid)."""
    text = NARRATIVE.replace("query: NEAR(russia* weapon* taliban*, 10)",
                             'query: NEAR(russia* weapon* taliban*, 10) OR "черн* ястреб*" OR "black hawk"*')
    write_narratives(config_dir, text)
    result = runner.invoke(cli, ["check", "--config", str(config_dir)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "warning:" in line]
    assert warnings == ['arms: warning: "черн* ястреб*": a * inside quotes is no prefix in FTS5'
                        ' (it matches the words as written); as a prefix: "черн"* + "ястреб"*']
    written, suggested = '"черн* ястреб*"', '"черн"* + "ястреб"*'
    assert [bool(fts.matching_rows(["Черный ястреб упал"], query))
            for query in (written, suggested)] == [False, True]
