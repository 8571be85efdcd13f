"""Building a git service's image: clone -> detect -> Containerfile -> podman build.

The checkout lives in a per-deployment work dir owned by the service user, whose
rootless podman builds it; the work dir is removed afterwards whatever happened. The
build log is a file per deployment under the data dir, kept after the build.
Nothing in the checkout is trusted: files are read only when they resolve inside it,
and the size of the checkout and of the image are bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

from staxad.adapters import git
from staxad.adapters.podman import Podman
from staxad.adapters.proc import LinesExit
from staxad.core.platform import Platform
from staxad.model.errors import PermanentError
from staxad.model.frameworks import BaseImages, Plan, detect
from staxad.model.records import Service, Tenant
from staxad.store import deployments as deployment_store
from staxad.store import images as image_store
from staxad.store.deployments import Deployment

Progress = Callable[[str], Awaitable[None]]
READ_LIMIT = 1 << 20  # detection reads at most 1 MiB of any file


class Checkout:
    """Read access to a checkout that never leaves it (symlinks included)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _inside(self, path: str) -> Path | None:
        candidate = self.root / path
        if not candidate.exists() and not candidate.is_symlink():
            return None
        resolved = candidate.resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise PermanentError(f"{path} in the repository is a link to outside it; refusing to use it")
        return resolved

    def read(self, path: str) -> str | None:
        found = self._inside(path)
        if found is None or not found.is_file():
            return None
        with found.open("rb") as handle:
            return handle.read(READ_LIMIT).decode(errors="replace")

    def list_dir(self, path: str) -> list[str]:
        found = self._inside(path)
        return sorted(entry.name for entry in os.scandir(found) if entry.is_dir(follow_symlinks=False)) if found else []

    def size(self) -> int:
        total = 0
        for folder, _dirs, files in os.walk(self.root):  # os.walk does not follow links
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(folder, name)).st_size
        return total


