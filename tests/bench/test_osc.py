import json

import pytest
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("server", ["thread", "process"])
def test_bench_osc_floods_and_accounts_for_every_datagram(display, tmp_path, server):
    out = tmp_path / "osc.json"
    result = subprocess.run([sys.executable, "-m", "engine", "bench", "osc", "--seconds", "2", "--rate", "2000",
                             "--server", server, "--json", str(out)], cwd=REPO, capture_output=True, text=True,
                            timeout=180)
    print(result.stdout, result.stderr)
    assert result.returncode == 0
    figures = {k.removeprefix("process_"): v for k, v in json.loads(out.read_text()).items()}
    assert figures["sent_valid"] > 3000 and figures["sent_garbage"] > 300
    assert figures["applied"] + figures["malformed"] == figures["datagrams_read"]
    assert figures["datagrams_read"] >= 0.99 * (figures["sent_valid"] + figures["sent_garbage"])
    assert figures["quiet_fps"] > 20 and figures["flood_fps"] > 20
