"""A real Pure Data round trip: Pd changes parameters in the running engine and
receives its control streams and heartbeat."""

import subprocess
import time

from engine.events import EventLog
from engine.graph import Engine
from engine.osc.bridge import OscBridge, OscConfig
from engine.patch import parse_patch
from tests.conftest import free_udp_port
from tests.osc.test_bridge import PATCH

# Objects are numbered in the order they appear; `#X connect A outlet B inlet`.
PD_PATCH = """#N canvas 0 50 600 400 12;
#X obj 20 20 loadbang;
#X obj 20 50 delay 300;
#X obj 20 80 t b b;
#X msg 200 110 connect 127.0.0.1 {engine_port};
#X obj 20 260 netsend -u -b;
#X msg 20 110 0.25;
#X obj 20 140 oscformat color saturation;
#X obj 20 170 list prepend send;
#X obj 20 200 list trim;
#X obj 300 20 netreceive -u -b {pd_port};
#X obj 300 50 oscparse;
#X obj 300 80 print fromengine;
#X connect 0 0 1 0;
#X connect 1 0 2 0;
#X connect 2 1 3 0;
#X connect 3 0 4 0;
#X connect 2 0 5 0;
#X connect 5 0 6 0;
#X connect 6 0 7 0;
#X connect 7 0 8 0;
#X connect 8 0 4 0;
#X connect 9 0 10 0;
#X connect 10 0 11 0;
"""


def test_pure_data_drives_the_engine_and_hears_it(puredata, tmp_path):
    engine_port, pd_port = free_udp_port(), free_udp_port()
    patch_file = tmp_path / "roundtrip.pd"
    patch_file.write_text(PD_PATCH.format(engine_port=engine_port, pd_port=pd_port))
    eng = Engine(parse_patch(PATCH), events=EventLog())
    bridge = OscBridge(eng, OscConfig(listen=("127.0.0.1", engine_port), send_to=[("127.0.0.1", pd_port)],
                                      heartbeat_s=0.25, query=False))
    bridge.start()
    eng.start()
    pd = subprocess.Popen([puredata, "-nogui", "-nosound", "-nomidi", "-stderr", "-sleepgrain", "1",
                           "-open", str(patch_file)], stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 6
        while time.monotonic() < end and eng.store.target("color/saturation") != 0.25:
            eng.step(0.01)
        applied = eng.store.target("color/saturation")
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            eng.step(0.01)
    finally:
        pd.terminate()
        _, err = pd.communicate(timeout=10)
        eng.stop()
        bridge.stop()
    assert applied == 0.25, err                                   # Pd's parameter change took effect
    lines = [line for line in err.splitlines() if line.startswith("fromengine:")]
    assert any(line.startswith("fromengine: list analysis motion ") for line in lines), err[-2000:]
    assert any(line.startswith("fromengine: list tensorstage alive ") for line in lines), err[-2000:]
    assert any(line == "fromengine: list tensorstage patch patch" for line in lines), err[-2000:]
