"""NDI through cyndilib (MIT; its wheel carries the NDI runtime, which is
under the NDI SDK licence: free to use and redistribute, not open source, so
it is the optional extra `tensorstage[ndi]` and never required).

Discovery: NDI finds sources by mDNS (avahi-daemon on Linux) and, besides,
asks the addresses listed in its configuration (`ips`: another machine
across a subnet, or 127.0.0.1 where no mDNS daemon runs, as on this project's
test machines). A node's `ips` option writes that configuration for this
process before the runtime loads; the runtime reads it once, so the first
NDI node opened decides it for the process's life.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

INSTALL_HINT = "pip install 'tensorstage[ndi]' (cyndilib, which brings the NDI runtime)"

_loaded: dict[str, Any] = {}


class NdiUnavailable(RuntimeError):
    """cyndilib is not installed: said once, the show goes on without NDI."""


def discovery_config(ips: str, user_config: Path | None = None) -> dict:
    """NDI's configuration (ndi-config.v1.json) with `ips` added to the
    addresses it asks; the user's own configuration kept otherwise."""
    config: dict = {}
    if user_config is not None and user_config.is_file():
        try:
            config = json.loads(user_config.read_text())
        except (OSError, ValueError):
            config = {}
    networks = config.setdefault("ndi", {}).setdefault("networks", {})
    known = [ip.strip() for ip in str(networks.get("ips", "")).split(",") if ip.strip()]
    for ip in ips.split(","):
        if ip.strip() and ip.strip() not in known:
            known.append(ip.strip())
    networks["ips"] = ",".join(known)
    return config


def load(ips: str = "") -> Any:
    """The cyndilib module, its runtime configured to also ask `ips`.
    NdiUnavailable with the install hint when it is missing."""
    if "module" in _loaded:
        if ips and ips != _loaded["ips"]:
            _loaded.setdefault("late", ips)
        return _loaded["module"]
    if ips and "NDI_CONFIG_DIR" not in os.environ:
        folder = Path(tempfile.mkdtemp(prefix="tensorstage-ndi-"))
        user = Path.home() / ".ndi" / "ndi-config.v1.json"
        (folder / "ndi-config.v1.json").write_text(json.dumps(discovery_config(ips, user)))
        os.environ["NDI_CONFIG_DIR"] = str(folder)
    try:
        import cyndilib
    except ImportError as error:
        raise NdiUnavailable(f"NDI needs cyndilib ({error}); {INSTALL_HINT}") from None
    _loaded.update(module=cyndilib, ips=ips)
    return cyndilib


def late_ips() -> str:
    """Discovery addresses a node asked for after the runtime had loaded (they need a restart)."""
    return _loaded.get("late", "")


def matches(source_name: str, wanted: str) -> bool:
    """A source's full name ("HOST (stream)") holds `wanted`, in any case; "" matches any."""
    return wanted.lower() in source_name.lower()


def source_names(timeout_s: float = 1.0, ips: str = "") -> list[str]:
    """The NDI sources this machine sees now (for `tensorstage devices`)."""
    cyndilib = load(ips)
    finder = cyndilib.Finder()
    finder.open()
    try:
        finder.wait_for_sources(timeout_s)
        return sorted(finder.get_source_names())
    finally:
        finder.close()
