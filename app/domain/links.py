"""Links in a reply, and whether their hosts are ones we allow.

A reply goes out under the brand, so a link in it is a commitment: a model
talked into writing ``<https://evil.example|Claim your refund>`` must not
reach a customer unnoticed.  ``links_in`` finds every link a reader could
follow: with a scheme (``https://…``, Slack's ``<https://…|label>``,
Markdown's ``[label](https://…)``), starting with ``www.``, or a bare domain
with a well-known ending (``brightwell-refunds.com/claim``).  The host is read
the way a browser reads it: after any ``user@``, before any port or path.

``host_allowed`` accepts a host that is on the allow-list or below one of its
entries (``help.brightwell.com`` under ``brightwell.com``).  Everything runs
over the text's space-separated chunks, once each, in linear time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["Link", "host_allowed", "links_in", "normalize_host", "unknown_links"]

# A chunk ends wherever a link cannot go on: spaces, and the brackets and bars
# Slack and Markdown put around one.  Only a chunk with a dot or a colon can hold
# a link: the pattern starts only where a chunk starts, reads each chunk once,
# possessively, and keeps only those.
_CHUNK = re.compile(
    r"(?<![^\s<>|()\[\]{}\"'`])[^\s<>|()\[\]{}\"'`.:]*+[.:][^\s<>|()\[\]{}\"'`]*+"
)
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,15}://", re.IGNORECASE)
_TRAILING = ".,;:!?…*_~"
# Endings that make "word.word" a link and not "Node.js" or "e.g.".  A country
# ending counts only with a path or a subdomain, so "the order.In" (a missing
# space) is not taken for a link.
_GENERIC_ENDINGS = frozenset(
    [
        "com",
        "net",
        "org",
        "info",
        "biz",
        "io",
        "co",
        "ai",
        "app",
        "dev",
        "ly",
        "link",
        "click",
        "xyz",
        "top",
        "shop",
        "store",
        "online",
        "site",
        "live",
        "page",
        "pro",
        "club",
        "vip",
        "win",
        "bid",
        "lol",
        "support",
        "help",
        "email",
        "cloud",
        "tech",
        "money",
        "cash",
        "pay",
        "bank",
        "gift",
    ]
)
_COUNTRY_ENDINGS = frozenset(
    [
        "us",
        "uk",
        "eu",
        "fr",
        "de",
        "es",
        "it",
        "nl",
        "be",
        "ch",
        "at",
        "pt",
        "ie",
        "ca",
        "au",
        "nz",
        "mx",
        "br",
        "ar",
        "in",
        "ru",
        "cn",
        "jp",
        "kr",
        "pl",
        "se",
        "no",
        "dk",
        "fi",
        "cz",
        "tk",
        "ml",
        "ga",
        "cf",
        "gq",
        "cc",
        "tv",
        "ws",
        "to",
        "me",
    ]
)


@dataclass(frozen=True)
class Link:
    text: str  # as written in the reply
    host: str  # lower case, no port, no trailing dot


def normalize_host(host: str) -> str:
    """``HTTPS://Help.Example.COM:443/`` or ``help.example.com.`` -> ``help.example.com``."""
    host = host.strip().lower()
    if "://" in host:
        host = host.split("://", 1)[1]
    host = re.split(r"[/?#\\]", host, maxsplit=1)[0]
    host = host.rpartition("@")[2]
    if host.startswith("["):  # an IPv6 literal keeps its colons
        return host.partition("]")[0] + "]"
    return host.partition(":")[0].rstrip(".")


def _bare_host(chunk: str) -> str | None:
    if "@" in chunk:  # an e-mail address, not a link
        return None
    host, path = re.split(r"[/?#]", chunk, maxsplit=1)[0], "/" in chunk
    labels = host.lower().split(".")
    if len(labels) < 2:
        return None
    ending = labels[-1]
    if ending not in _GENERIC_ENDINGS and not (
        ending in _COUNTRY_ENDINGS and (path or len(labels) > 2)
    ):
        return None
    if not all(label and all(c.isalnum() or c == "-" for c in label) for label in labels):
        return None
    return ".".join(labels)


def _chunks(text: str) -> Iterator[str]:
    """The chunks of ``text`` with a dot or a colon, in reading order."""
    # A space ends every chunk and ``str.split`` finds spaces in C: only the words
    # with a dot or a colon are scanned further.
    for word in text.split():
        if "." in word or ":" in word:
            yield from _CHUNK.findall(word)


def links_in(text: str) -> list[Link]:
    """Every link in ``text``, in reading order."""
    found = []
    for chunk in _chunks(text):
        chunk = chunk.rstrip(_TRAILING)
        if "." not in chunk and ":" not in chunk:
            continue  # no host without a dot, no scheme without a colon (once "word." is cut)
        scheme = _SCHEME.search(chunk)
        if scheme is not None:
            if scheme.group().lower().startswith("mailto"):
                continue
            written = chunk[scheme.start() :]
            host = normalize_host(written[len(scheme.group()) :])
        elif chunk.lower().startswith("www."):
            written, host = chunk, normalize_host(chunk)
        else:
            bare = _bare_host(chunk)
            if bare is None:
                continue
            written, host = chunk, bare
        if host:
            found.append(Link(written, host))
    return found


def host_allowed(host: str, allowlist: Iterable[str]) -> bool:
    """``host`` is an allowed host or a subdomain of one."""
    for allowed in allowlist:
        allowed = normalize_host(allowed)
        if allowed and (host == allowed or host.endswith("." + allowed)):
            return True
    return False


def unknown_links(text: str, allowlist: Iterable[str]) -> list[Link]:
    """The links in ``text`` whose host is not allowed."""
    allowed = [normalize_host(a) for a in allowlist if a.strip()]
    return [link for link in links_in(text) if not host_allowed(link.host, allowed)]
