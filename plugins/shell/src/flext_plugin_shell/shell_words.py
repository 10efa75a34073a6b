"""Splitting what was typed before the cursor into finished words and the word being typed. Stdlib only."""

from __future__ import annotations

import shlex

__all__ = ["split_line"]


def split_line(text: str) -> tuple[list[str], str]:
    """(complete words, the word being typed) of ``text``; a backslash-newline joins lines."""
    text = text.replace("\\\n", " ")
    try:
        words = shlex.split(text)
    except ValueError:  # an open quote: split plainly, the word being typed starts at it
        words = text.split()
    if not text or text[-1].isspace():
        return words, ""
    return words[:-1], words[-1] if words else ""
