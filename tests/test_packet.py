from engine.packet import ANY, AUDIO, CONTROL, VIDEO, Packet, types_compatible


def test_derive_keeps_the_timestamp_of_the_input():
    packet = Packet("frame", 1234)
    answer = packet.derive("styled frame")
    assert answer == Packet("styled frame", 1234)


def test_port_types_match_exactly_or_through_any():
    assert types_compatible(VIDEO, VIDEO)
    assert types_compatible(VIDEO, ANY) and types_compatible(ANY, AUDIO)
    assert not types_compatible(VIDEO, AUDIO)
    assert not types_compatible(CONTROL, VIDEO)
