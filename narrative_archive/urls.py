"""Which site a URL belongs to, and whether a page's claimed canonical URL can be believed.

A page names its canonical URL itself (<link rel=canonical>, og:url), so any
page could claim to be another outlet's article. A claim is believed only
within the page's own registrable domain (the Public Suffix List's "domain
under a public suffix": www.bbc.co.uk → bbc.co.uk, a.blogspot.com stays whole)
or the domains its outlet owns in outlets.yml.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

# The Public Suffix List snapshot shipped with tldextract: never fetched at run time.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None,
                                 include_psl_private_domains=True)


def host_of(url: str) -> str:
    """The lowercase host of a URL, without a trailing dot ('' when there is none)."""
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


@lru_cache(maxsize=4096)
def _registrable(host: str) -> str:
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    parts = _EXTRACT(host)
    if parts.suffix:
        return f"{parts.domain}.{parts.suffix}" if parts.domain else host
    # A suffix the list does not know (an intranet, a .test fixture): its last label is one.
    return ".".join(host.split(".")[-2:])


def registrable_domain(url: str) -> str:
    """The domain a URL's owner registered: www.bbc.co.uk → bbc.co.uk ('' for no host)."""
    host = host_of(url)
    return _registrable(host) if host else ""


def _under(host: str, domains: Iterable[str]) -> bool:
    for domain in domains:
        domain = domain.lower().rstrip(".").removeprefix("www.")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


def trusted_canonical(page_url: str, canonical_url: str, outlet_domains: Iterable[str] = ()) -> bool:
    """Whether a page at `page_url` may name `canonical_url` as its canonical URL: the same
    registrable domain, or a domain the page's outlet owns (when the page is on one too)."""
    page_host, canonical_host = host_of(page_url), host_of(canonical_url)
    if not page_host or not canonical_host:
        return False
    if _registrable(page_host) == _registrable(canonical_host):
        return True
    domains = tuple(outlet_domains)
    return _under(page_host, domains) and _under(canonical_host, domains)
