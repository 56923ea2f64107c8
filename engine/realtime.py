"""Interpreter settings for real-time work, applied once the engine has started.

- The GIL switch interval drops from 5 ms to 1 ms: a thread that needs the GIL
  (the window, an audio callback) waits at most that long for a busy one (an
  OSC flood, a Python-heavy node). Measured: DESIGN.md, docs/BENCHMARKS.md.
- `gc.freeze()` moves everything alive after start-up (TensorFlow's and the
  nodes' objects) out of the collector's sight, so a full collection no longer
  walks hundreds of thousands of objects (DESIGN.md saw 200 ms pauses).
"""

from __future__ import annotations

import gc
import sys

SWITCH_INTERVAL_S = 0.001


def tune_for_real_time() -> None:
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.collect()
    gc.freeze()
