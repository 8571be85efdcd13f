"""The command line: serve, admin, migrate, doctor. The only place that exits."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from staxad import __version__
from staxad.config import ConfigError, Settings, load
from staxad.core.context import Context
from staxad.core.platform import Platform
from staxad.model.errors import ApiError, SchemaTooNew
from staxad.store import backup, migrations, providers
from staxad.store.db import Database
from staxad.store.secretbox import SecretBox

DEFAULT_CONFIG = "/etc/staxad/staxad.toml"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="staxad", description="staxad: a self-hosted platform daemon.")
    parser.add_argument("--version", action="version", version=f"staxad {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--config",
            default=os.environ.get("STAXAD_CONFIG"),
            help=f"config file (default: $STAXAD_CONFIG, else {DEFAULT_CONFIG} if it exists)",
        )
        return p

    with_config(sub.add_parser("serve", help="run the daemon in the foreground"))
    with_config(sub.add_parser("migrate", help="apply pending database migrations"))
    doctor = with_config(sub.add_parser("doctor", help="check this host and say what to fix"))
    doctor.add_argument(
        "--preflight",
        action="store_true",
        help="only the checks that can block (a trial container included), quietly; for scripts",
    )
    admin = sub.add_parser("admin", help="operator commands that work on the store directly")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    cp = with_config(admin_sub.add_parser("create-provider", help="create a provider (idempotent)"))
    cp.add_argument("--email", required=True)
    cp.add_argument("--name")
    ck = with_config(admin_sub.add_parser("create-key", help="create an API key; prints the key last"))
    ck.add_argument("--email", required=True, help="the provider's email; created if new")
    ck.add_argument("--name", default="admin", help="the key's name")
    ck.add_argument("--provider-name", help="display name if the provider is created")
    ck.add_argument("--mode", choices=("live", "test"), default="live")
    ck.add_argument("--scopes", default="*", help="comma-separated, e.g. '*,admin' (default '*')")
    ck.add_argument("--expires-at", help="ISO 8601 expiry")
    backup = with_config(admin_sub.add_parser("backup", help="write a consistent copy of the state to FILE"))
    backup.add_argument("file")
    restore = with_config(admin_sub.add_parser("restore", help="restore the state from FILE (staxad stopped)"))
    restore.add_argument("file")
    restore.add_argument("--force", action="store_true", help="replace an existing database")
    return parser


def _settings(path: str | None) -> Settings:
    if path is None and os.path.exists(DEFAULT_CONFIG):
        path = DEFAULT_CONFIG
    return load(path)


def _logging(settings: Settings) -> None:
    # Under systemd the journal stamps every line: no second timestamp.
    stamp = "" if os.environ.get("JOURNAL_STREAM") else "%(asctime)s "
    logging.basicConfig(
        level=settings.server.log_level.upper(),
        stream=sys.stderr,
        format=f"{stamp}%(levelname)s %(name)s: %(message)s",
    )
    # Each admin-API call to Caddy is routine; only its failures are worth a line.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLogger().level))


async def _with_platform(settings: Settings) -> tuple[Platform, Database]:
    db = Database(settings.database_path, settings.store.synchronous)
    await db.open()
    ctx = Context(db=db, box=SecretBox.from_file(settings.secret_key_path), settings=settings)
    return Platform(ctx), db


async def _create_provider(settings: Settings, email: str, name: str | None) -> str:
    platform, db = await _with_platform(settings)
    try:
        provider, created = await platform.accounts.register(email, name)
        return f"{'created' if created else 'exists'} provider {provider.id} <{provider.email}>"
    finally:
        await db.close()


async def _create_key(settings: Settings, args: argparse.Namespace) -> list[str]:
    platform, db = await _with_platform(settings)
    try:
        provider, _ = await platform.accounts.register(args.email, args.provider_name)
        scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
        key, raw = await platform.keys.create(provider.id, args.name, args.mode, scopes, args.expires_at)
        return [
            f"provider {provider.id} <{provider.email}>",
            f"key {key.id} ({key.mode}, scopes {','.join(key.scopes)})",
            raw,
        ]
    finally:
        await db.close()


async def _migrate(settings: Settings) -> str:
    db = Database(settings.database_path, settings.store.synchronous)
    await db.open()
    try:
        version = await db.schema_version()
        count = await providers.count(db)
        return (
            f"database {settings.database_path} at schema {version} (latest {migrations.latest()}); {count} providers"
        )
    finally:
        await db.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args.config)
        if args.command == "serve":
            _logging(settings)
            from staxad.daemon import serve

            serve(settings)
        elif args.command == "migrate":
            print(asyncio.run(_migrate(settings)))
        elif args.command == "doctor":
            from staxad.doctor import run_doctor

            return run_doctor(settings, preflight=args.preflight)
        elif args.admin_command == "create-provider":
            print(asyncio.run(_create_provider(settings, args.email, args.name)))
        elif args.admin_command == "create-key":
            print("\n".join(asyncio.run(_create_key(settings, args))))
        elif args.admin_command == "backup":
            made = backup.create(settings.database_path, settings.secret_key_path, Path(args.file))
            print(f"backed up {made['tenants']} tenants (schema {made['schema']}) to {args.file}")
        elif args.admin_command == "restore":
            got = backup.restore(Path(args.file), settings.database_path, settings.secret_key_path, args.force)
            print(
                f"restored {got['tenants']} tenants (schema {got['schema']}, made {got['created']}) into "
                f"{settings.data_dir}; start staxad and the reconciler brings them back"
            )
    except backup.BackupError as exc:
        print(f"staxad: {exc}", file=sys.stderr)
        return 1
    except (ConfigError, SchemaTooNew) as exc:
        print(f"staxad: {exc}", file=sys.stderr)
        return 2
    except ApiError as exc:
        print(f"staxad: {exc.message}", file=sys.stderr)
        return 1
    return 0
