"""route_localnet: the host's value is recorded once, before staxad first changes it."""

from __future__ import annotations

from pathlib import Path

from staxad.reconcile.firewall import enable_route_localnet


def test_the_hosts_value_is_kept_across_restarts(tmp_path: Path) -> None:
    knob, saved = tmp_path / "route_localnet", tmp_path / "route_localnet.before"
    knob.write_text("0\n")
    enable_route_localnet(knob, saved)
    assert (knob.read_text().strip(), saved.read_text()) == ("1", "0\n")
    enable_route_localnet(knob, saved)  # a restart sees staxad's own 1: the record stays 0
    assert saved.read_text() == "0\n"


def test_nothing_to_restore_on_a_host_that_had_it_on(tmp_path: Path) -> None:
    knob, saved = tmp_path / "route_localnet", tmp_path / "route_localnet.before"
    knob.write_text("1\n")
    enable_route_localnet(knob, saved)
    assert (knob.read_text(), saved.read_text()) == ("1\n", "1\n")
