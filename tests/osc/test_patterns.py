import pytest

from engine.osc.patterns import compile_pattern, is_pattern, matches


@pytest.mark.parametrize("pattern, address, expected", [
    ("color/saturation", "color/saturation", True),
    ("color/*", "color/saturation", True),
    ("*/saturation", "color/saturation", True),
    ("*", "color/saturation", False),                 # * does not cross /
    ("color/s?turation", "color/saturation", True),
    ("color/[a-c]*", "color/brightness", True),
    ("color/[a-c]*", "color/saturation", False),
    ("color/[!a-c]*", "color/saturation", True),
    ("color/{contrast,brightness}", "color/contrast", True),
    ("color/{contrast,brightness}", "color/saturation", False),
    ("color/sat", "color/saturation", False),          # whole address only
    ("a.b", "axb", False),                             # . is literal
])
def test_osc_patterns(pattern, address, expected):
    assert matches(pattern, address) is expected


def test_malformed_patterns_raise_value_error():
    for bad in ("color/[abc", "color/{a,b", "color/a]"):
        with pytest.raises(ValueError):
            compile_pattern(bad)


def test_is_pattern():
    assert is_pattern("/a/*") and is_pattern("/a/{b,c}")
    assert not is_pattern("/color/saturation")


@pytest.mark.parametrize("pattern, address, expected", [
    ("color/**sat*", "color/saturation", True),
    ("color/*a*a*", "color/saturation", True),
    ("color/*z", "color/saturation", False),
    ("color/*n", "color/saturation", True),
    ("*/*", "color/saturation", True),
    ("{color,mirror}/{*ation,horizontal}", "mirror/horizontal", True),
    ("c?l*r/[r-t]*", "color/saturation", True),
])
def test_more_patterns(pattern, address, expected):
    assert matches(pattern, address) is expected


def test_hostile_patterns_are_matched_quickly_or_refused():
    """40 stars then a z held the old regex matcher for ever; every shape of
    backtracking pattern now takes at most part x text steps."""
    import time
    keys = [f"color/{'s' * 60}aturation{i}" for i in range(50)]
    hostile = ["color/" + "*" * 40 + "z", "color/" + "*a" * 60 + "z", "color/" + "*?" * 60 + "z",
               "color/" + "*[a-z]" * 40 + "!"]
    started = time.perf_counter()
    for pattern in hostile:
        assert not any(compile_pattern(pattern).match(k) for k in keys)
    assert time.perf_counter() - started < 2.0             # loose: well under a millisecond each here
    with pytest.raises(ValueError, match="at most 256"):
        compile_pattern("color/" + "*" * 300)
    with pytest.raises(ValueError, match="expand to more than 64"):
        compile_pattern("/".join("{a,b,c}" for _ in range(5)))
