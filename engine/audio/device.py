"""Opening PortAudio (through sounddevice) without letting it take the show down.

sounddevice is imported only when a patch uses an audio device: it needs the
system's PortAudio library, and a machine without it must still run video.
"""

from __future__ import annotations

from typing import Any

AUDIO_OPTIONS_HELP = {
    "device": "PortAudio device: index, or a name (part of it) as `tensorstage devices` lists it; "
              "'' for the default",
}


def sounddevice() -> Any:
    """The sounddevice module, or an OSError that says what to install."""
    try:
        import sounddevice as sd
    except OSError as error:
        raise OSError(f"PortAudio is not available ({error}); on Debian: apt install libportaudio2") from None
    return sd


def device_argument(device: int | str) -> int | str | None:
    return None if device == "" else device
