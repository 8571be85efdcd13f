"""Building a git service's image: clone -> detect -> Containerfile -> podman build.

Tenant code runs here, so everything about a build is bounded and kept away from root:
git and podman run as the service user; the checkout is that user's folder inside a
root-owned work dir (staxad.adapters.workspace) that root reads only without following
links (staxad.adapters.checkout) and never walks or chowns. Builds queue for
`build.max_concurrent` slots; each is limited in time, log size, checkout size and file
count, and in memory/CPU where the host's cgroups allow it. podman never reads the
tenant's Containerfile: staxad parses it, checks the parse, pins the images it names by id
and writes its own rendering as a root-owned file (staxad.model.containerfile). Build steps reach
no host address: the firewall's sandbox table drops the service user's connections to
the host itself and to link-local addresses (staxad.model.sandbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

from staxad.adapters import git
from staxad.adapters.checkout import Checkout
from staxad.adapters.hostinfo import cgroups_v2
from staxad.adapters.podman import BuildLimits, Podman
from staxad.adapters.proc import LinesExit
from staxad.adapters.workspace import Workspace
from staxad.core.platform import Platform
from staxad.model import names
from staxad.model.containerfile import (
    Unparsable,
    base_images,
    copy_images,
    parse,
    pins_for,
    refusals,
    render,
    trigger_refusals,
)
from staxad.model.errors import PermanentError
from staxad.model.frameworks import BaseImages, detect
from staxad.model.records import Deployment, Service, Tenant
from staxad.reconcile.images import Images
from staxad.store import deployments as deployment_store
from staxad.store import images as image_store

Progress = Callable[[str], Awaitable[None]]
log = logging.getLogger("staxad.build")


class BuildLog:
    """The build's log file, cut at `limit` bytes with a marker line."""

    def __init__(self, path: Path, limit: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self.limit = limit
        self.written = 0
        self._file: IO[str] = path.open("a", encoding="utf-8")

    @property
    def full(self) -> bool:
        return self.written >= self.limit

    def write(self, line: str) -> None:
        if self.full:
            return
        text = line.rstrip("\n") + "\n"
        self.written += len(text.encode())
        if self.full:
            text = f"==> build log cut at {self.limit >> 20} MiB (build.max_log_mb)\n"
        self._file.write(text)
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class Builder:
    def __init__(self, platform: Platform, podman: Podman, images: Images) -> None:
        self.platform = platform
        self.podman = podman
        self.images = images
        self.settings = platform.ctx.settings
        user = self.settings.runtime.service_user
        self.workspace = Workspace(self.settings.work_root / "builds", user)
        self.git = git.Git(user, self.settings.git.allow_local_repos, self.settings.work_root / "gitconfig")
        self.slots = asyncio.Semaphore(self.settings.build.max_concurrent)

    def image_tag(self, tenant: Tenant, service: Service, d: Deployment) -> str:
        return f"{self.own_images(tenant)}{service.name}:{d.id.removeprefix('dep_')}"

    def own_images(self, tenant: Tenant) -> str:
        return names.image_prefix(self.settings.instance, tenant.name)

    def own_repositories(self, tenant: Tenant) -> frozenset[str]:
        """Exactly this tenant's built repositories (a prefix would also match tenant
        `acme-web`'s images for tenant `acme`)."""
        return frozenset(f"{self.own_images(tenant)}{service.name}" for service in tenant.services)

    async def build(self, tenant: Tenant, service: Service, d: Deployment, progress: Progress) -> str:
        build = self.settings.build
        log = BuildLog(self.settings.build_log(d.id), build.max_log_mb << 20)
        try:
            if self.slots.locked():
                await progress(f"Waiting for a build slot (build.max_concurrent = {build.max_concurrent})")
            async with self.slots:
                return await self._build(tenant, service, d, progress, log)
        except Exception as exc:
            log.write(f"==> build failed: {exc}")
            raise
        finally:
            log.close()
            await self.platform.tenants.prune_build_logs(service.id)

    async def _build(self, tenant: Tenant, service: Service, d: Deployment, progress: Progress, log: BuildLog) -> str:
        assert service.repo_url is not None
        build = self.settings.build
        began = time.monotonic()
        await self.workspace.remove(d.id)
        work = await asyncio.to_thread(self.workspace.prepare, d.id)
        try:
            self._write_git_config()
            repo = work / "repo"
            branch = d.branch or service.branch
            pinned = f", commit {d.commit_sha}" if d.commit_sha else ""
            log.write(f"==> cloning {service.repo_url} (branch {branch}{pinned})")
            await progress(f"Cloning {service.repo_url} ({branch})")
            limits = git.Limits(build.max_repo_mb << 20, build.max_files, self.settings.git.clone_timeout_seconds)
            token = await self._token(tenant, service.repo_url)
            commit = await self.git.clone(service.repo_url, branch, d.commit_sha, work, limits, token)
            log.write(f"==> commit {commit.sha}: {commit.message}")
            plan = await asyncio.to_thread(detect, Checkout(repo), self._base_images())
            checked = await self._check_containerfile(plan.containerfile, tenant, progress)
            containerfile = work / "Containerfile"  # root's, written from staxad's parse: what was checked is built
            containerfile.write_text(checked)
            containerfile.chmod(0o644)
            log.write(f"==> detected {plan.framework}" + (" (generated Containerfile below)" if plan.generated else ""))
            if plan.generated:
                for line in plan.containerfile.splitlines():
                    log.write(f"    {line}")
            async with self.platform.ctx.db.transaction() as tx:
                await deployment_store.update(
                    tx, d.id, commit_sha=commit.sha, commit_message=commit.message, framework=plan.framework
                )
            await progress(f"Building {plan.framework} app at {commit.sha[:12]}: {commit.message[:80]}")
            tag = self.image_tag(tenant, service, d)
            await self._podman_build(repo, containerfile, tag, log, progress)
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
        finally:
            await self.workspace.remove(d.id)

    async def _check_containerfile(self, text: str, tenant: Tenant, progress: Progress) -> str:
        """The Containerfile to build: staxad's rendering of its parse of `text`, with the
        images it names checked and pinned by id (never the tenant's own bytes)."""
        try:
            parsed = parse(text)
            own = self.own_repositories(tenant)
            refused = refusals(parsed, own)
            ids: dict[str, str] = {}
            if not refused:
                bases = base_images(parsed)[0]
                for image in [*bases, *(i for i in copy_images(parsed) if i not in bases)]:
                    await progress(f"Checking base image {image}")
                    ids[image] = image_id = await self.images.obtain(tenant, image, None, None)
                    if image in bases:
                        refused += trigger_refusals(image, await self.podman.onbuild_triggers(image_id), own)
            if not refused:
                return render(parsed, pins_for(parsed, ids))
        except Unparsable as exc:
            refused = exc.problems
        raise PermanentError("the Containerfile cannot be built here: " + "; ".join(refused))

    async def _token(self, tenant: Tenant, repo_url: str) -> git.HostToken | None:
        """The provider's GitHub installation token, for a repository on the GitHub host only."""
        token = await self.platform.github.clone_token(tenant.provider_id, repo_url)
        if token is None:
            return None
        github = self.settings.github
        return git.HostToken(github.web_url, token, github.ca_file)

    def _write_git_config(self) -> None:
        path = self.settings.work_root / "gitconfig"
        if self.settings.git.allow_local_repos and not path.exists():
            path.write_text(git.LOCAL_CONFIG)
            path.chmod(0o644)

    def _base_images(self) -> BaseImages:
        b = self.settings.build
        return BaseImages(b.node_image, b.python_image, b.go_image, b.go_runtime_image, b.static_image)

    async def _podman_build(self, repo: Path, containerfile: Path, tag: str, log: BuildLog, progress: Progress) -> None:
        limit = self.settings.build.timeout_seconds
        tail: list[str] = []
        # Leaving the loop early (log cap, timeout, cancel) kills the build's PID namespace
        # and with it its RUN steps, and only its own (staxad.adapters.podman.build).
        building = self.podman.build(repo, containerfile, tag, self._limits())
        try:
            async with asyncio.timeout(limit), contextlib.aclosing(building) as output:
                async for raw in output:
                    line = raw.decode(errors="replace").rstrip()
                    log.write(line)
                    if log.full:  # leaving the loop kills the build's process group
                        raise PermanentError(
                            f"the build wrote more than build.max_log_mb ({self.settings.build.max_log_mb} MiB) "
                            "of output; it was stopped"
                        )
                    tail = [*tail[-19:], line[:500]]
                    if line.startswith("STEP "):
                        await progress(line[:300])
        except TimeoutError:
            raise PermanentError(f"the build took longer than build.timeout_seconds ({limit} s)") from None
        except LinesExit as exc:
            last = "\n".join(tail[-8:])
            raise PermanentError(
                f"the image build failed (podman exited {exc.returncode}). Last output:\n{last}"
            ) from None

    def _limits(self) -> BuildLimits | None:
        """Memory and CPU for build steps; None where rootless cgroups cannot apply them
        (cgroups v1: podman fails every RUN step that asks), which doctor reports."""
        if not cgroups_v2():
            return None
        build = self.settings.build
        return BuildLimits(memory_mb=build.memory_mb, cpu_percent=build.cpu_percent)

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
