"""Cleaning text before the journal stores it: free text, and the slots/context saved as JSON.

Whatever arrives (speech transcripts, pasted junk, NUL bytes, lone surrogates) becomes a valid,
bounded string that is safe to store and to show on a staff screen.
"""

from __future__ import annotations

import json
import math
import numbers
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

TRUNCATION_MARK = "…"
REPLACEMENT_CHARACTER = "\ufffd"
_KEEP_CONTROLS = frozenset("\n\t")


def clean_text(value: str, max_chars: int) -> str:
    """Make any string safe and bounded to store and show on a staff screen.

    Proper surrogate pairs are joined and lone ones replaced (they cannot be encoded as
    UTF-8 at all); "\\r\\n" and "\\r" become "\\n"; other control characters, NUL
    included, become U+FFFD so staff can see something was there. Text longer than
    `max_chars` is cut and ends with "…".
    """
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    # Cleaning at most halves the length (pairs and "\r\n" shrink to one character), so
    # this prefix still overflows if the whole did: a pasted novel costs no more than this.
    text = value[: 2 * max_chars + 2]
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(
        REPLACEMENT_CHARACTER if unicodedata.category(ch) == "Cc" and ch not in _KEEP_CONTROLS else ch
        for ch in text
    )
    if len(text) > max_chars:
        text = text[: max_chars - len(TRUNCATION_MARK)] + TRUNCATION_MARK
    return text


def _json_ready(value: Any, max_chars: int) -> Any:
    """Slots/context as plain JSON data, every string cleaned like free text.

    Anything else (Decimal prices, keeping every cent; enums; dataclasses) is stored as its
    str(): losing an escalation because its context had an odd type would be far worse.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):  # numpy integers included
        return int(value)
    if isinstance(value, numbers.Real):  # numpy floats too; Decimal is not Real
        number = float(value)
        return number if math.isfinite(number) else None  # JSON has no NaN/Infinity
    if isinstance(value, str):
        return clean_text(value, max_chars)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {clean_text(str(key), max_chars): _json_ready(item, max_chars) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_ready(item, max_chars) for item in value]
    return clean_text(str(value), max_chars)


def to_json(mapping: Mapping[str, Any], max_chars: int) -> str:
    if not isinstance(mapping, Mapping):
        raise TypeError(f"expected a mapping, got {type(mapping).__name__}")
    return json.dumps(_json_ready(mapping, max_chars), ensure_ascii=False, allow_nan=False)
