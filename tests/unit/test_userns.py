"""Tenants' blocks of ids: how many a range holds, where each starts, and moving a
volume's files from one block to another."""

from __future__ import annotations

import os
import stat
import struct
import subprocess
from pathlib import Path

import pytest

from staxad.adapters.volumes import MOVE_IDS
from staxad.model.userns import BLOCK, base, capacity, shifted


@pytest.mark.parametrize(
    ("ranges", "slots"),
    [
        ([], 0),
        ([(100000, 65536)], 0),  # block 0 only: the shared one
        ([(100000, 65536), (165536, 65536)], 1),
        ([(100000, 65536), (165536, 65536 * 16383)], 16383),  # what host-setup gives
        ([(100000, 65536 * 16384)], 16383),  # the same, made in one piece on a new host
        ([(100000, 65536), (165536, 65535)], 1),  # the service user itself is intermediate id 0
        ([(100000, 65536), (165536, 65534)], 0),  # one id short of a block
        ([(100000, 0)], 0),
    ],
)
def test_capacity_counts_whole_blocks_after_the_shared_one(ranges: list[tuple[int, int]], slots: int) -> None:
    assert capacity(ranges) == slots


def test_blocks_start_where_their_slot_says_and_never_overlap() -> None:
    assert base(None) == 0
    assert [base(k) for k in (1, 2, 3)] == [BLOCK, 2 * BLOCK, 3 * BLOCK]


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        (BLOCK, 3 * BLOCK),  # root of block 1 -> root of block 3
        (BLOCK + 1000, 3 * BLOCK + 1000),
        (2 * BLOCK - 1, 4 * BLOCK - 1),
        (0, 0),  # the service user's own: not the block's
        (2 * BLOCK, 2 * BLOCK),  # another block's
        (3 * BLOCK + 7, 3 * BLOCK + 7),  # already moved: a second run changes nothing
    ],
)
def test_shifted_moves_only_ids_of_the_source_block(owner: int, expected: int) -> None:
    assert shifted(owner, BLOCK, 3 * BLOCK) == expected


def test_the_move_script_does_what_shifted_says_and_follows_no_link(tmp_path: Path) -> None:
    volume = tmp_path / "data"
    (volume / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.write_text("not the volume's")
    owners = {
        volume: BLOCK,
        volume / "sub": BLOCK + 33,
        volume / "sub" / "app": BLOCK + 1000,
        volume / "mine": 0,
        volume / "other": 2 * BLOCK + 5,
    }
    for path, owner in owners.items():
        if not path.exists():
            path.write_text("x")
        os.lchown(path, owner, owner)
    os.chmod(volume / "sub" / "app", 0o4755)
    # an ACL entry for one of the old block's ids: user BLOCK + 77 may read
    entries = [(0x01, 6, 0xFFFFFFFF), (0x02, 4, BLOCK + 77), (0x04, 4, 0xFFFFFFFF), (0x10, 4, 0xFFFFFFFF)]
    acl = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in [*entries, (0x20, 4, 0xFFFFFFFF)])
    os.setxattr(volume / "mine", "system.posix_acl_access", acl)
    assert "system.posix_acl_access" in os.listxattr(volume / "mine")
    link = volume / "sub" / "link"
    link.symlink_to(outside)
    os.lchown(link, BLOCK + 2, BLOCK + 2)
    os.chown(outside, BLOCK + 9, BLOCK + 9)
    for _ in range(2):  # a second run (after a crash) changes nothing more
        argv = ["/usr/bin/python3", "-I", "-c", MOVE_IDS, str(volume), str(BLOCK), str(3 * BLOCK), str(BLOCK)]
        subprocess.run(argv, check=True, timeout=30)
        for path, owner in owners.items():
            found = os.lstat(path)
            assert (found.st_uid, found.st_gid) == (shifted(owner, BLOCK, 3 * BLOCK),) * 2, path
    assert os.lstat(link).st_uid == 3 * BLOCK + 2
    assert os.stat(outside).st_uid == BLOCK + 9  # the link's target is not the volume's
    assert stat.S_IMODE(os.stat(volume / "sub" / "app").st_mode) == 0o4755
    assert "system.posix_acl_access" not in os.listxattr(volume / "mine")  # it named the old block
