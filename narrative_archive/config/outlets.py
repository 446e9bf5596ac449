"""outlets.yml."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from narrative_archive.config.checks import check_ids, domain_problem, is_ip, url_problem
from narrative_archive.config.model import OUTLET_KINDS, ConfigError, Outlet
from narrative_archive.config.yamlfile import Entries, Entry

OUTLET_KEYS = (
    "id", "name", "url", "domains", "country", "language", "kind", "owner",
    "state_affiliated", "feeds", "sitemaps", "notes",
)


def load_outlets(path: Path) -> tuple[Outlet, ...]:
    outlets, seen = [], set[str]()
    claimed: dict[str, tuple[str, int]] = {}  # domain -> (outlet label, line)
    for index, line, data, lines in Entries(path, "outlet"):
        label = check_ids(path, "outlet", index, lines.get("id", line), data.get("id"), seen)
        e = Entry(path, label, data, lines, line, OUTLET_KEYS)
        url = e.get("url", required=True)
        problem = url_problem(url)
        if problem:
            e.fail("url", problem)
        domains_key = "domains" if e.strings("domains") else "url"
        domains = e.strings("domains") or (urlsplit(url).hostname,)
        domains = tuple(d.lower().removeprefix("www.") for d in domains)
        for domain in domains:
            problem = domain_problem(domain)
            if problem:
                e.fail(domains_key, problem)
            if domain in claimed and not (is_ip(domain) or domain == "localhost"):
                other, other_line = claimed[domain]
                e.fail(domains_key, f"{domain!r} is already claimed by {other} (line "
                       f"{other_line}): keep one outlet per domain")
            claimed.setdefault(domain, (label, line))
        country = e.get("country")
        if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
            e.fail("country", f"expected an ISO 3166 code like 'US', got {country!r}")
        language = e.get("language")
        if language is not None and not re.fullmatch(r"[a-z]{2}", language):
            e.fail("language", f"expected an ISO 639-1 code like 'en', got {language!r}")
        kind = e.get("kind")
        if kind is not None and kind not in OUTLET_KINDS:
            e.fail("kind", f"expected one of {', '.join(OUTLET_KINDS)}, got {kind!r}")
        outlets.append(Outlet(
            id=data["id"], name=e.get("name", required=True), url=url, domains=domains,
            country=country, language=language, kind=kind, owner=e.get("owner"),
            state_affiliated=e.get("state_affiliated", bool, default=False),
            feeds=e.urls("feeds"), sitemaps=e.urls("sitemaps"), notes=e.get("notes"),
        ))
    if not outlets:
        raise ConfigError(path, None, "no outlets: list at least one (the shipped "
                          "config/outlets.yml shows the format)")
    return tuple(outlets)


