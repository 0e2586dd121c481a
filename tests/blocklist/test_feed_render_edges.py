"""Feed renderers at their edges (survivors of ``make mutate`` in ``blocklist/feeds/render.py``).

Squid refuses overlapping ``dstdomain`` entries, so a name under a listed parent two or more labels up must go, and a
name whose first label is one letter must stay; Unbound reads ``local-zone`` lines only inside a ``server:`` clause;
the JSON feed tells its reader that a listed name covers its subdomains.
"""

from __future__ import annotations

import orjson

from blocklist.feeds.render import render
from blocklist.feeds.service import FeedData


def test_squid_drops_names_under_a_listed_parent_at_any_depth_and_keeps_the_rest() -> None:
    feed = FeedData(
        serial=7,
        blocked=["evil.kz", "a.b.evil.kz", "pay.evil.kz", "x.shop.kz", "q.r.co.uk", "evil.kz.example"],
        passthru=[],
    )
    lines = [ln for ln in render("squid", feed).decode().splitlines() if not ln.startswith("#")]
    assert lines == [".evil.kz", ".x.shop.kz", ".q.r.co.uk", ".evil.kz.example"]


def test_unbound_lines_sit_in_a_server_clause() -> None:
    feed = FeedData(serial=7, blocked=["evil.kz"], passthru=["ok.evil.kz"])
    lines = render("unbound", feed).decode().splitlines()
    assert lines[0].startswith("# ") and lines[1:3] == ["# serial 7", "server:"]
    assert lines[3:] == ['    local-zone: "evil.kz." always_nxdomain', '    local-zone: "ok.evil.kz." transparent']


def test_the_json_feed_says_subdomains_are_covered_and_ends_its_line() -> None:
    feed = FeedData(serial=9, blocked=["evil.kz"], passthru=["ok.evil.kz"])
    body = render("json", feed)
    assert body.endswith(b"}\n") and body.count(b"\n") == 1
    assert orjson.loads(body) == {"serial": 9, "blocked": ["evil.kz"], "passthru": ["ok.evil.kz"], "subdomains": True}