class BuildLog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def write(self, line: str) -> None:
        self._file.write(line.rstrip("\n") + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class Builder:
    def __init__(self, platform: Platform, podman: Podman) -> None:
        self.platform = platform
        self.podman = podman
        self.settings = platform.ctx.settings

    @property
    def work_root(self) -> Path:
        if self.settings.build.work_dir:
            return Path(self.settings.build.work_dir)
        home = pwd.getpwnam(self.settings.runtime.service_user).pw_dir
        return Path(home) / ".cache" / "staxad-builds" / self.settings.instance

    def image_tag(self, tenant: Tenant, service: Service, d: Deployment) -> str:
        return f"localhost/staxa-{self.settings.instance}/{tenant.name}-{service.name}:{d.id.removeprefix('dep_')}"

    async def build(self, tenant: Tenant, service: Service, d: Deployment, progress: Progress) -> str:
        assert service.repo_url is not None
        build = self.settings.build
        work = self.work_root / d.id
        log = BuildLog(self.settings.build_log(d.id))
        began = time.monotonic()
        try:
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True, mode=0o700)
            repo = work / "repo"
            branch = d.branch or service.branch
            log.write(
                f"==> cloning {service.repo_url} (branch {branch}{', commit ' + d.commit_sha if d.commit_sha else ''})"
            )
            await progress(f"Cloning {service.repo_url} ({branch})")
            commit = await git.clone(
                service.repo_url,
                branch,
                d.commit_sha,
                repo,
                allow_local=self.settings.git.allow_local_repos,
                timeout=self.settings.git.clone_timeout_seconds,
            )
            log.write(f"==> commit {commit.sha}: {commit.message}")
            shutil.rmtree(repo / ".git", ignore_errors=True)
            checkout = Checkout(repo)
            size_mb = checkout.size() / (1 << 20)
            if size_mb > build.max_repo_mb:
                raise PermanentError(
                    f"the checkout is {size_mb:.0f} MiB, more than build.max_repo_mb ({build.max_repo_mb} MiB)"
                )
            plan = detect(checkout, self._base_images())
            containerfile = self._containerfile(work, repo, plan)
            log.write(f"==> detected {plan.framework}" + (" (generated Containerfile below)" if plan.generated else ""))
            if plan.generated:
                for line in plan.containerfile.splitlines():
                    log.write(f"    {line}")
            async with self.platform.ctx.db.transaction() as tx:
                await deployment_store.update(
                    tx, d.id, commit_sha=commit.sha, commit_message=commit.message, framework=plan.framework
                )
            await progress(f"Building {plan.framework} app at {commit.sha[:12]}: {commit.message[:80]}")
            self._hand_to_service_user(work)
            tag = self.image_tag(tenant, service, d)
            await self._podman_build(repo, containerfile, tag, tenant, service, d, log, progress)
            size = await self.podman.image_size(tag) or 0
            if size > build.max_image_mb << 20:
                await self.podman.remove_image(tag)
                raise PermanentError(
                    f"the image is {size >> 20} MiB, more than build.max_image_mb ({build.max_image_mb} MiB)"
                )
            seconds = round(time.monotonic() - began, 2)
            async with self.platform.ctx.db.transaction() as tx:
                await image_store.record(tx, tenant.id, tag, "built", service.id, self.platform.ctx.now())
                await deployment_store.update(tx, d.id, build_seconds=seconds)
            log.write(f"==> built {tag} ({size >> 20} MiB) in {seconds:.1f} s")
            return tag
        except Exception as exc:
            log.write(f"==> build failed: {exc}")
            raise
        finally:
            log.close()
            shutil.rmtree(work, ignore_errors=True)

    def _base_images(self) -> BaseImages:
        b = self.settings.build
        return BaseImages(b.node_image, b.python_image, b.go_image, b.go_runtime_image, b.static_image)

    @staticmethod
    def _containerfile(work: Path, repo: Path, plan: Plan) -> Path:
        if not plan.generated:
            return repo / ("Containerfile" if (repo / "Containerfile").exists() else "Dockerfile")
        path = work / "Containerfile.staxa"  # outside the checkout: the repo cannot replace it
        path.write_text(plan.containerfile)
        return path

    def _hand_to_service_user(self, work: Path) -> None:
        user = pwd.getpwnam(self.settings.runtime.service_user)
        for folder, dirs, files in os.walk(work):
            for name in (folder, *(os.path.join(folder, n) for n in (*dirs, *files))):
                os.chown(name, user.pw_uid, user.pw_gid, follow_symlinks=False)

    async def _podman_build(
        self,
        repo: Path,
        containerfile: Path,
        tag: str,
        tenant: Tenant,
        service: Service,
        d: Deployment,
        log: BuildLog,
        progress: Progress,
    ) -> None:
        limit = self.settings.build.timeout_seconds
        tail: list[str] = []
        try:
            async with asyncio.timeout(limit):
                async for raw in self.podman.build(repo, containerfile, tag):
                    line = raw.decode(errors="replace").rstrip()
                    log.write(line)
                    tail = [*tail[-19:], line]
                    if line.startswith("STEP "):
                        await progress(line[:300])
        except TimeoutError:
            raise PermanentError(f"the build took longer than build.timeout_seconds ({limit} s)") from None
        except LinesExit as exc:
            last = "\n".join(tail[-8:])
            raise PermanentError(
                f"the image build failed (podman exited {exc.returncode}). Last output:\n{last}"
            ) from None

    async def prune(self, tenant: Tenant, service: Service, keep_ref: str | None) -> None:
        """Keep the newest `build.keep_images` built images of a service (and the running one)."""
        refs = await image_store.built_for_service(self.platform.ctx.db, service.id)
        keep = set(refs[: self.settings.build.keep_images]) | ({keep_ref} if keep_ref else set())
        for ref in refs:
            if ref in keep:
                continue
            await self.podman.remove_image(ref)
            async with self.platform.ctx.db.transaction() as tx:
                await image_store.forget(tx, tenant.id, ref)
