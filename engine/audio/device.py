"""Opening PortAudio (through sounddevice) without letting it take the show down.

sounddevice is imported only when a patch uses an audio device: it needs the
system's PortAudio library, and a machine without it must still run video.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

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


class StreamUser(Protocol):
    def healthy(self) -> bool: ...


_users: set[Any] = set()
_lock = threading.Lock()


def register(user: StreamUser) -> None:
    with _lock:
        _users.add(user)


def unregister(user: StreamUser) -> None:
    with _lock:
        _users.discard(user)


def reinitialize() -> bool:
    """Make PortAudio look at the devices again (a restarted sound server is
    invisible until it does). That invalidates every stream in the process, so
    it happens only when none of them is healthy; True if it happened."""
    with _lock:
        if any(user.healthy() for user in _users):
            return False
        try:
            sd = sounddevice()
            sd._terminate()
            sd._initialize()
        except Exception:  # noqa: BLE001 - nothing more to do than try again later
            return False
        return True


def stream_active(stream: Any) -> bool:
    """`stream.active`, False when PortAudio says the stream is gone."""
    try:
        return bool(stream.active)
    except Exception:  # noqa: BLE001 - PortAudioError after a re-initialization
        return False


def close_stream(stream: Any) -> None:
    """Stop and close a stream that may already be broken."""
    try:
        stream.abort()
        stream.close()
    except Exception:  # noqa: BLE001 - a dead server leaves streams that fail to close
        pass
