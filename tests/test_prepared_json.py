"""The prepared JSON's per-request values: byte for byte what json.dumps gives."""

import json

import pytest

from tradingrobot.prepared_json import complete, hole, prepare, value_json


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -7,
        2**70,
        0.1,
        1e-7,
        1e22,
        -3.25,
        12.0,
        float("nan"),
        float("inf"),
        "",
        "2026-12-02T05:45:43Z",
        'quote " back \\ slash / tab \t nl \n',
        "é ü 中 \u2028 \x00 \x1f",
        5.5j if False else 1.5,
    ],
)
def test_a_value_is_what_json_dumps_gives(value):
    assert value_json(value) == json.dumps(value, ensure_ascii=False).encode()


def test_a_completed_document_is_the_rendered_one():
    pieces = prepare({"at": hole(0), "n": [1, {"open": hole(1)}], "age": hole(2)}, 3)
    assert json.loads(complete(pieces, ["2026-12-02T05:45:43Z", True, 1.25])) == {
        "at": "2026-12-02T05:45:43Z",
        "n": [1, {"open": True}],
        "age": 1.25,
    }
