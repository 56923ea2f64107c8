import cv2
import numpy as np
import pytest

from engine import timecode


@pytest.mark.parametrize("ts", [0, 1, 123_456_789, (1 << 48) - 1])
def test_burned_timestamp_reads_back(ts):
    frame = np.full((480, 640, 3), 90, dtype=np.uint8)
    timecode.burn(frame, ts)
    assert timecode.read(frame) == ts


def test_only_the_low_48_bits_are_burned():
    frame = np.zeros((120, 160, 3), dtype=np.uint8)
    timecode.burn(frame, (1 << 48) + 5)
    assert timecode.read(frame) == 5


def test_survives_scaling_and_jpeg_compression():
    frame = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    timecode.burn(frame, 987_654_321)
    scaled = cv2.resize(frame, (1920, 1080), interpolation=cv2.INTER_LINEAR)
    ok, jpeg = cv2.imencode(".jpg", scaled, [cv2.IMWRITE_JPEG_QUALITY, 40])
    assert ok
    assert timecode.read(cv2.imdecode(jpeg, cv2.IMREAD_COLOR)) == 987_654_321


def test_a_frame_without_a_code_reads_as_none():
    assert timecode.read(np.zeros((480, 640, 3), dtype=np.uint8)) is None
    assert timecode.read(np.full((480, 640, 3), 255, dtype=np.uint8)) is None


def test_a_flipped_bit_fails_the_parity_check():
    frame = np.zeros((480, 640, 3), dtype=np.uint8)
    timecode.burn(frame, 1000)
    cell = 640 // timecode.CELLS
    frame[:16, 10 * cell: 11 * cell] = 255 - frame[:16, 10 * cell: 11 * cell]
    assert timecode.read(frame) is None
