"""URLs: one spelling of each, which site one belongs to, and whether a page's claimed
canonical URL can be believed.

``canonicalize_url`` gives the spelling every table and every dedup check uses:
lowercase scheme and host, no default port, no fragment, no tracking parameters.

A page names its canonical URL itself (<link rel=canonical>, og:url), so any
page could claim to be another outlet's article. A claim is believed only
within the page's own registrable domain (the Public Suffix List's "domain
under a public suffix": www.bbc.co.uk → bbc.co.uk, a.blogspot.com stays whole)
or the domains its outlet owns in outlets.yml.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit


@lru_cache(maxsize=1)
def _extract():
    """The Public Suffix List snapshot shipped with tldextract: never fetched at run time.
    Imported on first use (tldextract imports requests: a quarter second at start-up)."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None,
                                 include_psl_private_domains=True)


_WEB_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": "80", "https": "443", "ftp": "21"}
_TRACKING_PARAMS = frozenset(
    """
    fbclid gclid gclsrc dclid gbraid wbraid msclkid yclid ysclid twclid ttclid igshid li_fat_id
    mc_cid mc_eid mkt_tok ocid cmpid cmp ito ref ref_src ref_url refsrc smid smtyp taid
    _ga _gl _hsenc _hsmi hsctatracking oly_anon_id oly_enc_id vero_id vero_conv
    wt.mc_id wt_mc s_cid ncid sr_share spm __twitter_impression
    guccounter guce_referrer guce_referrer_sig
    ns_mchannel ns_source ns_campaign ns_linkname ns_fee
    pk_campaign pk_kwd pk_source pk_medium pk_content mtm_campaign mtm_source mtm_medium
    """.split()
)
_TRACKING_PREFIXES = ("utm_", "at_")
_SHARE_LINK = re.compile(
    r"^https?://(?:www\.)?(?:facebook\.com/sharer|(?:twitter|x)\.com/(?:intent|share)"
    r"|linkedin\.com/share|reddit\.com/submit|pinterest\.com/pin/create|vk\.com/share"
    r"|t\.me/share|wa\.me/|api\.whatsapp\.com/send|connect\.ok\.ru/offer)",
    re.IGNORECASE,
)


def canonicalize_url(url: str, base: str | None = None) -> str:
    """Return one spelling of ``url``, resolved against ``base`` when relative.

    Lowercases scheme and host, drops the default port, the fragment and
    tracking parameters (utm_*, fbclid, gclid, ...), sorts the remaining query
    parameters and leaves the path as it is (an empty path becomes "/").
    Raises ValueError for a URL that cannot be parsed.
    """
    url = url.strip()
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    netloc = _normalise_netloc(scheme, parts.netloc)
    path = parts.path
    if not path and netloc and scheme in _WEB_SCHEMES:
        path = "/"
    return urlunsplit((scheme, netloc, path, _clean_query(parts.query), ""))


def _normalise_netloc(scheme: str, netloc: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    host, port = hostport, ""
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]") + 1
        host, rest = hostport[:end], hostport[end:]
        port = rest[1:] if rest.startswith(":") else ""
    elif ":" in hostport:
        host, _, port = hostport.rpartition(":")
    host = host.lower()
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]
    if port == _DEFAULT_PORTS.get(scheme):
        port = ""
    hostport = f"{host}:{port}" if port else host
    return f"{userinfo}{at}{hostport}"


def _clean_query(query: str) -> str:
    kept = [
        part
        for part in query.split("&")
        if part and not _is_tracking_param(unquote_plus(part.partition("=")[0]).lower())
    ]
    return "&".join(sorted(kept))


def _is_tracking_param(key: str) -> bool:
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


def is_web_url(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL with a host."""
    parts = urlsplit(url)
    return parts.scheme in _WEB_SCHEMES and bool(parts.netloc)


def is_share_link(url: str) -> bool:
    """Whether ``url`` is a "share this" button's link (Facebook, X, Telegram, ...), not a citation."""
    return bool(_SHARE_LINK.match(url))


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
    parts = _extract()(host)
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


def bare_host(url: str) -> str:
    """The lowercase host of a URL without a leading www. ('' when there is none): how
    outlets' domains are written."""
    return host_of(url).removeprefix("www.")
