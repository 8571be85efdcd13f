"""Root reads a checkout the service user owns without following any link, and a
clone's tree is checked against the limits before anything is checked out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from staxad.adapters.checkout import Checkout
from staxad.adapters.git import Limits, check_tree
from staxad.model.errors import PermanentError


def test_reads_inside_and_refuses_every_link(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("app = FastAPI()\n")
    (tmp_path / "package.json").write_text("{}")
    secret = tmp_path.parent / f"{tmp_path.name}-secret"
    secret.write_text("root's secret\n")
    (tmp_path / "Dockerfile").symlink_to(secret)
    (tmp_path / "inside").symlink_to(tmp_path / "package.json")
    (tmp_path / "dir").symlink_to(tmp_path.parent)
    os.mkfifo(tmp_path / "fifo")
    files = Checkout(tmp_path)
    assert files.read("package.json") == "{}"
    assert files.read("app/main.py") == "app = FastAPI()\n"
    assert files.read("missing") is None and files.read("app/missing/x") is None
    assert files.read("fifo") is None  # never blocks on a FIFO
    assert files.list_dir(".") == ["app"] and files.list_dir("app") == []
    for link in ("Dockerfile", "inside", f"dir/{secret.name}"):
        with pytest.raises(PermanentError, match="symbolic link"):
            files.read(link)
    with pytest.raises(PermanentError, match="symbolic link"):
        files.list_dir("dir")
    with pytest.raises(PermanentError, match="inside"):
        files.read("../x")


def _entry(size: int, path: str) -> bytes:
    return f"100644 blob {'a' * 40} {size:>7}\t{path}".encode()


def test_tree_limits() -> None:
    limits = Limits(max_bytes=1000, max_files=3, timeout=1)
    check_tree(b"\0".join([_entry(400, "a"), _entry(500, "b c")]) + b"\0", limits)
    with pytest.raises(PermanentError, match=r"build\.max_repo_mb"):
        check_tree(b"\0".join([_entry(600, "a"), _entry(600, "b")]), limits)
    with pytest.raises(PermanentError, match=r"build\.max_files"):
        check_tree(b"\0".join(_entry(1, str(n)) for n in range(4)), limits)
    check_tree(b"160000 commit " + b"b" * 40 + b"       -\tsubmodule", limits)  # no size for a submodule
