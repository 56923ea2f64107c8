"""MIDI inputs through mido on python-rtmidi: the ALSA sequencer where the
machine has one (/dev/snd/seq), else JACK (a JACK server, or PipeWire's);
CoreMIDI and Windows MultiMedia elsewhere."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

INSTALL_HINT = "pip install mido python-rtmidi (both come with tensorstage; a minimal install may lack them)"
APIS = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK"}


class MidiUnavailable(RuntimeError):
    """The libraries are not installed: said once, the show goes on without MIDI."""


def chosen_api(api: str) -> str | None:
    """rtmidi's API name for "auto", "alsa" or "jack"; None for the platform's only one."""
    if api != "auto":
        return APIS[api]
    if sys.platform.startswith("linux"):
        return APIS["alsa"] if os.path.exists("/dev/snd/seq") else APIS["jack"]
    return None


def _rtmidi(api: str) -> tuple[Any, int]:
    try:
        import mido  # noqa: F401 - parses the messages; named here for the hint
        import rtmidi
    except ImportError as error:
        raise MidiUnavailable(f"MIDI needs mido and python-rtmidi ({error}); {INSTALL_HINT}") from None
    name = chosen_api(api)
    return rtmidi, getattr(rtmidi, f"API_{name}") if name else rtmidi.API_UNSPECIFIED


class MidiSystemDown(OSError):
    """The MIDI system is not there (no JACK server, no sequencer): tried again later."""


def _client(rtmidi: Any, api_id: int, name: str) -> Any:
    try:
        return rtmidi.MidiIn(rtapi=api_id, name=name)
    except Exception as error:  # noqa: BLE001 - RtMidi raises its own SystemError when the server is missing
        raise MidiSystemDown(f"no MIDI system ({error})") from None


def input_names(api: str = "auto") -> list[str]:
    rtmidi, api_id = _rtmidi(api)
    probe = _client(rtmidi, api_id, "tensorstage-list")
    try:
        return list(probe.get_ports())
    finally:
        probe.delete()


def find_input(names: list[str], wanted: str) -> str | None:
    """The first port whose name contains `wanted` (any case); "" takes the first port."""
    for name in names:
        if wanted.lower() in name.lower():
            return name
    return None


class InputPort:
    """An open input: each message, parsed by mido, goes to `callback` on
    RtMidi's thread. (mido's own rtmidi ports received nothing on JACK here;
    RtMidi's callback does, so mido only parses.)"""

    def __init__(self, api: str, name: str, callback: Callable[[Any], None], client_name: str) -> None:
        rtmidi, api_id = _rtmidi(api)
        import mido
        self._parse = mido.Message.from_bytes
        self._callback = callback
        self._port = _client(rtmidi, api_id, client_name)
        names = self._port.get_ports()
        if name not in names:
            self._port.delete()
            raise OSError(f"MIDI input {name!r} is gone")
        self._port.ignore_types(sysex=True, timing=False, active_sense=True)   # the clock is wanted
        self._port.set_callback(self._arrived)
        self._port.open_port(names.index(name), "in")

    def _arrived(self, event: tuple, data: Any = None) -> None:
        try:
            message = self._parse(event[0])
        except (ValueError, TypeError, IndexError):
            return                                   # a broken or partial message: nothing to do with it
        self._callback(message)

    def present(self, name: str) -> bool:
        """Whether the port is still among the machine's (asked through this
        client: no new one every look)."""
        return name in self._port.get_ports()

    def close(self) -> None:
        self._port.cancel_callback()
        self._port.close_port()
        self._port.delete()


def open_input(api: str, name: str, callback: Callable[[Any], None], client_name: str) -> InputPort:
    return InputPort(api, name, callback, client_name)
