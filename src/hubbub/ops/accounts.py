"""`hubbub user delete` and `hubbub user export`: what a user can do to their own
account, done by the operator from the terminal.

`hubbub.admin_cli` (the `user` commands) -> here -> the same actions the HTTP API
calls: deletion by the tombstone policy of `hubbub.actions.account_deletion` (in the
audit log), and the user's own data export of `hubbub.actions.export`, written to a
file at once instead of in the background.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from hubbub.domain.errors import BadRequest
from hubbub.ops.report import Output

if TYPE_CHECKING:
    from hubbub.edge.services import Services

COMMANDS = {
    "delete": 'delete an account: a tombstone ("Deleted user") keeps its messages; needs --yes',
    "export": "write an account's data export (the JSON a user downloads) to a file",
}


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("name", nargs="?", default=None, help="the account's username")
    parser.add_argument("--username", default=None, help="the same, as the other commands take it")
    if name == "delete":
        parser.add_argument("--yes", action="store_true", help="yes: it cannot be undone")
    else:
        parser.add_argument("--out", default=None, help="the file (default: <username>.json)")


def _username(args: argparse.Namespace) -> str:
    given = args.name or args.username
    if not given:
        raise BadRequest("give the account's username", code="username_required")
    return str(given)


async def delete(services: Services, args: argparse.Namespace) -> Output:
    username = _username(args)
    user = await services.admin_queries.user_by_username(username)  # unknown: not found
    if not args.yes:
        raise BadRequest(
            f"deleting {user.username} cannot be undone: run again with --yes",
            code="confirmation_required",
        )
    user_id = await services.deletion.delete_by_username(username)
    line = f'deleted {user.username} ({user_id}): its messages stay, sent by "Deleted user"'
    return line, {"deleted": {"id": str(user_id), "username": user.username}}


async def export(services: Services, args: argparse.Namespace) -> Output:
    user = await services.admin_queries.user_by_username(_username(args))
    out = _writable(Path(args.out or f"{user.username}.json"))
    size = await services.exports.write_file(user.id, out)
    line = f"wrote {out} ({size} bytes): the export of {user.username}"
    return line, {"userId": str(user.id), "path": str(out), "size": size}


def _writable(out: Path) -> Path:
    if out.is_dir() or not out.parent.is_dir():
        raise BadRequest(f"cannot write {out}: not a file in a directory", code="invalid_out")
    return out.resolve()
