"""Is there a screen to draw on, and which monitors does it have?

Checked without touching OpenCV's GUI: its Qt backend aborts the whole process
when it cannot reach the X server, so we look for the server's socket first.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path


def display_problem() -> str | None:
    """None when an X display is reachable, else the reason it is not."""
    display = os.environ.get("DISPLAY", "")
    if not display:
        return "no display: DISPLAY is not set"
    match = re.match(r"^(?P<host>[^:]*):(?P<number>\d+)(\.\d+)?$", display)
    if not match:
        return f"no display: DISPLAY={display!r} is not of the form [host]:number"
    host, number = match["host"], int(match["number"])
    try:
        if host in ("", "unix"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                sock.connect(f"/tmp/.X11-unix/X{number}")
        else:
            with socket.create_connection((host, 6000 + number), timeout=1.0):
                pass
    except OSError as error:
        return f"no display: cannot reach the X server at DISPLAY={display} ({error.strerror or error})"
    return None


def monitor_geometry(line: str) -> tuple[int, int, int, int] | None:
    """(x, y, width, height) from a `xrandr --listmonitors` line such as
    ' 0: +*HDMI-1 1920/510x1080/287+1920+0  HDMI-1'."""
    match = re.search(r"(\d+)/\d+x(\d+)/\d+\+(\d+)\+(\d+)", line)
    if not match:
        return None
    width, height, x, y = (int(v) for v in match.groups())
    return x, y, width, height


def monitors() -> list[str]:
    """Monitors of the current display as `xrandr --listmonitors` names them."""
    if display_problem() is not None or shutil.which("xrandr") is None:
        return []
    try:
        out = subprocess.run(["xrandr", "--listmonitors"], capture_output=True, text=True,
                             timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.splitlines()[1:] if line.strip()]


def start_private_display() -> subprocess.Popen | None:
    """No display: start a private Xvfb (for a benchmark) and point DISPLAY at it;
    None when Xvfb is not installed."""
    if shutil.which("Xvfb") is None:
        return None
    for number in range(90, 100):
        if not Path(f"/tmp/.X11-unix/X{number}").exists():
            server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x720x24", "-s", "0", "-nolisten", "tcp"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            os.environ["DISPLAY"] = f":{number}"
            for _ in range(50):
                if display_problem() is None:
                    return server
                time.sleep(0.1)
            server.terminate()
    return None


def run_in_fresh_process(function, *args):
    """`function(*args)` in a new interpreter, its result returned. Code that opens
    windows runs there so each starts with fresh GUI toolkit state: OpenCV's Qt
    backend sometimes leaves a window unpainted (black) when another window was
    destroyed before it in the same process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    # Not a multiprocessing Pool: its workers are daemonic, and cannot start the audio process.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()
