"""Span bookkeeping shared by slot and date extraction.

`Text` holds the lowered, normalised utterance, the spans some rule has already claimed (a claimed
span is invisible to later rules) and the digit groups in it (`Group`), with helpers to read the
words around a position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GROUP = re.compile(r"(?<![A-Za-z0-9])(?<![0-9][.,:/])[0-9]+(?![A-Za-z0-9])(?![.,:/][0-9])")
_RUN_GAP = re.compile(r"[ \t]*[-\u2013][ \t]*|[ \t]+")
WORD_AT = re.compile(r"\s*([a-z][a-z']*)")
_WORD_END = re.compile(r"[a-z][a-z']*$")


@dataclass(frozen=True)
class Group:
    digits: str
    start: int
    end: int
    run: int  # groups with the same run number are separated only by spaces or dashes
    dashed: bool  # a dash joins it to a neighbour: part of a code or a range, never a count


class Text:
    """The lowered, normalised text plus the spans already used by some rule."""

    def __init__(self, lowered: str) -> None:
        self.s = lowered
        self.claims: list[tuple[int, int]] = []
        found = list(_GROUP.finditer(lowered))
        gaps = [_RUN_GAP.fullmatch(lowered, a.end(), b.start()) for a, b in zip(found, found[1:])]
        dashed = [bool(g and "-" in g.group()) for g in gaps]
        self.groups: list[Group] = []
        run = 0
        for k, m in enumerate(found):
            if k and not gaps[k - 1]:
                run += 1
            touches_dash = (k and dashed[k - 1]) or (k < len(dashed) and dashed[k])
            self.groups.append(Group(m.group(), m.start(), m.end(), run, bool(touches_dash)))

    def claim(self, start: int, end: int) -> None:
        self.claims.append((start, end))

    def free(self, start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in self.claims)

    def runs(self) -> list[list[Group]]:
        """Unclaimed groups, split wherever a claimed group or other text comes between."""
        out: list[list[Group]] = []
        previous: Group | None = None
        for g in self.groups:
            if not self.free(g.start, g.end):
                previous = None
                continue
            if previous is not None and previous.run == g.run:
                out[-1].append(g)
            else:
                out.append([g])
            previous = g
        return out

    def word_after(self, pos: int, skip_claimed: bool = False) -> tuple[str, int]:
        """The word starting after pos (over whitespace, and over claimed spans if asked) and its end."""
        while True:
            while pos < len(self.s) and self.s[pos].isspace():
                pos += 1
            ends = [b for a, b in self.claims if a <= pos < b] if skip_claimed else []
            if not ends:
                break
            pos = max(ends)
        m = WORD_AT.match(self.s, pos)
        return (m.group(1), m.end()) if m else ("", pos)

    def before(self, pos: int) -> tuple[str, str]:
        """(word, "") when a word comes just before pos, else ("", the symbol there)."""
        tail = self.s[max(0, pos - 40):pos].rstrip()  # a window keeps this O(1)
        if not tail:
            return "", ""
        m = _WORD_END.search(tail)
        return (m.group(), "") if m else ("", tail[-1])
