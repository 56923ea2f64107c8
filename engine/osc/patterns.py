"""OSC 1.0 address patterns (`?`, `*`, `[a-z]`, `[!a]`, `{one,two}`), matched
without backtracking blow-up.

A regex built from a pattern backtracks exponentially on a hostile one (40
`*` then a `z` held the server's lock for ever). Here the pattern and the
address are split at `/` (a wildcard never crosses it), `{}` alternatives are
expanded (at most MAX_EXPANSIONS), runs of `*` collapse into one, and each part
is matched by the two-pointer wildcard algorithm, which resumes only from the
last `*`: at most len(part) x len(text) steps. Patterns longer than MAX_LENGTH
are refused (ValueError), like malformed ones.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

PATTERN_CHARS = set("?*[]{}")
MAX_LENGTH = 256
MAX_EXPANSIONS = 64
STAR = "*"
ANY_ONE = "?"


@dataclass(frozen=True)
class CharClass:
    chars: frozenset[str]
    negate: bool

    def matches(self, c: str) -> bool:
        return (c in self.chars) != self.negate


Token = str | CharClass     # a literal character, STAR, ANY_ONE, or a class


def is_pattern(address: str) -> bool:
    return not PATTERN_CHARS.isdisjoint(address)


class Pattern:
    """A compiled address pattern: `match(address)` is True or False."""

    def __init__(self, alternatives: list[list[list[Token]]]) -> None:
        self.alternatives = alternatives      # each: one token list per /-separated part

    def match(self, address: str) -> bool:
        parts = address.split("/")
        return any(len(alt) == len(parts) and all(_match_part(p, t) for p, t in zip(alt, parts))
                   for alt in self.alternatives)


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Pattern:
    """The compiled pattern; ValueError if malformed or too long."""
    if len(pattern) > MAX_LENGTH:
        raise ValueError(f"pattern of {len(pattern)} characters; at most {MAX_LENGTH}")
    pieces = _brace_pieces(pattern)
    count = 1
    for piece in pieces:
        count *= len(piece)
        if count > MAX_EXPANSIONS:
            raise ValueError(f"{{}} alternatives expand to more than {MAX_EXPANSIONS} patterns")
    alternatives = []
    for chosen in itertools.product(*pieces):
        text = "".join(chosen)
        alternatives.append([_tokens(part, pattern) for part in text.split("/")])
    return Pattern(alternatives)


def matches(pattern: str, address: str) -> bool:
    return compile_pattern(pattern).match(address)


def _brace_pieces(pattern: str) -> list[list[str]]:
    """The pattern as a list of pieces, each a list of alternatives ({a,b} -> [a, b])."""
    pieces: list[list[str]] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "{":
            end = pattern.find("}", i + 1)
            if end < 0:
                raise ValueError(f"unclosed {{ in {pattern!r}")
            body = pattern[i + 1:end]
            if any(ch in body for ch in "{/"):
                raise ValueError(f"a {{}} may not hold '{{' or '/' in {pattern!r}")
            pieces.append(body.split(","))
            i = end + 1
        elif c == "}":
            raise ValueError(f"unmatched }} in {pattern!r}")
        else:
            pieces.append([c])
            i += 1
    return pieces


def _tokens(part: str, pattern: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(part):
        c = part[i]
        if c == "*":
            if not tokens or tokens[-1] != STAR:       # ** is *
                tokens.append(STAR)
        elif c == "?":
            tokens.append(ANY_ONE)
        elif c == "[":
            end = part.find("]", i + 1)
            if end < 0:
                raise ValueError(f"unclosed [ in {pattern!r}")
            body = part[i + 1:end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            if not body:
                raise ValueError(f"empty [] in {pattern!r}")
            tokens.append(CharClass(frozenset(_class_chars(body)), negate))
            i = end
        elif c == "]":
            raise ValueError(f"unmatched ] in {pattern!r}")
        else:
            tokens.append(c)
        i += 1
    return tokens


def _class_chars(body: str) -> set[str]:
    chars: set[str] = set()
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            low, high = body[k], body[k + 2]
            if ord(high) - ord(low) > 0x10000 or low > high:
                raise ValueError(f"bad range {low}-{high}")
            chars.update(chr(code) for code in range(ord(low), ord(high) + 1))
            k += 3
        else:
            chars.add(body[k])
            k += 1
    return chars


def _one(token: Token, c: str) -> bool:
    if token == ANY_ONE:
        return True
    if isinstance(token, CharClass):
        return token.matches(c)
    return token == c


def _match_part(tokens: list[Token], text: str) -> bool:
    """Wildcard match of one part; on a mismatch it resumes after the last `*`
    with one more character under it, never further back."""
    t = p = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(tokens) and tokens[p] == STAR:
            star, mark = p, t
            p += 1
        elif p < len(tokens) and _one(tokens[p], text[t]):
            t += 1
            p += 1
        elif star >= 0:
            mark += 1
            t, p = mark, star + 1
        else:
            return False
    while p < len(tokens) and tokens[p] == STAR:
        p += 1
    return p == len(tokens)
