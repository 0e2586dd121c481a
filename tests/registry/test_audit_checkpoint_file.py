"""Reading a checkpoint file line by line (survivors of ``make mutate`` in ``registry/audit/checkpoints.py``).

A line is trusted only in the format and with the algorithm the registry writes; a blank line in the middle of the
file hides nothing after it; a broken line is reported by its number, a half-written last line as a write in
progress.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from registry.audit import checkpoints


def _line(**change: object) -> dict[str, object]:
    body: dict[str, object] = {
        "format": checkpoints.FORMAT,
        "algorithm": checkpoints.ALGORITHM,
        "id": 1,
        "event_id": 7,
        "head_hash": "ab" * 32,
        "at": "2026-11-30T09:00:00.000000Z",
        "key_id": "k1",
        "signature": "c2ln",
    }
    return {**body, **change}


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"algorithm": "rsa"}, f"not a {checkpoints.FORMAT} line signed with {checkpoints.ALGORITHM}"),
        ({"format": "other/1"}, f"not a {checkpoints.FORMAT} line signed with {checkpoints.ALGORITHM}"),
        ({"event_id": "7"}, "event_id is not an integer"),
        ({"id": True}, "id is not an integer"),
        ({"key_id": 5}, "key_id is not a string"),
    ],
)
def test_a_line_of_another_shape_is_refused_naming_why(change: dict[str, object], why: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(why)}$"):
        checkpoints.from_json(_line(**change))
    with pytest.raises(ValueError, match="not a JSON object"):
        checkpoints.from_json([1, 2])


def test_every_line_is_read_past_blank_and_broken_ones(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    lines = [
        orjson.dumps(_line(id=1)),
        b"",
        b"{not json",
        orjson.dumps(_line(id=2, algorithm="rsa")),
        orjson.dumps(_line(id=3)),
        b'{"format": "registry.au',  # the last line, no newline: a writer mid-line
    ]
    path.write_bytes(b"\n".join(lines))
    read = checkpoints.read_file(path)
    assert [(n, cp.id) for n, cp in read.checkpoints] == [(1, 1), (5, 3)]
    assert read.bad_lines == [
        (3, "not JSON"),
        (4, f"not a {checkpoints.FORMAT} line signed with {checkpoints.ALGORITHM}"),
    ]
    assert read.partial_tail
    path.write_bytes(b"\n".join(lines[:-1]) + b"\n")
    assert not checkpoints.read_file(path).partial_tail
