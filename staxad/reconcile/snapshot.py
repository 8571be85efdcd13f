"""The container spec a deployment started with, kept sealed in its record.

A repair (a container that was removed behind staxad's back) recreates the live
deployment's container from this snapshot, never from the tenant's current env or
settings: those may hold changes that were stored but never deployed, and a repair must
not deploy them (a breaking env value would turn a repair into an outage).
"""

from __future__ import annotations

import dataclasses
import json

from staxad.adapters.podman import ContainerSpec
from staxad.store.secretbox import SecretBox


def seal(box: SecretBox, spec: ContainerSpec) -> bytes:
    return box.seal(json.dumps(dataclasses.asdict(spec), sort_keys=True))


def unseal(box: SecretBox, sealed: bytes) -> ContainerSpec:
    return ContainerSpec(**json.loads(box.open(sealed)))
