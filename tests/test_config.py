"""Config validation: every broken file gets an error naming file, entry, key and line.

Each case writes one broken file into a user config directory (the others fall
back to the test outlets and the shipped defaults) and runs `init`: it must
exit non-zero with the message and leave no archive behind.
"""

import json

import pytest
from scrapy.settings import Settings

from narrative_archive.cli import cli
from narrative_archive.config import load_config
from narrative_archive.crawl.settings_check import check_setting

OUTLET = "- id: x\n  name: X\n  url: https://x.org/\n"


def job(*lines: str, defaults: str = "") -> str:
    """A schedule.yml with one job 'j' (spider feeds) and these extra lines."""
    body = "".join(f"    {line}\n" for line in lines)
    return f"{defaults}jobs:\n  - id: j\n    spider: feeds\n{body}"


BROKEN = [
    # --- inputs that ended in a traceback
    pytest.param("outlets.yml", "- id: x\n  name: X\n  url: http://[::1\n",
                 "outlets.yml: outlet 'x': url: not a valid URL (Invalid IPv6 URL): "
                 "'http://[::1' (line 3)", id="ipv6-url"),
    pytest.param("narratives.yml", "- id: n\n  title: N\n  query: taliban\n  since: 2017-13-01\n",
                 "narratives.yml: narrative 'n': since: expected a date like 2017-01-01, "
                 "got '2017-13-01' (line 4)", id="impossible-date"),
    pytest.param("outlets.yml", OUTLET + "  feeds: ['https://exa mple.com/rss']\n",
                 "outlets.yml: outlet 'x': feeds: not a valid host name 'exa mple.com' in "
                 "'https://exa mple.com/rss' (line 4)", id="space-in-feed-host"),
    pytest.param("schedule.yml",
                 "jobs:\n  - id: search\n    spider: search\n    every: 2h\n"
                 "    per_narrative: true\n"
                 "  - id: search-russia-arming-taliban\n    spider: search\n    every: 1h\n",
                 "schedule.yml: job 'search-russia-arming-taliban': id: "
                 "'search-russia-arming-taliban' is already taken by per_narrative of job "
                 "'search' (line 2); rename one (line 6)", id="per-narrative-id-collision"),
    pytest.param("schedule.yml",
                 "jobs:\n  - id: search-russia-arming-taliban\n    spider: search\n    every: 1h\n"
                 "  - id: search\n    spider: search\n    every: 2h\n    per_narrative: true\n",
                 "schedule.yml: job 'search': per_narrative: makes job "
                 "'search-russia-arming-taliban', an id already taken by job "
                 "'search-russia-arming-taliban' (line 2); rename one (line 8)",
                 id="per-narrative-id-collision-after"),
    # --- inputs that were accepted silently
    pytest.param("outlets.yml", OUTLET + "  name: Y\n",
                 "outlets.yml: outlet 'x': name: duplicate key (line 4)", id="duplicate-key"),
    pytest.param("narratives.yml",
                 "- id: n\n  title: N\n  query: taliban\n  queries:\n    ru: талиб*\n"
                 "    ru: москв*\n",
                 "narratives.yml: narrative 'n': ru: duplicate key (line 6)",
                 id="duplicate-nested-key"),
    pytest.param("schedule.yml", "jobs: []\njobs:\n  - id: j\n    spider: feeds\n    every: 1h\n",
                 "schedule.yml: jobs: duplicate key (line 2)", id="duplicate-top-key"),
    pytest.param("schedule.yml", "job:\n  - id: j\n    spider: feeds\n    every: 1h\n",
                 "schedule.yml: job: unknown key (expected one of: defaults, jobs, nodes, batches) (line 1)",
                 id="job-instead-of-jobs"),
    pytest.param("schedule.yml", job("every: 1h", defaults="defaults:\n  timout: 2h\n"),
                 "schedule.yml: defaults: timout: unknown key (expected one of: jitter, "
                 "timeout) (line 2)", id="unknown-defaults-key"),
    pytest.param("schedule.yml", job("every: 1h", "limit: -5"),
                 "schedule.yml: job 'j': limit: expected a number of pages above 0, got -5 "
                 "(line 5)", id="negative-limit"),
    pytest.param("schedule.yml", job("every: 1h", "limit: true"),
                 "schedule.yml: job 'j': limit: expected a number of pages above 0, got True "
                 "(line 5)", id="bool-limit"),
    pytest.param("schedule.yml", job("every: 1h", "settings:", "  DOWNLOAD_DELAY: abc"),
                 "schedule.yml: job 'j': settings.DOWNLOAD_DELAY: expected a number (the "
                 "default is 1.0), got 'abc' (line 6)", id="scrapy-setting-type"),
    pytest.param("schedule.yml", job("every: 1h", "settings: {ROBOTSTXT_OBEY: maybe}"),
                 "schedule.yml: job 'j': settings.ROBOTSTXT_OBEY: expected true or false",
                 id="scrapy-bool-setting"),
    pytest.param("outlets.yml", OUTLET + "  domains: [com]\n",
                 "outlets.yml: outlet 'x': domains: 'com' is not a registrable domain",
                 id="domain-com"),
    pytest.param("outlets.yml", OUTLET + "  domains: [co.uk]\n",
                 "outlets.yml: outlet 'x': domains: 'co.uk' is not a registrable domain "
                 "(a public suffix", id="domain-public-suffix"),
    pytest.param("outlets.yml", OUTLET + "  domains: ['https://x.org/']\n",
                 "outlets.yml: outlet 'x': domains: not a domain name: 'https://x.org/'",
                 id="domain-as-url"),
    pytest.param("outlets.yml", OUTLET + "- id: y\n  name: Y\n  url: https://y.org/\n"
                 "  domains: [y.org, x.org]\n",
                 "outlets.yml: outlet 'y': domains: 'x.org' is already claimed by outlet 'x' "
                 "(line 1): keep one outlet per domain (line 7)", id="domain-claimed-twice"),
    pytest.param("outlets.yml", OUTLET + "- id: y\n  name: Y\n  url: https://www.x.org/news\n",
                 "outlets.yml: outlet 'y': url: 'x.org' is already claimed by outlet 'x'",
                 id="domain-claimed-twice-through-url"),
    pytest.param("schedule.yml", job("cron: '0 0 31 2 *'"),
                 "schedule.yml: job 'j': cron: '0 0 31 2 *' never fires: no date has that day "
                 "in that month (line 4)", id="cron-never-fires"),
    pytest.param("schedule.yml", job("cron: '0 0 * *'"),
                 "schedule.yml: job 'j': cron: invalid crontab expression: expected 5 fields",
                 id="cron-four-fields"),
    pytest.param("schedule.yml", job("every: 1"),
                 "schedule.yml: job 'j': every: 1 has no unit: write 1s, 1m, 1h or 1d (line 4)",
                 id="every-without-unit"),
    pytest.param("schedule.yml", job("every: 0s"),
                 "schedule.yml: job 'j': every: must be longer than 0", id="every-zero"),
    pytest.param("outlets.yml", "# nothing here yet\n",
                 "outlets.yml: no outlets: list at least one", id="empty-outlets"),
    pytest.param("outlets.yml", "[]\n", "outlets.yml: no outlets", id="empty-outlets-list"),
    # --- a task job (task: stance-encoder) is not a crawl
    pytest.param("schedule.yml", job("task: stance-encoder", "every: 6h"),
                 "schedule.yml: job 'j': give exactly one of 'spider' (a crawl) and 'task' "
                 "(stance-encoder, narrative-layer)", id="spider-and-task"),
    pytest.param("schedule.yml", "jobs:\n  - id: t\n    task: stance-reader\n    every: 6h\n",
                 "schedule.yml: job 't': task: expected one of stance-encoder, narrative-layer (line 3)",
                 id="unknown-task"),
    pytest.param("schedule.yml", "jobs:\n  - id: t\n    task: stance-encoder\n    every: 6h\n"
                 "    since: 2d\n",
                 "schedule.yml: job 't': since: a task job takes no 'since' (it is not a crawl) "
                 "(line 5)", id="task-with-crawl-key"),
    # --- an error in defaults names defaults and its line, not the first job
    pytest.param("schedule.yml", job("every: 1h", defaults="defaults:\n  timeout: forever\n"),
                 "schedule.yml: defaults: timeout: expected a duration like 1h, got 'forever' "
                 "(line 2)", id="defaults-error-blames-defaults"),
]


