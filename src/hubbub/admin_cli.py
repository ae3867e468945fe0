"""The operator's commands: `hubbub user ...`, `hubbub audit`, `hubbub config show|check`.

Each command prints a line or two for a person, or with `--json` one JSON document (the
admin API's own models). A failure prints one line on stderr (and with `--json` a
`{"code", "message"}` document on stdout) and exits 1; nothing is changed by it.
Every change made here is recorded in the audit log as done by "the terminal".
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import TypeAdapter, ValidationError

from hubbub.config import SECRET_SETTINGS, SettingError, Settings
from hubbub.ops import accounts
from hubbub.ops.report import Output, add_json, emit, fail

if TYPE_CHECKING:  # imported when a command runs: `hubbub --help` stays instant
    from hubbub.edge.services import Services
    from hubbub.wire.admin import AdminUser

USER_COMMANDS = {
    "list": "list accounts (every one: deactivated and deleted too), by username",
    "show": "show one account",
    "create": "make an account",
    "deactivate": "deactivate an account: end its sessions, cut its sockets",
    "reactivate": "let a deactivated account sign in again",
    "set-password": "set an account's password (ends every session of it)",
    "reset-link": "print a one-time password-reset link for an account",
    "make-admin": "make an account a server administrator (--revoke: a plain user again)",
    "sessions": "list an account's live sessions",
    "logout-all": "end every session of an account, cutting its sockets",
    **accounts.COMMANDS,
}
# The older top-level spellings, kept: `hubbub deactivate --username U` and so on.
ALIASES = {
    "deactivate": ("deactivate", False),
    "reactivate": ("reactivate", False),
    "promote": ("make-admin", False),
    "demote": ("make-admin", True),
    "reset-link": ("reset-link", False),
    "createuser": ("create", False),
}


def add_create_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--display-name", default=None)
    parser.add_argument(
        "--password", default=None, help="read from the terminal (or stdin) when omitted"
    )
    parser.add_argument("--admin", action="store_true", help="make the user a server administrator")


def add_commands(
    sub: Any, with_settings: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
) -> None:
    user = sub.add_parser("user", help="administer accounts").add_subparsers(
        dest="user_command", required=True
    )
    for name, text in USER_COMMANDS.items():
        p = add_json(with_settings(user.add_parser(name, help=text)))
        if name == "create":
            add_create_arguments(p)
        elif name in accounts.COMMANDS:
            accounts.add_arguments(p, name)
        elif name == "list":
            p.add_argument("--search", default=None, help="part of a name or email")
            p.add_argument("--limit", type=int, default=100)
            p.add_argument("--cursor", default=None, help="nextCursor of the page before")
        else:
            p.add_argument("--username", required=True)
        if name == "set-password":
            p.add_argument("--password", default=None, help="read from stdin when omitted")
        if name == "make-admin":
            p.add_argument("--revoke", action="store_true")
    audit = add_json(with_settings(sub.add_parser("audit", help="the administrators' log")))
    audit.add_argument("--limit", type=int, default=50)
    audit.add_argument("--cursor", default=None, help="nextCursor of the page before")
    config = sub.add_parser("config", help="the settings").add_subparsers(
        dest="config_command", required=True
    )
    add_json(with_settings(config.add_parser("show", help="every setting and where it is from")))
    add_json(with_settings(config.add_parser("check", help="reach the database and Redis")))


def _read_password(given: str | None) -> str:
    if given is not None:
        return given
    typed = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline()
    return typed.rstrip("\n")


def run(settings: Settings, args: argparse.Namespace, command: str) -> int:
    """A `user` or `audit` command, `command` being its name under `hubbub user`."""
    from hubbub.domain.errors import HubbubError

    args.json = getattr(args, "json", False)
    try:
        output = asyncio.run(_with_services(settings, args, command))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(map(str, err["loc"])) or "password"
        return fail(args, "validation_error", f"invalid {where}: {err['msg']}")
    except HubbubError as exc:
        return fail(args, exc.code, exc.message)
    emit(args, output)
    return 0


async def _with_services(settings: Settings, args: argparse.Namespace, command: str) -> Output:
    from hubbub.compose import build_services
    from hubbub.startup import prepare_to_serve

    await prepare_to_serve(settings)
    # The bus is not started: a command publishes what it changed for the nodes to
    # hear, and hears nothing itself (listening, on Redis, held its exit up once).
    services = build_services(settings)
    try:
        return await _COMMANDS[command](services, args)
    finally:
        await services.close()


# The commands ----------------------------------------------------------------------


def _account_line(user: AdminUser) -> str:
    state = "deleted" if user.is_deleted else "active" if user.is_active else "deactivated"
    role = "server administrator" if user.is_admin else "user"
    return f"{user.username} ({user.id}) <{user.email}>: {state} {role}"


async def _list(services: Services, args: argparse.Namespace) -> Output:
    if not 1 <= args.limit <= 1000:
        from hubbub.domain.errors import BadRequest

        raise BadRequest("--limit must be between 1 and 1000", code="invalid_limit")
    page = await services.admin_queries.users(args.search or None, args.cursor, args.limit)
    lines = [_account_line(u) for u in page.users]
    if page.next_cursor:
        lines.append(f"(more: --cursor {page.next_cursor})")
    return "\n".join(lines) or "no accounts", page


async def _show(services: Services, args: argparse.Namespace) -> Output:
    from hubbub.wire.admin import AdminUserEnvelope

    user = await services.admin_queries.user_by_username(args.username)
    return _account_line(user), AdminUserEnvelope(user=user)


async def _create(services: Services, args: argparse.Namespace) -> Output:
    from hubbub.wire.admin import AdminUserEnvelope

    password = _read_password(args.password)
    made = await services.auth.create_user(args.username, args.email, password, args.display_name)
    if args.admin:
        await services.admin.set_admin_by_username(made.username, admin=True)
    user = await services.admin_queries.user_by_username(made.username)
    role = "server administrator" if user.is_admin else "user"
    return f"created {role} {user.username} ({user.id})", AdminUserEnvelope(user=user)


async def _status(services: Services, args: argparse.Namespace) -> Output:
    from hubbub.wire.admin import AccountStatusEnvelope

    admin = services.admin
    if args.user_command in ("deactivate", "reactivate"):
        active = args.user_command == "reactivate"
        account = await admin.set_active_by_username(args.username, active=active)
    else:
        account = await admin.set_admin_by_username(args.username, admin=not args.revoke)
    state = "active" if account.is_active else "deactivated"
    role = "server administrator" if account.is_admin else "user"
    line = f"{account.username} ({account.user_id}): {state} {role}"
    return line, AccountStatusEnvelope(account=account)


async def _set_password(services: Services, args: argparse.Namespace) -> Output:
    from hubbub.wire.fields import Password

    password = TypeAdapter(Password).validate_python(_read_password(args.password))
    await services.admin_queries.user_by_username(args.username)  # unknown: before hashing
    ended = await services.admin.set_password_by_username(
        args.username, await services.passwords.hash(password)
    )
    return f"password set; {ended.ended} session(s) ended", ended


async def _reset_link(services: Services, args: argparse.Namespace) -> Output:
    link = await services.resets.issue_link_by_username(args.username)
    return f"{link.link}\n(valid once, until {link.expires_at:%Y-%m-%d %H:%M} UTC)", link


async def _sessions(services: Services, args: argparse.Namespace) -> Output:
    user = await services.admin_queries.user_by_username(args.username)
    listed = await services.admin_queries.sessions(user.id)
    lines = [
        f"{s.id}  last used {s.last_used_at:%Y-%m-%d %H:%M} UTC  from {s.address or '?'}  "
        f"{s.user_agent or ''}".rstrip()
        for s in listed.sessions
    ]
    return "\n".join(lines) or "no live sessions", listed


async def _logout_all(services: Services, args: argparse.Namespace) -> Output:
    ended = await services.admin.logout_all_by_username(args.username)
    return f"{ended.ended} session(s) ended", ended


async def _audit(services: Services, args: argparse.Namespace) -> Output:
    if not 1 <= args.limit <= 1000:
        from hubbub.domain.errors import BadRequest

        raise BadRequest("--limit must be between 1 and 1000", code="invalid_limit")
    page = await services.admin_queries.audit(args.cursor, args.limit)
    lines = [
        f"{e.at:%Y-%m-%d %H:%M:%S} UTC  {e.actor_name}"
        + (f" from {e.address}" if e.address else "")
        + f": {e.action} {e.target_name or ''}"
        + (f" {json.dumps(e.details)}" if e.details else "")
        for e in page.entries
    ]
    if page.next_cursor:
        lines.append(f"(older: --cursor {page.next_cursor})")
    return "\n".join(lines) or "the audit log is empty", page


_COMMANDS: dict[str, Callable[[Services, argparse.Namespace], Awaitable[Output]]] = {
    "list": _list,
    "show": _show,
    "create": _create,
    "deactivate": _status,
    "reactivate": _status,
    "make-admin": _status,
    "set-password": _set_password,
    "reset-link": _reset_link,
    "sessions": _sessions,
    "logout-all": _logout_all,
    "audit": _audit,
    "delete": accounts.delete,
    "export": accounts.export,
}


# Settings --------------------------------------------------------------------------


def _masked(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in SECRET_SETTINGS:
        return "********"
    if isinstance(value, str) and name.endswith("_url"):
        parts = urlsplit(value)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":********@")
            return urlunsplit(parts._replace(netloc=netloc))
    if isinstance(value, Path):
        return str(value)
    return value


def _dotenv_names() -> set[str]:
    from dotenv import dotenv_values

    path = Path(".env")
    return {k.upper() for k in dotenv_values(path)} if path.is_file() else set()


def config_show(settings: Settings, flags: set[str], args: argparse.Namespace) -> int:
    environment = {k.upper() for k in os.environ}
    dotenv = _dotenv_names()
    rows = []
    for name in type(settings).model_fields:
        variable = f"HUBBUB_{name.upper()}"
        source = (
            "flag"
            if name in flags
            else "environment"
            if variable in environment
            else ".env"
            if variable in dotenv
            else "default"
        )
        rows.append(
            {
                "name": name,
                "variable": variable,
                "value": _masked(name, getattr(settings, name)),
                "source": source,
            }
        )
    if args.json:
        print(json.dumps({"settings": rows}))
    else:
        for row in rows:
            print(
                f"{row['variable']}={row['value'] if row['value'] is not None else ''}"
                f"  ({row['source']})"
            )
    return 0


def config_check(settings: Settings, args: argparse.Namespace) -> int:
    """One line per check; exit status 1 when any has a problem."""
    checks = asyncio.run(_checks(settings))
    if args.json:
        print(json.dumps({"checks": [{"name": n, "ok": ok, "detail": d} for n, ok, d in checks]}))
    else:
        for name, ok, detail in checks:
            print(f"{name}: {'ok' if ok else 'PROBLEM'}: {detail}")
    return 0 if all(ok for _, ok, _ in checks) else 1


async def _checks(settings: Settings) -> list[tuple[str, bool, str]]:
    from hubbub.startup import check_database, check_redis
    from hubbub.store.migrate import current_revision, head_revision

    results: list[tuple[str, bool, str]] = []
    try:
        settings.check()
        results.append(("settings", True, "consistent"))
    except SettingError as exc:
        results.append(("settings", False, str(exc)))
    try:
        await check_database(settings)
        results.append(("database", True, "reachable"))
        current = await current_revision(settings.effective_database_url)
        head = head_revision()
        if current == head:
            results.append(("migrations", True, f"current ({head})"))
        else:
            detail = f"at {current or 'none'}, this release needs {head}: run hubbub migrate"
            results.append(("migrations", False, detail))
    except SettingError as exc:
        results.append(("database", False, str(exc)))
    if settings.redis_url is None:
        results.append(("redis", True, "not configured (a single node)"))
    else:
        try:
            reachable = await check_redis(settings)
            results.append(("redis", reachable, "reachable" if reachable else "does not answer"))
        except SettingError as exc:
            results.append(("redis", False, str(exc)))
    return results
