"""Byte-range rewrites of a source file: what --fix writes outside libcst."""

from __future__ import annotations

Change = tuple[int, int, bytes]
"""Replace source[start:end] with the bytes."""


def splice(source: bytes, changes: list[Change], start: int = 0, end: int | None = None) -> bytes:
    """source[start:end] with each change in it made, in one pass (changes do not overlap;
    insertions at one offset keep their order)."""
    parts: list[bytes] = []
    done = start
    for change_start, change_end, replacement in sorted(changes, key=lambda change: change[:2]):
        if start <= change_start and (end is None or change_end <= end):
            parts += [source[done:change_start], replacement]
            done = change_end
    return b"".join([*parts, source[done:end]])
