"""The output window for a screen or projector, or a file when there is no screen.

The window belongs to the main thread (GUI toolkits require it), so this node
asks for it; nothing slow happens in it. Every frame is fitted to the window
(letterbox, crop or stretch). Live controls, as parameters (so OSC, scenes and
keys agree) and keys: `b` blackout, space freeze, `o` stats overlay, `f`
fullscreen, `q` or Esc quit. When frames stop arriving the window keeps the
last one and, after `no_signal_s`, dims it under a "NO SIGNAL" card; it never
freezes or closes because a camera went away.

With no display (or `--headless`) the node writes what it would have shown to
an mp4 file instead, and says where.

In kiosk mode (`--kiosk`, `[show] kiosk = true`: an installation) the window
is fullscreen without a cursor or screen blanking, `q`, Esc, `f` and the
close button do nothing (a closed window opens again), no key changes the
show (a visitor's keyboard), and the word "quit" typed within three seconds
stops it (OpenCV's keys carry no modifiers, so no chord). With no display yet it
waits for one instead of recording to a file, and opens when it comes.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from engine.clock import now_us
from engine.display import display_problem, monitor_geometry, monitors
from engine.node import Node, Option, Port, register
from engine.packet import VIDEO, Packet
from engine.params import BOOL, ParamSpec
from engine.processors.fit import FIT_MODES, fit_frame
from engine.sinks.recorder import RECORDER_OPTIONS, open_recorder

_KEYS = {ord("b"): "blackout", ord(" "): "freeze", ord("o"): "overlay"}
# OpenCV's keys carry no modifiers (shift+q reads as q), so no chord: a word.
KIOSK_STOP_WORD, KIOSK_STOP_WITHIN_S = "quit", 3.0
DISPLAY_CHECK_S = 2.0       # a kiosk window without a display looks for one this often
# Window title -> nodes using it (main thread only). A live reload opens the new
# node before closing the old; with the same title they share one window, and
# only the last to close destroys it.
_WINDOW_USERS: dict[str, int] = {}


@register
class WindowSink(Node):
    type_name = "window"
    presents = "video"
    description = "Shows a video stream in a window (fullscreen on a projector), or records it headless."
    inputs = (Port("video", VIDEO),)
    options = {
        "title": Option(str, "tensorstage", "window title"),
        "fullscreen": Option(bool, False, "start fullscreen"),
        "monitor": Option(int, -1, "monitor to open on (tensorstage devices lists them); -1 any", min=-1),
        "aspect": Option(str, "letterbox", "fitting frames to the window: letterbox, crop or stretch",
                         choices=FIT_MODES),
        "no_signal_s": Option(float, 2.0, "after this long without frames, show NO SIGNAL; 0 never", min=0),
        "fallback": Option(str, "file", "with no display: record to a file, or show nothing",
                           choices=("file", "none")),
        **RECORDER_OPTIONS,
    }
    params = {
        "blackout": ParamSpec(BOOL, False, "show black (key b)"),
        "freeze": ParamSpec(BOOL, False, "hold the current frame (space)"),
        "overlay": ParamSpec(BOOL, False, "show fps, latency and drops of every node (key o)"),
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.headless_reason = "headless run (--headless)" if self.context.headless else display_problem()
        self.kiosk = self.context.kiosk and not self.context.headless
        self.kiosk_display = None
        self.recorder = None
        self.shown: deque[int] = deque(maxlen=600)  # timestamps of the frames presented, newest last
        self._typed: deque[tuple[str, float]] = deque(maxlen=len(KIOSK_STOP_WORD))

    def wants_main_thread(self) -> bool:
        return self.headless_reason is None or self.kiosk     # a kiosk window may get its display later

    def open(self) -> None:
        self._last: Packet | None = None
        self._frozen: Packet | None = None
        self._last_arrival_us = now_us()
        self._no_signal_shown_us = 0
        self._window_size: tuple[int, int] | None = None
        self._size_checked_us = 0
        self._overlay_text: list[str] = []
        self._overlay_us = 0
        self._display_checked_us = 0
        if self.headless_reason is None:
            self._open_window()
        elif self.kiosk:
            self.report(f"kiosk: {self.headless_reason}; waiting for a display (looking every "
                        f"{DISPLAY_CHECK_S:g} s)")
        elif self.opts["fallback"] == "file":
            self.recorder = open_recorder(self.opts, self.context)
            self.report(f"{self.headless_reason}: writing the output to {self.recorder.path}")
        else:
            self.report(f"{self.headless_reason}: the output is not shown anywhere")

    def _open_window(self) -> None:
        title = self.opts["title"]
        cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_FREERATIO | cv2.WINDOW_GUI_NORMAL)
        _WINDOW_USERS[title] = _WINDOW_USERS.get(title, 0) + 1
        where = ""
        if self.opts["monitor"] >= 0:
            found = monitors()
            if self.opts["monitor"] < len(found) and monitor_geometry(found[self.opts["monitor"]]):
                x, y, width, height = monitor_geometry(found[self.opts["monitor"]])
                cv2.moveWindow(title, x, y)
                where = f" on monitor {self.opts['monitor']} ({width}x{height} at +{x}+{y})"
            else:
                self.report(f"monitor {self.opts['monitor']} not found ({len(found)} monitors): "
                            "opening where the window manager puts it")
        self._fullscreen = False
        self._sized_to_frame = False
        if self.opts["fullscreen"] or self.kiosk:
            self._set_fullscreen(True)
        if self.kiosk:
            # Cover the monitor by geometry too: a bare X server (no window
            # manager, as behind many projectors) ignores the fullscreen hint.
            found = monitors()
            chosen = found[self.opts["monitor"]] if 0 <= self.opts["monitor"] < len(found) else \
                (found[0] if found else "")
            geometry = monitor_geometry(chosen) if chosen else None
            if geometry:
                cv2.moveWindow(title, geometry[0], geometry[1])
                cv2.resizeWindow(title, geometry[2], geometry[3])
                self._sized_to_frame = True
            from engine.ops.kiosk import KioskDisplay
            self.kiosk_display = self.kiosk_display or KioskDisplay()
            done = self.kiosk_display.apply()
            self.report(f"kiosk: window {title!r} fullscreen{where}; {'; '.join(done)}; stop: type \"quit\" "
                        "within 3 s, or send SIGTERM")
        else:
            self.report(f"showing the output in window {title!r}{where}; keys: q quit, f fullscreen, "
                        "b blackout, space freeze, o overlay")

    # Frames in ---------------------------------------------------------------
    def process(self, inputs: dict[str, Packet]) -> None:
        packet = inputs["video"]
        self._last = packet
        if self._no_signal_shown_us:
            self.report(f"signal back after {(now_us() - self._last_arrival_us) / 1e6:.1f} s")
        self._last_arrival_us = now_us()
        self._no_signal_shown_us = 0
        if self.param["freeze"]:
            self._frozen = self._frozen or packet
            packet = Packet(self._frozen.value, packet.ts_us)
        else:
            self._frozen = None
        if self.kiosk:
            if self.headless_reason is not None:
                self._look_for_display()
                return
            self._reopen_if_closed()          # before imshow, which would make a plain window of it
        frame = self._compose(packet.value, packet.ts_us)
        if self.headless_reason is None:
            self._show(frame)
            self.shown.append(packet.ts_us)
            self._keys()
        elif self.recorder is not None:
            self.recorder.write(frame, packet.ts_us)
            self.shown.append(packet.ts_us)

    def _look_for_display(self) -> None:
        now = now_us()
        if now - self._display_checked_us < DISPLAY_CHECK_S * 1e6:
            return
        self._display_checked_us = now
        if display_problem() is None:
            self.headless_reason = None
            self.report("kiosk: a display is there now; opening the window")
            self._open_window()

    def idle(self) -> None:
        """No frame for a while: keep the window responsive; show NO SIGNAL when due."""
        if self.kiosk:
            if self.headless_reason is not None:
                self._look_for_display()
                return
            self._reopen_if_closed()          # once per frame or idle pass, before anything is shown
        now = now_us()
        silent_s = (now - self._last_arrival_us) / 1e6
        limit = self.opts["no_signal_s"]
        if limit > 0 and silent_s >= limit and now - self._no_signal_shown_us >= 1_000_000:
            if not self._no_signal_shown_us:
                self.report(f"no frames for {silent_s:.1f} s: showing NO SIGNAL")
            self._no_signal_shown_us = now
            card = self._no_signal_card(silent_s)
            if self.headless_reason is None:
                self._show(card)
            elif self.recorder is not None:
                self.recorder.write(card, now)
        if self.headless_reason is None:
            self._keys()

    def _compose(self, frame: np.ndarray, ts_us: int) -> np.ndarray:
        if self.param["blackout"]:
            return np.zeros_like(frame)
        if self.param["overlay"]:
            frame = frame.copy()
            self._draw_overlay(frame, ts_us)
        return frame

    def _no_signal_card(self, silent_s: float) -> np.ndarray:
        if self._last is not None:
            card = (self._last.value // 4).astype(np.uint8)
        else:
            card = np.zeros((480, 640, 3), dtype=np.uint8)
        height, width = card.shape[:2]
        scale = max(0.6, width / 500)
        for text, y, size in (("NO SIGNAL", height // 2, scale * 1.5),
                              (f"no frames for {silent_s:.0f} s", height // 2 + int(40 * scale), scale * 0.6)):
            (w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, max(1, int(size * 2)))
            cv2.putText(card, text, ((width - w) // 2, y), cv2.FONT_HERSHEY_SIMPLEX, size,
                        (255, 255, 255), max(1, int(size * 2)), cv2.LINE_AA)
        return card

    def _draw_overlay(self, frame: np.ndarray, ts_us: int) -> None:
        now = now_us()
        if now - self._overlay_us >= 500_000:
            self._overlay_us = now
            lines = []
            for name, f in self.context.snapshot().items():
                line = f"{name:<10} {f['fps']:5.1f} fps"
                if f["latency_p50_ms"] is not None:
                    line += f"  lat {f['latency_p50_ms']:.0f}/{f['latency_p95_ms']:.0f} ms"
                if f["dropped"] or f["errors"]:
                    line += f"  drop {f['dropped']} err {f['errors']}"
                lines.append(line)
            self._overlay_text = lines
        scale = max(0.4, frame.shape[1] / 1600)
        step = int(22 * scale / 0.5)
        top = frame.shape[0] // 12
        cv2.rectangle(frame, (0, top), (int(frame.shape[1] * 0.6), top + step * (len(self._overlay_text) + 1)),
                      (0, 0, 0), -1)
        for i, line in enumerate(self._overlay_text):
            cv2.putText(frame, line, (10, top + step * (i + 1)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                        (255, 255, 255), 1, cv2.LINE_AA)

    # The window ----------------------------------------------------------------
    def _show(self, frame: np.ndarray) -> None:
        title = self.opts["title"]
        if not self._sized_to_frame and not self._fullscreen:
            self._sized_to_frame = True  # first frame: open at its size
            cv2.resizeWindow(title, frame.shape[1], frame.shape[0])
        size = self._size()
        if size is not None and size != (frame.shape[1], frame.shape[0]):
            frame = fit_frame(frame, size[0], size[1], self.opts["aspect"])
        cv2.imshow(title, frame)

    def _size(self) -> tuple[int, int] | None:
        """The window's drawable size, asked at most twice a second."""
        now = now_us()
        if now - self._size_checked_us >= 500_000:
            self._size_checked_us = now
            _, _, width, height = cv2.getWindowImageRect(self.opts["title"])
            self._window_size = (width, height) if width > 0 and height > 0 else None
        return self._window_size

    def _keys(self) -> None:
        key = cv2.waitKey(1) & 0xFF
        if self.kiosk:
            self._kiosk_keys(key)
            return
        if key in (ord("q"), 27):
            self.context.request_stop(f"{'Esc' if key == 27 else 'q'} pressed in the window")
        elif key == ord("f"):
            self._set_fullscreen(not self._fullscreen)
        elif key in _KEYS:
            name = _KEYS[key]
            self.param.set(name, not self.param[name])
        elif key != 255 and self.context.key_pressed(chr(key)):
            pass                                 # a node's key (learn: record, train, run)
        elif cv2.getWindowProperty(self.opts["title"], cv2.WND_PROP_VISIBLE) < 1:
            self.context.request_stop("the window was closed")

    def _kiosk_keys(self, key: int) -> None:
        """Only the stop word counts."""
        if key != 255:
            self._typed.append((chr(key), now_us() / 1e6))
            word = "".join(c for c, _ in self._typed)
            if word == KIOSK_STOP_WORD and self._typed[-1][1] - self._typed[0][1] <= KIOSK_STOP_WITHIN_S:
                self.context.request_stop(f'"{KIOSK_STOP_WORD}" typed in the kiosk window')

    def _reopen_if_closed(self) -> None:
        try:
            # Hidden by the close button (0), or destroyed (Qt's backend raises).
            closed = cv2.getWindowProperty(self.opts["title"], cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            closed = True
        if closed:
            self.report("kiosk: the window was closed; opening it again")
            _WINDOW_USERS[self.opts["title"]] -= 1
            self._open_window()

    def _set_fullscreen(self, on: bool) -> None:
        self._fullscreen = on
        self._size_checked_us = 0
        cv2.setWindowProperty(self.opts["title"], cv2.WND_PROP_FULLSCREEN,
                              cv2.WINDOW_FULLSCREEN if on else cv2.WINDOW_NORMAL)

    def close(self) -> None:
        if self.kiosk_display is not None:
            self.kiosk_display.release()
        if self.headless_reason is None:
            title = self.opts["title"]
            _WINDOW_USERS[title] -= 1
            if _WINDOW_USERS[title] == 0:
                del _WINDOW_USERS[title]
                # By name: after destroyAllWindows, OpenCV 5's Qt backend draws new
                # windows black. Let Qt finish the deletion, or a new window of the
                # same name opened right after is deleted with it.
                cv2.destroyWindow(title)
                for _ in range(10):
                    cv2.waitKey(5)
        if self.recorder is not None:
            self.recorder.close()
            if self.recorder.frames_written:
                self.report(f"wrote {self.recorder.frames_written} frames to {self.recorder.path}")
