"""Checks for what arrives from outside, before anything is stored: text and JSON.

A lone surrogate ("\\ud800") is a valid Python string that cannot be written as UTF-8, so it broke
Redis writes half-way through a turn; JSON nested thousands deep or with a 5,000-digit number made
Python's parser raise errors that were not parse errors. Both are refused here with a code.
"""

from __future__ import annotations

import json
from typing import Any

from bot.core.errors import CodedError

MAX_JSON_DEPTH = 32


class InboundError(CodedError):
    """Input refused at the edge; ``code`` is for the client (``malformed``, ``bad_text``)."""


def is_text(value: str) -> bool:
    """True when ``value`` can be stored and sent as UTF-8 (no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _depth(raw: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def repaired(value: str) -> str:
    """``value`` with every character that cannot be UTF-8 replaced by U+FFFD."""
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace") if not is_text(value) else value


def _check_strings(value: Any, repair: bool) -> Any:
    if isinstance(value, str):
        if is_text(value):
            return value
        if repair:
            return repaired(value)
        raise InboundError("bad_text", "the text contains characters that are not valid Unicode")
    if isinstance(value, dict):
        return {_check_strings(k, repair): _check_strings(v, repair) for k, v in value.items()}
    if isinstance(value, list):
        return [_check_strings(item, repair) for item in value]
    return value


def parse_json(raw: str | bytes, max_depth: int = MAX_JSON_DEPTH, repair_text: bool = False) -> Any:
    """JSON from a client: InboundError for malformed JSON, nesting deeper than ``max_depth``,
    numbers too long to convert, or strings that are not valid Unicode (``repair_text``: those
    characters are replaced by U+FFFD instead, for senders that would only send it again)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise InboundError("malformed", "the body is not UTF-8") from None
    if _depth(text) > max_depth:
        raise InboundError("malformed", f"JSON nested deeper than {max_depth} levels")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # JSONDecodeError, and "Exceeds the limit ... digits"
        raise InboundError("malformed", "the body is not valid JSON") from None
    return _check_strings(value, repair_text)
