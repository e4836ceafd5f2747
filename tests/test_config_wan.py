"""The [wan], [device], [power] sections and state.flash_dir: defaults, and refusals naming the key."""

from __future__ import annotations

import pytest
from wanutil import make_config

from zte_uxip.errors import ConfigError


def test_defaults(tmp_path):
    cfg = make_config(tmp_path)
    assert (cfg.wan.iface, cfg.wan.cycle_start_day, cfg.wan.limit_bytes) == ("", 1, 0)
    assert cfg.power.long_charging_s == 86400 and cfg.device.min_sw_version == ""
    assert cfg.state.flash_dir.endswith("flash")


@pytest.mark.parametrize(("section", "value", "key"), [
    ("wan", {"cycle_start_day": 31}, "wan.cycle_start_day"),
    ("wan", {"cycle_start_day": "1"}, "wan.cycle_start_day"),
    ("wan", {"limit_bytes": -5}, "wan.limit_bytes"),
    ("wan", {"iface": "../../etc"}, "wan.iface"),
    ("wan", {"ifname": "eth0"}, "wan.ifname"),
    ("power", {"long_charging_s": 5}, "power.long_charging_s"),
    ("device", {"min_sw_version": 23}, "device.min_sw_version"),
])
def test_refused_with_the_key_named(tmp_path, section, value, key):
    with pytest.raises(ConfigError) as e:
        make_config(tmp_path, **{section: value})
    assert str(e.value).startswith(key)
