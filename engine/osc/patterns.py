"""OSC 1.0 address patterns (`?`, `*`, `[a-z]`, `[!a]`, `{one,two}`) as regexes."""

from __future__ import annotations

import functools
import re

PATTERN_CHARS = set("?*[]{}")


def is_pattern(address: str) -> bool:
    return not PATTERN_CHARS.isdisjoint(address)


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A regex matching the addresses `pattern` selects; ValueError if malformed."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "?":
            out.append("[^/]")
        elif c == "*":
            out.append("[^/]*")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise ValueError(f"unclosed [ in {pattern!r}")
            body = pattern[i + 1:end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            if not body:
                raise ValueError(f"empty [] in {pattern!r}")
            chars = "".join("-" if ch == "-" and 0 < k < len(body) - 1 else re.escape(ch)
                            for k, ch in enumerate(body))
            out.append(f"[{'^' if negate else ''}{chars}]")
            i = end
        elif c == "{":
            end = pattern.find("}", i + 1)
            if end < 0:
                raise ValueError(f"unclosed {{ in {pattern!r}")
            out.append("(?:" + "|".join(re.escape(part) for part in pattern[i + 1:end].split(",")) + ")")
            i = end
        elif c in "]}":
            raise ValueError(f"unmatched {c} in {pattern!r}")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def matches(pattern: str, address: str) -> bool:
    return compile_pattern(pattern).match(address) is not None
