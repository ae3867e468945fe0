"""The `hubbub` command: serve, migrate, createuser, bench.

Reads settings (environment, `.env`, flags), runs the start-up checks, and hands the
settings to the composition root. A setting that cannot work ends the command with
one line naming it and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from pydantic import ValidationError

from hubbub.config import PRIVATE_UMASK, SettingError, Settings
from hubbub.logs import JsonFormatter
from hubbub.logs import configure as configure_logs
from hubbub.security.redact import RedactSecrets

_SERVE_FLAGS = {
    "database_url": "--database-url",
    "redis_url": "--redis-url",
    "data_dir": "--data-dir",
    "host": "--host",
    "port": "--port",
    "jwt_secret": "--jwt-secret",
    "allowed_origins": "--allowed-origins",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hubbub", description="hubbub chat server")
    parser.add_argument("--version", action="version", version=f"hubbub {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_settings(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        for field, flag in _SERVE_FLAGS.items():
            p.add_argument(flag, dest=field, default=None, help=f"overrides HUBBUB_{field.upper()}")
        return p

    with_settings(sub.add_parser("serve", help="run the server"))
    with_settings(sub.add_parser("migrate", help="apply database migrations"))
    create = with_settings(sub.add_parser("createuser", help="make a user from the terminal"))
    create.add_argument("--username", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--display-name", default=None)
    create.add_argument(
        "--password", default=None, help="read from the terminal (or stdin) when omitted"
    )
    create.add_argument("--admin", action="store_true", help="make the user a server administrator")
    for name, text in (
        ("deactivate", "deactivate an account: end its sessions, cut its sockets"),
        ("reactivate", "let a deactivated account sign in again"),
        ("promote", "make a user a server administrator"),
        ("demote", "make a server administrator a plain user again"),
        ("reset-link", "print a one-time password-reset link for a user"),
    ):
        with_settings(sub.add_parser(name, help=text)).add_argument("--username", required=True)
    from hubbub_bench.options import add_arguments as add_bench_arguments

    add_bench_arguments(
        sub.add_parser(
            "bench",
            help="the load generator and benchmark suite",
            description="Run a benchmark scenario against a real server on loopback and "
            "print medians beside their budgets (docs/guarantees.md, Performance).",
        )
    )
    return parser


def _version() -> str:
    """The installed distribution's version (a checkout runs installed, editable)."""
    try:
        return metadata.version("hubbub")
    except metadata.PackageNotFoundError:
        from hubbub import __version__

        return __version__


def load_settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {
        field: getattr(args, field)
        for field in _SERVE_FLAGS
        if getattr(args, field, None) is not None
    }
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "settings"
        raise SettingError(f"HUBBUB_{field.upper()}", err["msg"]) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "bench":
        from hubbub_bench.main import main as bench_main

        return bench_main(args)
    # Everything the server writes (database, -wal/-shm, uploads, the signing key) is
    # the owner's alone, whatever umask it was started with.
    os.umask(PRIVATE_UMASK)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic announces its plugins at every start; only migrations themselves matter.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        settings = load_settings(args)
        configure_logs(settings.log_format, settings.log_level, RedactSecrets())
        if args.command == "serve":
            return _serve(settings)
        if args.command == "migrate":
            from hubbub.startup import migrate

            asyncio.run(migrate(settings))
            print("migrations applied")
            return 0
        if args.command == "createuser":
            return _createuser(settings, args)
        if args.command in ("deactivate", "reactivate", "promote", "demote", "reset-link"):
            return _account_command(settings, args.command, args.username)
    except SettingError as exc:
        print(f"hubbub: configuration error: {exc}", file=sys.stderr)
        return 2
    return 1


