"""The `hubbub` command: serve, migrate, the operator's commands (`hubbub.admin_cli`,
`hubbub.ops`), the demo organisation (`hubbub.demo`), bench, and chat (the terminal
client, `hubbub.tui`).

Reads settings (environment, `.env`, flags), runs the start-up checks, and hands the
settings to the composition root. A setting that cannot work ends the command with
one line naming it and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from pydantic import ValidationError

from hubbub import admin_cli, demo
from hubbub.config import PRIVATE_UMASK, SettingError, Settings
from hubbub.logs import JsonFormatter
from hubbub.logs import configure as configure_logs
from hubbub.ops import commands
from hubbub.ops.report import add_json
from hubbub.security.redact import RedactSecrets
from hubbub.tracing import TracingUnavailable

# Every setting is a flag of every command that reads settings: `--database-url` for
# `database_url` (HUBBUB_DATABASE_URL), generated from the model.
_SERVE_FLAGS = {name: "--" + name.replace("_", "-") for name in Settings.model_fields}


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
    admin_cli.add_create_arguments(add_json(create))
    for name, text in (
        ("deactivate", "deactivate an account: end its sessions, cut its sockets"),
        ("reactivate", "let a deactivated account sign in again"),
        ("promote", "make a user a server administrator"),
        ("demote", "make a server administrator a plain user again"),
        ("reset-link", "print a one-time password-reset link for a user"),
    ):
        alias = add_json(with_settings(sub.add_parser(name, help=text)))
        alias.add_argument("--username", required=True)
    admin_cli.add_commands(sub, with_settings)
    commands.add_commands(sub, with_settings)
    demo.add_arguments(
        with_settings(
            sub.add_parser("demo", help="fill the database with a demo organisation to look at")
        )
    )
    from hubbub.tui.command import add_arguments as add_chat_arguments

    add_chat_arguments(
        sub.add_parser(
            "chat",
            help="the terminal client",
            description="Chat in a terminal: log in to a hubbub server, read, write, "
            "search and upload. The password is asked for, or read from "
            "HUBBUB_CHAT_PASSWORD.",
        )
    )
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


def _flags_given(args: argparse.Namespace) -> set[str]:
    return {field for field in _SERVE_FLAGS if getattr(args, field, None) is not None}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "bench":
        from hubbub_bench.main import main as bench_main

        return bench_main(args)
    if args.command == "chat":
        from hubbub.tui.command import run as run_chat

        return run_chat(args)
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
        if args.command not in ("serve", "migrate"):
            # The operator's commands print their answer, not the start-up's log lines.
            logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
        if args.command == "serve":
            return _serve(settings)
        if args.command == "migrate":
            from hubbub.startup import migrate

            asyncio.run(migrate(settings))
            print("migrations applied")
            return 0
        if args.command in admin_cli.ALIASES:
            args.user_command, args.revoke = admin_cli.ALIASES[args.command]
            return admin_cli.run(settings, args, args.user_command)
        if args.command == "demo":
            return demo.run(settings, args, sys.stdout)
        if args.command == "user":
            return admin_cli.run(settings, args, args.user_command)
        if args.command == "audit":
            return admin_cli.run(settings, args, "audit")
        if args.command in commands.COMMANDS:
            return commands.run(settings, args)
        if args.command == "config" and args.config_command == "show":
            return admin_cli.config_show(settings, _flags_given(args), args)
        if args.command == "config":
            return admin_cli.config_check(settings, args)
    except (SettingError, TracingUnavailable) as exc:
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
        # Said, not guessed: the app's outer callables return their inner app's
        # coroutine rather than being coroutines (a frame fewer per open WebSocket),
        # which uvicorn's guess would take for the old ASGI 2 interface.
        interface="asgi3",
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


if __name__ == "__main__":
    sys.exit(main())
