"""The licence register: which firms the AFSA licenses, and the domains we know they operate.

Reading it: ``parser`` (HTML in, records out) and ``sources`` (HTTP, the shipped seed) produce ``records``.
Keeping it: ``refresh`` fetches and refuses what looks wrong, ``apply`` diffs a good fetch into the tables and moves
names in and out of the feed, ``seed`` loads the shipped firms on first start, ``mapping`` is the curated
firm → domain mapping, ``listing`` is what ``GET /v1/licensed`` shows; their SQL is in ``queries``.
"""
