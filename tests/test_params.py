import pytest

from engine.params import BOOL, CHOICE, FLOAT, INT, ParamError, ParamSpec, ParamStore


class FakeClock:
    def __init__(self) -> None:
        self.t = 1_000_000

    def __call__(self) -> int:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += int(seconds * 1e6)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store(clock):
    store = ParamStore(clock=clock)
    store.define({
        "fx/gain": ParamSpec(FLOAT, 1.0, "gain", min=0.0, max=2.0, smoothing_s=0.5, exposed=True),
        "fx/steps": ParamSpec(INT, 4, "steps", min=1, max=8, exposed=True),
        "fx/on": ParamSpec(BOOL, False, "on"),
        "fx/mode": ParamSpec(CHOICE, "a", "mode", choices=("a", "b")),
    })
    return store


def test_smoothing_reaches_the_target_exactly_in_the_stated_time(store, clock):
    store.set("fx/gain", 2.0)
    assert store.value("fx/gain") == 1.0
    clock.advance(0.25)
    assert store.value("fx/gain") == pytest.approx(1.5)
    clock.advance(0.2499)
    assert store.value("fx/gain") < 2.0
    clock.advance(0.0001)
    assert store.value("fx/gain") == 2.0
    clock.advance(10)
    assert store.value("fx/gain") == 2.0


def test_a_new_write_glides_on_from_where_the_value_is(store, clock):
    store.set("fx/gain", 2.0)
    clock.advance(0.25)           # at 1.5
    store.set("fx/gain", 0.0)     # now glide 1.5 -> 0 over 0.5 s
    clock.advance(0.25)
    assert store.value("fx/gain") == pytest.approx(0.75)


def test_fade_time_overrides_smoothing(store, clock):
    store.set("fx/gain", 0.0, fade_s=0)
    assert store.value("fx/gain") == 0.0


def test_out_of_range_writes_are_clamped_and_say_so(store):
    result = store.set("fx/gain", 9.0, fade_s=0)
    assert result.clamped and result.value == 2.0
    assert store.value("fx/gain") == 2.0
    assert not store.set("fx/gain", 1.0).clamped


def test_ints_bools_and_choices_change_at_once(store):
    assert store.set("fx/steps", 6.0).value == 6   # OSC senders send floats
    assert store.value("fx/steps") == 6
    store.set("fx/on", 1.0)
    assert store.value("fx/on") is True
    store.set("fx/mode", "b")
    assert store.value("fx/mode") == "b"


@pytest.mark.parametrize("key, value, message", [
    ("fx/gain", "loud", "expected a number, got the string 'loud'"),
    ("fx/gain", float("nan"), "expected a finite number, got nan"),
    ("fx/mode", "c", "'c' is not one of a, b"),
    ("fx/nope", 1.0, "no parameter 'fx/nope'"),
])
def test_bad_writes_raise_a_clear_error(store, key, value, message):
    with pytest.raises(ParamError) as error:
        store.set(key, value)
    assert str(error.value) == message


def test_scenes_recall_with_a_fade_and_store_current_values(store, clock):
    store.scenes["dark"] = {"fx/gain": 0.0, "fx/steps": 2}
    store.recall("dark", fade_s=1.0)
    clock.advance(0.5)
    assert store.value("fx/gain") == pytest.approx(0.5)
    assert store.value("fx/steps") == 2
    clock.advance(0.5)
    assert store.store_scene("now") == {"fx/gain": 0.0, "fx/steps": 2}
    with pytest.raises(ParamError, match="no scene 'bright'; scenes are: dark, now"):
        store.recall("bright")


def test_a_quantized_recall_holds_every_value_until_its_time_then_fades(store, clock):
    store.scenes["dark"] = {"fx/gain": 0.0, "fx/steps": 2}
    store.recall_at = lambda: clock() + 300_000          # the next bar, 0.3 s away
    store.recall("dark", fade_s=1.0)
    clock.advance(0.29)
    assert (store.value("fx/gain"), store.value("fx/steps")) == (1.0, 4)
    clock.advance(0.01)
    assert store.value("fx/steps") == 2
    clock.advance(0.5)
    assert store.value("fx/gain") == pytest.approx(0.5)
    store.recall_at = lambda: None                       # on a boundary now: at once
    store.scenes["bright"] = {"fx/steps": 7}
    store.recall("bright")
    assert store.value("fx/steps") == 7


def test_redefining_keeps_values_unless_the_default_changed(store):
    store.set("fx/gain", 1.5, fade_s=0)
    store.set("fx/steps", 7)
    specs = dict(store.specs)
    specs["fx/gain"] = ParamSpec(FLOAT, 1.0, "gain", min=0.0, max=1.2, exposed=True)  # narrower
    specs["fx/steps"] = ParamSpec(INT, 3, "steps", min=1, max=8, exposed=True)        # new default
    store.define(specs)
    assert store.value("fx/gain") == 1.2
    assert store.value("fx/steps") == 3


def test_scenes_carry_node_state_and_a_stored_scene_survives_a_reload(store, clock):
    sent = []
    store.send_command = lambda node, command, args, at_us: sent.append((node, command, args, at_us))
    store.node_state = lambda: [("col", "clear", ()), ("col", "hint", (0.5, 0.5, 1.0, 0.0, 0.0))]
    store.load_scenes({"dark": {"fx/gain": 0.0}}, {"dark": [("col", "clear", ()), ("col", "palette", (1.0, 0.0, 0.0))]})
    store.recall_at = lambda: clock() + 300_000          # on the next bar: the node's state too
    store.recall("dark")
    assert sent == [("col", "clear", (), clock() + 300_000), ("col", "palette", (1.0, 0.0, 0.0), clock() + 300_000)]
    store.store_scene("mine")
    assert store.scene_commands["mine"] == [("col", "clear", ()), ("col", "hint", (0.5, 0.5, 1.0, 0.0, 0.0))]
    # The file is edited: its scenes are the patch's, and the stored one stays
    # unless the patch now has a scene of that name.
    store.load_scenes({"bright": {"fx/gain": 2.0}})
    assert sorted(store.scenes) == ["bright", "mine"] and "dark" not in store.scene_commands
    store.load_scenes({"mine": {"fx/gain": 1.5}})
    assert store.scenes == {"mine": {"fx/gain": 1.5}} and store.scene_commands == {}
