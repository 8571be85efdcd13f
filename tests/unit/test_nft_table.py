"""The nft adapter's table: element diffs while the kernel holds what was loaded, the
whole table otherwise. The kernel side is a recorder here; tests/integration and
tests/faults load the same documents into the real nft."""

from __future__ import annotations

from typing import Any

import pytest

from staxad.adapters.nft import Nft, Table
from staxad.model.errors import TemporaryError
from staxad.model.nftables import Forward, Ruleset, host_ruleset


class Kernel(Nft):
    def __init__(self) -> None:
        super().__init__()
        self.documents: list[str] = []
        self.refuse_diffs = False
        self.present = True

    async def apply(self, document: str) -> None:
        whole = document.startswith("add table")
        if self.refuse_diffs and not whole:
            raise TemporaryError("nft refused the ruleset: No such file or directory")
        self.documents.append("whole" if whole else document.strip())
        self.present = True

    async def table(self, family: str, name: str) -> dict[str, Any] | None:
        return {"nftables": []} if self.present else None


def ruleset(*ports: int) -> Ruleset:
    return host_ruleset("staxad-t", [Forward("tcp", "198.18.0.0/24", port, port + 10000, f"r{port}") for port in ports])


async def test_first_load_is_whole_then_only_changed_elements() -> None:
    kernel = Kernel()
    table = Table(kernel, "ip", "staxad-t")
    assert await table.set(ruleset(30001))
    assert await table.set(ruleset(30001, 30002))
    assert not await table.set(ruleset(30001, 30002))  # nothing changed: no subprocess at all
    assert await table.set(ruleset(30002))
    assert kernel.documents[0] == "whole"
    assert kernel.documents[1].startswith("add element ip staxad-t inbound_tcp") and "30002" in kernel.documents[1]
    assert kernel.documents[2].startswith("delete element ip staxad-t inbound_tcp") and "30001" in kernel.documents[2]
    assert table.loads == 3


async def test_a_table_lost_behind_staxads_back_is_reloaded_whole_when_verified() -> None:
    kernel = Kernel()
    table = Table(kernel, "ip", "staxad-t")
    await table.set(ruleset(30001))
    kernel.present = False  # nft flush ruleset
    assert not await table.set(ruleset(30001))  # an ordinary pass trusts what it loaded
    assert await table.set(ruleset(30001), verify=True)
    assert kernel.documents == ["whole", "whole"]


async def test_a_refused_diff_falls_back_to_a_whole_load() -> None:
    kernel = Kernel()
    table = Table(kernel, "ip", "staxad-t")
    await table.set(ruleset(30001))
    kernel.refuse_diffs = True  # the table is not what staxad last loaded
    assert await table.set(ruleset(30001, 30002))
    assert kernel.documents == ["whole", "whole"]


async def test_a_refused_whole_load_leaves_the_last_loaded_state() -> None:
    class Refusing(Kernel):
        async def apply(self, document: str) -> None:
            raise TemporaryError("nft refused the ruleset: interval overlaps")

    table = Table(Refusing(), "ip", "staxad-t")
    with pytest.raises(TemporaryError):
        await table.set(ruleset(30001))
    assert table.loaded is None and table.loads == 0
