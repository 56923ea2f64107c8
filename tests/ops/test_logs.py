import logging
import re

from engine.ops.logs import LOG, FileLog, last_lines

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (INFO|WARNING|ERROR)\s+\S")


def test_every_line_has_wall_clock_time_and_level_and_files_rotate_by_size_and_count(tmp_path):
    log = FileLog(tmp_path, "show", max_mb=0.002, files=3)    # 2 kB a file, 3 old files kept
    try:
        for i in range(200):
            LOG.log(logging.ERROR if i % 10 == 0 else logging.INFO, "line %d %s", i, "x" * 40)
    finally:
        log.close()
    files = sorted((tmp_path / "logs").iterdir())
    assert [f.name for f in files] == ["show.log", "show.log.1", "show.log.2", "show.log.3"]
    assert all(f.stat().st_size <= 2200 for f in files)            # rotated at the size asked
    lines = [line for f in files for line in f.read_text().splitlines()]
    assert lines and all(LINE.match(line) for line in lines), lines[:3]
    assert "line 199 " in files[0].read_text()                     # the newest in the live file
    assert "line 0 " not in "".join(lines)                         # the oldest rotated away
    errors = last_lines(files[0], "ERROR", count=4)
    assert [e.split()[3] for e in errors] == ["160", "170", "180", "190"]


def test_the_console_logs_through_the_same_lines(tmp_path):
    import io

    from engine.status import Console
    stream = io.StringIO()
    console = Console(stream=stream)
    log = FileLog(tmp_path, "show")
    try:
        console.say("camera lost", logging.WARNING)
        console.status(12.0, {"screen": {"fps": 30.0, "latency_p50_ms": None, "latency_p95_ms": None,
                                         "dropped": 0, "errors": 0}})
    finally:
        log.close()
        console.close()
    printed = stream.getvalue().splitlines()
    assert LINE.match(printed[0]) and printed[0].endswith("WARNING camera lost")
    assert "status" in printed[1] and "screen 30.0fps" in printed[1]   # into a pipe: logged every 10 s
    assert (tmp_path / "logs" / "show.log").read_text().splitlines()[0].split(" ", 1)[1] == \
        printed[0].split(" ", 1)[1]
