"""Reading back env values a client got masked."""

from __future__ import annotations

import pytest

from staxad.model.envmask import MASK, unmask

STORED = {"API_TOKEN": "real", "PLAIN": "1"}


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ({"API_TOKEN": MASK, "PLAIN": "2"}, {"API_TOKEN": "real", "PLAIN": "2"}),
        ({"API_TOKEN": "new"}, {"API_TOKEN": "new"}),
        ({"PLAIN": MASK}, {"PLAIN": "1"}),  # an existing key: the mask keeps what is stored
        ({"OTHER": "****x"}, {"OTHER": "****x"}),  # only the exact mask is special
        ({}, {}),
    ],
)
def test_the_mask_keeps_the_stored_value(sent: dict[str, str], stored: dict[str, str]) -> None:
    assert unmask(sent, STORED) == stored


def test_the_mask_for_a_new_key_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="NEW, NEWER"):
        unmask({"NEW": MASK, "NEWER": MASK, "API_TOKEN": MASK}, STORED)
