"""Client-supplied text made safe to log: control characters escaped, length bounded.

Topics, device ids, metric names and payload excerpts come from anyone who can publish. Written
to a log as they are, a newline forges a whole log line and an ANSI escape rewrites a terminal.
Every rejection log passes such text through ``printable`` first.
"""

from __future__ import annotations

import re

#: Longest piece of untrusted input quoted back in a log line or a rejection's detail.
EXCERPT_MAX_CHARS = 120

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators some log viewers break on.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def excerpt(text: str, limit: int = EXCERPT_MAX_CHARS) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut); not yet escaped."""
    return text if len(text) <= limit else text[:limit] + "…"


def printable(text: str, limit: int = EXCERPT_MAX_CHARS) -> str:
    """``text`` cut to ``limit`` characters with every control character escaped as ``\\xNN``."""
    return _UNSAFE.sub(_escape, excerpt(text, limit))
