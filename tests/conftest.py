"""Shared test setup.

Tests that need a real device or service (an X display, PipeWire, ffmpeg) skip
cleanly when it is missing. CI sets TENSORSTAGE_REQUIRE_DEVICES=1 after starting
those services, and then a missing one fails the test instead, so a broken CI
setup cannot hide behind skips.
"""

from __future__ import annotations

import os
import shutil

import pytest

import tests.nodes_for_tests as test_nodes
from engine.display import run_in_fresh_process as in_child_process  # noqa: F401 - for windowed tests

REQUIRE_DEVICES = os.environ.get("TENSORSTAGE_REQUIRE_DEVICES") == "1"


def require(available: bool, what: str) -> None:
    """Skip (or, in CI, fail) a test whose real device or service is missing."""
    if available:
        return
    if REQUIRE_DEVICES:
        pytest.fail(f"{what} is required (TENSORSTAGE_REQUIRE_DEVICES=1) but missing")
    pytest.skip(f"{what} is not available here (.ci/run installs and starts it)")


@pytest.fixture
def portaudio() -> None:
    """The PortAudio library (Debian libportaudio2), which sounddevice loads."""
    try:
        import sounddevice  # noqa: F401 - raises OSError when PortAudio is missing
        available = True
    except (ImportError, OSError):
        available = False
    require(available, "PortAudio (apt install libportaudio2)")


def require_file(path: str, package: str) -> None:
    """A system file a test reads, from a Debian package .ci/run installs."""
    from pathlib import Path
    require(Path(path).exists(), f"{path} (apt install {package})")


@pytest.fixture
def display() -> str:
    from engine.display import display_problem
    problem = display_problem()
    require(problem is None, f"an X display ({problem})")
    return os.environ["DISPLAY"]


@pytest.fixture
def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    require(path is not None, "ffmpeg")
    return path


@pytest.fixture(autouse=True, scope="session")
def _state_folder(tmp_path_factory):
    """Runs started by the tests keep their logs and run records out of the
    user's own state folder."""
    os.environ["TENSORSTAGE_STATE_DIR"] = str(tmp_path_factory.mktemp("state"))
    yield


@pytest.fixture(autouse=True)
def _fresh_test_nodes():
    test_nodes.reset()
    yield


@pytest.fixture
def pipewire(portaudio) -> None:
    """A running PipeWire server (with its PulseAudio and ALSA front ends)."""
    import subprocess
    running = shutil.which("pw-cli") is not None and subprocess.run(
        ["pw-cli", "info", "0"], capture_output=True, timeout=10).returncode == 0
    require(running, "a running PipeWire server")


@pytest.fixture
def liblo() -> None:
    """liblo's command-line tools, an OSC implementation independent of ours."""
    require(shutil.which("oscdump") is not None and shutil.which("oscsend") is not None,
            "liblo-tools (oscsend, oscdump)")


@pytest.fixture
def puredata() -> str:
    path = shutil.which("pd")
    require(path is not None, "Pure Data (puredata-core)")
    return path


def free_udp_port() -> int:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(eng, condition, timeout: float = 5.0, step: float = 0.01) -> bool:
    """Step a running engine (its main thread's share) until `condition()`
    holds (True) or `timeout` passes (False)."""
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        eng.step(step)
        if condition():
            return True
    return False