@pytest.mark.parametrize("filename, content, message", BROKEN)
def test_broken_config_is_refused_and_archive_untouched(runner, db_path, config_dir,
                                                        filename, content, message):
    (config_dir / filename).write_text(content)
    result = runner.invoke(cli, ["init", "--db", str(db_path), "--config", str(config_dir)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert message in result.output
    assert not db_path.exists()


def test_schedule_refuses_a_colliding_per_narrative_job(runner, db_path, config_dir):
    (config_dir / "schedule.yml").write_text(BROKEN[3].values[1])
    result = runner.invoke(cli, ["schedule", "--db", str(db_path), "--config", str(config_dir)])
    assert result.exit_code == 1 and "is already taken by per_narrative" in result.output
    assert not db_path.exists()


def write(config_dir, filename, content):
    (config_dir / filename).write_text(content)
    return load_config(config_dir, check_setting=check_setting)


@pytest.mark.parametrize("jitter", ["0", "0s", "0m", "90s"])
def test_jitter_zero_with_or_without_a_unit(config_dir, jitter):
    config = write(config_dir, "schedule.yml", job("every: 1h", f"jitter: {jitter}"))
    assert config.jobs[0].jitter == (90 if jitter == "90s" else 0)


def test_defaults_apply_to_jobs_that_do_not_override_them(config_dir):
    config = write(config_dir, "schedule.yml",
                   job("every: 1h", defaults="defaults:\n  jitter: 0s\n  timeout: 2h\n")
                   + "  - id: k\n    spider: feeds\n    every: 1h\n    timeout: 10m\n")
    assert [(j.id, j.jitter, j.timeout) for j in config.jobs] == [("j", 0, 7200), ("k", 0, 600)]


def test_a_task_job_runs_its_command_not_a_crawl(config_dir):
    config = write(config_dir, "schedule.yml",
                   "jobs:\n  - id: reader\n    task: stance-encoder\n    every: 6h\n")
    [task] = config.jobs
    assert task.task and task.spider == "stance-encoder" and task.every == 6 * 3600
    assert task.command_args() == ["analyse", "--stance", "--encoder", "--unread"]


def test_cron_day_seven_is_sunday_as_in_crontab(config_dir):
    config = write(config_dir, "schedule.yml", job("cron: '0 6 * * 7'"))
    assert config.jobs[0].cron == "0 6 * * 7"


def test_unknown_scrapy_setting_is_a_warning_on_stderr(runner, db_path, config_dir):
    (config_dir / "schedule.yml").write_text(job("every: 1h", "settings:",
                                                 "  DOWNLAOD_DELAY: 2"))
    result = runner.invoke(cli, ["init", "--db", str(db_path), "--config", str(config_dir)])
    assert result.exit_code == 0, result.output
    assert ("schedule.yml: job 'j': settings.DOWNLAOD_DELAY: not a setting Scrapy or narrative-archive "
            "knows; check the spelling (line 6)") in result.stderr
    assert db_path.exists()


def test_job_settings_reach_scrapy_as_the_values_written(config_dir):
    """A mapping or list setting is passed so Scrapy's getdict/getlist read it back."""
    [only] = write(config_dir, "schedule.yml", job(
        "every: 1h", "settings:", "  DOWNLOAD_SLOTS: {x.org: {delay: 3}}",
        "  RETRY_HTTP_CODES: [500, 503]", "  ROBOTSTXT_OBEY: false", "  DOWNLOAD_DELAY: 2.5",
        "  AUTOTHROTTLE_ENABLED: 0",
    )).jobs
    args = only.crawl_args()
    overrides = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "-s")
    settings = Settings(overrides)
    assert settings.getdict("DOWNLOAD_SLOTS") == {"x.org": {"delay": 3}}
    assert [int(c) for c in settings.getlist("RETRY_HTTP_CODES")] == [500, 503]
    assert settings.getbool("ROBOTSTXT_OBEY") is False
    assert settings.getfloat("DOWNLOAD_DELAY") == 2.5
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is False
    assert json.loads(overrides["DOWNLOAD_SLOTS"]) == {"x.org": {"delay": 3}}


def test_yaml_merge_keys_are_not_duplicates(config_dir):
    config = write(config_dir, "outlets.yml", "- &base\n  id: a\n  name: A\n  url: https://a.org/\n"
                   "  country: US\n- <<: *base\n  id: b\n  url: https://b.org/\n")
    assert [(o.id, o.country, o.domains) for o in config.outlets] == [
        ("a", "US", ("a.org",)), ("b", "US", ("b.org",))]


def test_local_test_sites_may_share_an_ip_address(config_dir):
    """Outlets of a local fixture server all live on 127.0.0.1; that is not a mistake."""
    config = write(config_dir, "outlets.yml",
                   "- id: a\n  name: A\n  url: http://127.0.0.1:8080/a/\n"
                   "- id: b\n  name: B\n  url: http://127.0.0.1:8080/b/\n"
                   "- id: c\n  name: C\n  url: http://tass.test/\n")
    assert [o.domains for o in config.outlets] == [("127.0.0.1",), ("127.0.0.1",), ("tass.test",)]

