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
