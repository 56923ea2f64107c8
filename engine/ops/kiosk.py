"""What kiosk mode asks of the X display besides the window: no cursor and
no screen blanking or power saving while the show runs.

The cursor is hidden with XFixes (libXfixes, through ctypes: one call, no
new dependency); the hiding lasts while our connection to the display stays
open. Blanking and DPMS are switched off with `xset`, the X tool made for it.
Both are applied again whenever the window opens (after a display restart).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess


class KioskDisplay:
    def __init__(self) -> None:
        self._x11 = self._xfixes = None
        self._display = None

    def apply(self) -> list[str]:
        """Hide the cursor and stop blanking; what was done and what could not be."""
        said = [self._hide_cursor(), self._no_blanking()]
        return [s for s in said if s]

    def _hide_cursor(self) -> str:
        try:
            if self._x11 is None:
                self._x11, self._xfixes = ctypes.CDLL("libX11.so.6"), ctypes.CDLL("libXfixes.so.3")
                self._x11.XOpenDisplay.restype = ctypes.c_void_p
                self._x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
                self._x11.XDefaultRootWindow.restype = ctypes.c_ulong
                self._x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
                self._x11.XFlush.argtypes = [ctypes.c_void_p]
                self._x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
                self._xfixes.XFixesHideCursor.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
                self._xfixes.XFixesShowCursor.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        except OSError as error:
            return f"the cursor stays visible: {error} (apt install libxfixes3)"
        self.release()
        self._display = self._x11.XOpenDisplay(None)
        if not self._display:
            return "the cursor stays visible: cannot connect to the display"
        self._xfixes.XFixesHideCursor(self._display, self._x11.XDefaultRootWindow(self._display))
        self._x11.XFlush(self._display)
        return "cursor hidden"

    @staticmethod
    def _no_blanking() -> str:
        if shutil.which("xset") is None:
            return "the screen may blank: xset is missing (apt install x11-xserver-utils)"
        subprocess.run(["xset", "s", "off", "s", "noblank"], capture_output=True, timeout=10)
        # Not every server has DPMS (Xvfb has not): its refusal is not news.
        subprocess.run(["xset", "-dpms"], capture_output=True, timeout=10)
        return "screen blanking and power saving off"

    def release(self) -> None:
        if self._display:
            self._xfixes.XFixesShowCursor(self._display, self._x11.XDefaultRootWindow(self._display))
            self._x11.XCloseDisplay(self._display)
            self._display = None
