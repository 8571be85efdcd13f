"""A deployment's sealed container spec: what a repair recreates it from."""

from __future__ import annotations

import dataclasses
import json

from cryptography.fernet import Fernet

from staxad.model.containers import ContainerSpec
from staxad.reconcile.snapshot import seal, unseal
from staxad.store.secretbox import SecretBox

BOX = SecretBox(Fernet.generate_key())
SPEC = ContainerSpec("c", "img", "net", "web", 8080, {"PORT": "8080"}, {}, "small")


def test_a_spec_round_trips_whole() -> None:
    for spec in (SPEC, dataclasses.replace(SPEC, udp=True, volumes={"v": "/data"}, command=["sh"])):
        assert unseal(BOX, seal(BOX, spec)) == spec


def test_a_spec_sealed_before_udp_was_a_choice_publishes_udp_as_it_did() -> None:
    fields = dataclasses.asdict(SPEC)
    del fields["udp"]
    assert unseal(BOX, BOX.seal(json.dumps(fields))).udp is True