def _serve(settings: Settings) -> int:
    import uvicorn

    from hubbub.app import create_app
    from hubbub.startup import prepare_to_serve

    asyncio.run(prepare_to_serve(settings))
    node = create_app(settings, serving=True)
    listening = f"hubbub listening on http://{settings.host}:{settings.port}  (API docs: /docs)"
    if settings.log_format == "json":  # every line of the output one JSON object
        logging.getLogger("hubbub").info(listening)
    else:
        print(listening)
    uvicorn.run(
        node.asgi,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=_uvicorn_log_config(settings.log_format),
        loop="auto",
        http="auto",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        # Engine.IO pings every socket (25 s) and drops a silent one; WebSocket-level
        # pings from uvicorn on top would double every idle socket's upkeep.
        ws_ping_interval=None,
        # A frame is read whole before Engine.IO sees it: bound it by the largest
        # Socket.IO message accepted, not uvicorn's 16 MiB.
        ws_max_size=settings.max_socket_message_bytes,
        lifespan="on",
        # The access log is hubbub's own (`hubbub.edge.http.observe`, HUBBUB_ACCESS_LOG):
        # one line per request with its route, status, time and request id.
        access_log=False,
        # The client's address is the app's business (HUBBUB_TRUSTED_PROXIES): uvicorn
        # would believe X-Forwarded-For from 127.0.0.1 by default.
        proxy_headers=False,
        timeout_graceful_shutdown=5,
    )
    return 0


def _uvicorn_log_config(log_format: str) -> dict[str, Any]:
    """uvicorn's own logging set-up in `log_format` (`hubbub.logs`), with secrets
    redacted from its request lines (a WebSocket's line shows its URL, where a client
    may have put a token)."""
    import copy

    import uvicorn.config

    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": RedactSecrets}
    if log_format == "json":
        for name in config["formatters"]:
            config["formatters"][name] = {"()": JsonFormatter}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_secrets")
    return config


def _createuser(settings: Settings, args: argparse.Namespace) -> int:
    from hubbub.compose import build_services
    from hubbub.domain.errors import HubbubError
    from hubbub.startup import prepare_to_serve

    password = args.password
    if password is None:
        password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline()
        password = password.rstrip("\n")

    async def run() -> str:
        await prepare_to_serve(settings)
        services = build_services(settings)
        try:
            user = await services.auth.create_user(
                args.username, args.email, password, args.display_name
            )
            if args.admin:
                await services.admin.set_admin_by_username(user.username, admin=True)
        finally:
            await services.close()
        role = "server administrator" if args.admin else "user"
        return f"created {role} {user.username} ({user.id})"

    try:
        print(asyncio.run(run()))
    except ValidationError as exc:
        err = exc.errors()[0]
        print(f"hubbub: invalid {'.'.join(map(str, err['loc']))}: {err['msg']}", file=sys.stderr)
        return 1
    except HubbubError as exc:
        print(f"hubbub: {exc.message}", file=sys.stderr)
        return 1
    return 0


def _account_command(settings: Settings, command: str, username: str) -> int:
    """deactivate / reactivate / promote / demote / reset-link, as the server's operator."""
    from hubbub.compose import build_services
    from hubbub.domain.errors import HubbubError
    from hubbub.startup import prepare_to_serve

    async def run() -> str:
        await prepare_to_serve(settings)
        services = build_services(settings)
        await services.bus.start()
        admin = services.admin
        try:
            if command == "reset-link":
                link = await services.resets.issue_link_by_username(username)
                return f"{link.link}\n(valid once, until {link.expires_at:%Y-%m-%d %H:%M} UTC)"
            if command in ("deactivate", "reactivate"):
                account = await admin.set_active_by_username(
                    username, active=command == "reactivate"
                )
            else:
                account = await admin.set_admin_by_username(username, admin=command == "promote")
        finally:
            await services.close()
        state = "active" if account.is_active else "deactivated"
        role = "server administrator" if account.is_admin else "user"
        return f"{account.username} ({account.user_id}): {state} {role}"

    try:
        print(asyncio.run(run()))
    except HubbubError as exc:
        print(f"hubbub: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
