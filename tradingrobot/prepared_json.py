"""JSON answers prepared once and completed per request: a document is rendered with DRF's JSON renderer with
holes where the values that change with every request go (the clock, a staleness flag); each request joins the
rendered pieces with those values. The result is byte for byte what rendering the completed document gives."""

import json
from collections.abc import Sequence

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


def complete(pieces: Sequence[bytes], values: Sequence[object]) -> bytes:
    """The prepared pieces joined with the JSON of `values` (None, bools, numbers and strings)."""
    out = [pieces[0]]
    for value, piece in zip(values, pieces[1:], strict=True):
        out += (json.dumps(value, ensure_ascii=False).encode(), piece)
    return b"".join(out)
