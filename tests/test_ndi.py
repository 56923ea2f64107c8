"""NDI's discovery configuration and source matching (no runtime needed)."""

import json

from engine import ndi


def test_discovery_adds_addresses_and_keeps_the_users_own_configuration(tmp_path):
    user = tmp_path / "ndi-config.v1.json"
    user.write_text(json.dumps({"ndi": {"groups": {"recv": "stage"}, "networks": {"ips": "10.0.0.5"}}}))
    config = ndi.discovery_config("127.0.0.1, 10.0.0.5,", user)
    assert config["ndi"]["networks"]["ips"] == "10.0.0.5,127.0.0.1"
    assert config["ndi"]["groups"] == {"recv": "stage"}


def test_discovery_without_a_user_configuration_or_with_a_broken_one(tmp_path):
    assert ndi.discovery_config("127.0.0.1")["ndi"]["networks"]["ips"] == "127.0.0.1"
    broken = tmp_path / "ndi-config.v1.json"
    broken.write_text("{not json")
    assert ndi.discovery_config("192.168.1.20", broken) == {"ndi": {"networks": {"ips": "192.168.1.20"}}}


def test_a_source_is_matched_by_part_of_its_name_in_any_case():
    assert ndi.matches("STAGE-PC (TouchDesigner Out)", "touchdesigner")
    assert ndi.matches("STAGE-PC (TouchDesigner Out)", "")
    assert not ndi.matches("STAGE-PC (TouchDesigner Out)", "resolume")
