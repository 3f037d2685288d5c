"""Finding the links a reply carries, the way a reader's browser would follow them."""

from __future__ import annotations

import pytest

from app.domain.links import host_allowed, links_in, normalize_host, unknown_links


@pytest.mark.parametrize(
    ("text", "hosts"),
    [
        ("Go to <https://evil.example/claim|Claim your refund> now", ["evil.example"]),
        ("[here](http://Bit.ly/x), or www.Example.com/a.", ["bit.ly", "www.example.com"]),
        ("https://brightwell.com@evil.example/, https://a.b.example:8443/x?y#z", ["evil.example", "a.b.example"]),
        ("Visit brightwell-refunds.com/claim or shop.example.de today", ["brightwell-refunds.com", "shop.example.de"]),
        ("FTP://files.example.org/a and hxxp is not a scheme", ["files.example.org"]),
    ],
)  # fmt: skip
def test_links_are_found_with_the_host_a_browser_would_visit(text: str, hosts: list[str]) -> None:
    assert [link.host for link in links_in(text)] == hosts


@pytest.mark.parametrize(
    "text",
    [
        "Node.js and e.g. and i.e. are not links.",
        "Write to help@brightwell.com or mailto:help@brightwell.com",
        "Version 2.0 shipped; see order.In the meantime, thanks.",
        "Price: $1,299.00, 3.5 stars",
    ],
)
def test_words_with_dots_are_not_taken_for_links(text: str) -> None:
    assert links_in(text) == []


def test_an_allowed_host_covers_its_subdomains_and_nothing_that_only_looks_like_it() -> None:
    allowed = ["Brightwell.com", "https://help.example.org/"]

    assert host_allowed("brightwell.com", [normalize_host(a) for a in allowed])
    assert host_allowed("track.brightwell.com", ["brightwell.com"])
    assert not host_allowed("brightwell.com.evil.io", ["brightwell.com"])
    assert not host_allowed("evilbrightwell.com", ["brightwell.com"])
    assert [link.host for link in unknown_links(
        "https://help.example.org/a https://www.brightwell.com https://example.org", allowed
    )] == ["example.org"]  # fmt: skip


def test_with_no_allow_list_every_link_is_unknown() -> None:
    assert [link.text for link in unknown_links("See https://brightwell.com/help.", [])] == [
        "https://brightwell.com/help"
    ]
