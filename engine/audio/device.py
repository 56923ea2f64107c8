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
    it happens only when none of them is healthy, and never once a stream was
    left behind (PortAudio would try to close it again, and hang); True if it
    happened."""
    with _lock:
        if stuck_streams or any(user.healthy() for user in _users):
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


# Streams PortAudio did not let go of (see close_stream). While there are any,
# PortAudio is never re-initialized, and the process should leave with os._exit.
stuck_streams = 0


def close_stream(stream: Any, timeout_s: float = 1.0) -> bool:
    """Stop and close a stream that may already be broken; False if PortAudio
    did not return within `timeout_s`. Its ALSA host API can loop forever in its
    own thread when the sound server vanishes mid-period (PaAlsaStream_SetUpBuffers
    retries a failing restart from its error path); stopping that stream then
    blocks forever. So the close runs on a thread of its own, and a stream that
    does not close is left behind and counted, instead of hanging the show."""
    global stuck_streams
    done = threading.Event()

    def close() -> None:
        try:
            stream.abort()
            stream.close()
        except Exception:  # noqa: BLE001 - a dead server leaves streams that fail to close
            pass
        finally:
            done.set()

    threading.Thread(target=close, name="portaudio-close", daemon=True).start()
    if done.wait(timeout_s):
        return True
    with _lock:
        stuck_streams += 1
    return False
