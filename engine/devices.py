"""What `tensorstage devices` reports: cameras, audio devices, displays."""

from __future__ import annotations

from typing import Any

from engine.display import display_problem, monitors
from engine.sources.camera import camera_devices


def audio_devices() -> tuple[list[dict[str, Any]], str | None]:
    """PortAudio's devices, or the reason there are none."""
    try:
        import sounddevice
    except (OSError, ImportError) as error:
        return [], f"PortAudio is not available ({error}); on Debian: apt install libportaudio2"
    try:
        devices = sounddevice.query_devices()
        apis = sounddevice.query_hostapis()
    except Exception as error:  # noqa: BLE001 - PortAudio errors are reported, not raised
        return [], f"PortAudio could not list devices: {error}"
    default_in, default_out = sounddevice.default.device
    found = []
    for index, device in enumerate(devices):
        found.append({
            "index": index, "name": device["name"], "api": apis[device["hostapi"]]["name"],
            "inputs": device["max_input_channels"], "outputs": device["max_output_channels"],
            "sample_rate": device["default_samplerate"],
            "default": index in (default_in, default_out),
        })
    return found, None


def list_devices() -> dict[str, Any]:
    audio, audio_problem = audio_devices()
    problem = display_problem()
    return {
        "cameras": [{"path": path, "name": name} for path, name in camera_devices()],
        "audio": audio,
        "audio_problem": audio_problem,
        "display_problem": problem,
        "monitors": monitors() if problem is None else [],
        **midi_inputs(),
        **ndi_sources(),
    }


def ndi_sources(search_s: float = 1.0) -> dict[str, Any]:
    """NDI sources seen within `search_s` (the ndi node's `source` is part of one's name)."""
    from engine.ndi import NdiUnavailable, source_names
    try:
        return {"ndi": source_names(search_s), "ndi_problem": None}
    except NdiUnavailable as missing:
        return {"ndi": [], "ndi_problem": str(missing)}


def midi_inputs() -> dict[str, Any]:
    """MIDI input ports (the midi node's `device` is part of one's name)."""
    from engine.midi.ports import MidiSystemDown, MidiUnavailable, chosen_api, input_names
    api = chosen_api("auto") or "native"
    try:
        return {"midi": input_names(), "midi_problem": None, "midi_api": api}
    except MidiUnavailable as missing:
        return {"midi": [], "midi_problem": str(missing), "midi_api": ""}
    except MidiSystemDown as down:
        return {"midi": [], "midi_problem": str(down), "midi_api": api}


def describe_devices(found: dict[str, Any]) -> str:
    lines = ["Cameras:"]
    lines += [f"  {c['path']}  {c['name']}" for c in found["cameras"]] or \
        ["  none (no /dev/video* devices): camera nodes fall back to a test pattern"]
    lines.append("Audio devices (PortAudio):")
    if found["audio_problem"]:
        lines.append(f"  none: {found['audio_problem']}")
    elif not found["audio"]:
        lines.append("  none found (no sound card or sound server)")
    for d in found["audio"]:
        lines.append(f"  [{d['index']}] {d['name']} ({d['api']}): {d['inputs']} in, {d['outputs']} out, "
                     f"{d['sample_rate']:g} Hz{'  (default)' if d['default'] else ''}")
    lines += _names(f"MIDI inputs ({found['midi_api'] or 'none'}):", found["midi"], found["midi_problem"],
                    "none found (a controller plugged in shows here; on Linux without /dev/snd/seq, "
                    "a JACK server is needed)")
    lines += _names("NDI sources:", found["ndi"], found["ndi_problem"],
                    "none seen in 1 s (on Linux NDI discovery needs avahi-daemon, or the node's ips)")
    lines.append("Displays:")
    if found["display_problem"]:
        lines.append(f"  {found['display_problem']}: windows record to a file instead")
    else:
        lines += [f"  {m}" for m in found["monitors"]] or ["  a display is reachable (monitors unknown)"]
    return "\n".join(lines)


def _names(heading: str, names: list[str], problem: str | None, empty: str) -> list[str]:
    """A heading and one line a name, or why there are none."""
    if problem:
        return [heading, f"  none: {problem}"]
    return [heading] + ([f"  {name}" for name in names] or [f"  {empty}"])
