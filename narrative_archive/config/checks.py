"""Checks of single values: hosts, URLs, domains, dates, entry ids."""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from narrative_archive.config.model import SLUG, ConfigError

HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def valid_host(host: str) -> bool:
    """An IP address or a DNS name (IDNA allowed): no spaces, no empty or odd labels."""
    if is_ip(host):
        return True
    try:
        name = host.removesuffix(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return False
    return all(HOST_LABEL.match(label) for label in name.split("."))


def url_problem(value: str) -> str | None:
    """Why `value` is not a usable http(s) URL, or None when it is one."""
    try:
        parts = urlsplit(value)
        host, _ = parts.hostname, parts.port  # .port raises for a port that is not a number
    except ValueError as error:
        return f"not a valid URL ({error}): {value!r}"
    if parts.scheme not in ("http", "https") or not host:
        return f"not an http(s) URL: {value!r}"
    if not valid_host(host):
        return f"not a valid host name {host!r} in {value!r}"
    return None


@cache
def _public_suffixes():
    import tldextract

    # The list tldextract ships: no download, no cache written.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def domain_problem(domain: str) -> str | None:
    """Why an outlet cannot claim `domain`, or None. IP addresses and localhost (test sites) pass."""
    if is_ip(domain) or domain == "localhost":
        return None
    if not valid_host(domain):
        return f"not a domain name: {domain!r} (give the host only, like rt.com)"
    parts = _public_suffixes()(domain)
    if "." not in domain or (parts.suffix and not parts.domain):
        return (f"{domain!r} is not a registrable domain (a public suffix like com or co.uk "
                "covers every site under it)")
    return None


def check_date(value: Any) -> str | None:
    """ISO date (YYYY-MM-DD) as a string, or None when it is not one."""
    if isinstance(value, date):
        return value.isoformat()[:10]
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        return None


def check_ids(path: Path, kind: str, index: int, line: int, value, seen: set[str]) -> str:
    label = f"{kind} {value!r}" if value else f"{kind} {index}"
    if not isinstance(value, str) or not SLUG.match(value):
        raise ConfigError(path, label, "id: must be a slug of a-z, 0-9 and '-'", line)
    if value in seen:
        raise ConfigError(path, label, "id: duplicate id", line)
    seen.add(value)
    return label


