"""JSON answers prepared once and completed per request: a document is rendered with DRF's JSON renderer with
holes where the values that change with every request go (the clock, a staleness flag); each request joins the
rendered pieces with those values. The result is byte for byte what rendering the completed document gives."""

import json
import math
from collections.abc import Sequence
from json.encoder import encode_basestring  # the C encoder when available

from rest_framework.renderers import JSONRenderer

_MARK = "\u2063tr-hole-%d\u2063"  # invisible separators around a number: a string no stored value holds


def hole(number: int) -> str:
    """The placeholder of the `number`-th value (0, 1, ... in the order they appear in the rendered JSON)."""
    return _MARK % number


def prepare(document: object, holes: int) -> tuple[bytes, ...]:
    """`document` (holding hole(0) .. hole(holes - 1) as values, in their order) rendered and cut at the holes."""
    rest = JSONRenderer().render(document)
    pieces = []
    for number in range(holes):
        piece, found, rest = rest.partition(json.dumps(hole(number), ensure_ascii=False).encode())
        if not found:
            raise ValueError(f"hole {number} is not in the rendered document (or not in order)")
        pieces.append(piece)
    pieces.append(rest)
    return tuple(pieces)


_CONSTANTS = {None: b"null", True: b"true", False: b"false"}


def value_json(value: object) -> bytes:
    """json.dumps(value, ensure_ascii=False).encode(), without json.dumps's per-call setup for the scalars a hole
    holds (a tenth of its cost; tests/test_prepared_json.py compares the two)."""
    if value is None or isinstance(value, bool):
        return _CONSTANTS[value]
    if isinstance(value, str):
        return encode_basestring(value).encode()
    if isinstance(value, int):
        return int.__repr__(value).encode()
    if isinstance(value, float) and math.isfinite(value):
        return float.__repr__(value).encode()
    return json.dumps(value, ensure_ascii=False).encode()


def complete(pieces: Sequence[bytes], values: Sequence[object]) -> bytes:
    """The prepared pieces joined with the JSON of `values` (None, bools, numbers and strings)."""
    out = [pieces[0]]
    for value, piece in zip(values, pieces[1:], strict=True):
        out += (value_json(value), piece)
    return b"".join(out)
