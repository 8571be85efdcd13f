"""All use cases over one context: what the HTTP layer and the CLI call."""

from __future__ import annotations

from staxad.core.accounts import Accounts
from staxad.core.apikeys import ApiKeys
from staxad.core.backups import Backups
from staxad.core.context import Context
from staxad.core.databases import Databases
from staxad.core.deployments import Deployments
from staxad.core.domains import Domains
from staxad.core.env import Env
from staxad.core.execs import Execs
from staxad.core.github import GitHub
from staxad.core.netrules import NetworkRules
from staxad.core.reads import Reads
from staxad.core.registries import Registries
from staxad.core.runstate import RunState
from staxad.core.services import Services
from staxad.core.templates import Templates
from staxad.core.tenants import Tenants
from staxad.core.volumes import Volumes
from staxad.core.webhooks import Webhooks


class Platform:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.accounts = Accounts(ctx)
        self.keys = ApiKeys(ctx)
        self.deployments = Deployments(ctx)
        self.volumes = Volumes(ctx, self.deployments)
        self.backups = Backups(ctx, self.volumes)
        self.databases = Databases(ctx, self.deployments, self.volumes)
        self.templates = Templates(ctx.settings)
        self.registries = Registries(ctx)
        self.tenants = Tenants(ctx, self.volumes, self.templates, self.registries)
        self.services = Services(ctx, self.deployments, self.volumes, self.registries)
        self.env = Env(ctx, self.deployments)
        self.domains = Domains(ctx)
        self.netrules = NetworkRules(ctx)
        self.reads = Reads(ctx.db)
        self.webhooks = Webhooks(ctx)
        self.runstate = RunState(ctx)
        self.github = GitHub(ctx, self.deployments)
        self.execs = Execs(ctx)
