"""The data lifecycle's commands on the command line: `backup`, `restore`, `port-db`,
`export`, `import`.

`hubbub.cli` adds these parsers (`add_commands`) and hands a parsed command to `run`,
which runs it and turns its outcome into output and an exit status: 0 done, 1 refused
(nothing changed), 3 stopped early as asked, 130 interrupted (run it again).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from hubbub.config import Settings
from hubbub.ops.report import STOPPED, Output, Refused, Stopped, add_json, emit, fail, interrupted

WithSettings = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
COMMANDS = ("backup", "restore", "port-db", "export", "import")


def add_commands(sub: Any, with_settings: WithSettings) -> None:
    def command(name: str, text: str) -> argparse.ArgumentParser:
        return add_json(with_settings(sub.add_parser(name, help=text, description=text)))

    command("backup", "copy the embedded database (online) and the uploads into one archive"
            ).add_argument("--out", required=True, help="the archive to write")  # fmt: skip
    restore = command("restore", "unpack a backup into a new, empty data directory "
                      "(--data-dir)")  # fmt: skip
    restore.add_argument("file", help="the archive `hubbub backup` wrote")
    port = command("port-db", "copy this embedded instance into an empty PostgreSQL database")
    port.add_argument("--to", required=True, help="postgresql://user@host/database")
    port.add_argument("--batch-size", type=int, default=1000, help="rows per transaction")
    port.add_argument(
        "--max-batches", type=int, default=None, help="stop after this many batches (exit 3)"
    )
    export = command("export", "write conversations, or the whole server, as JSON Lines")
    export.add_argument("--out", required=True, help="a new directory")
    export.add_argument(
        "--conversation", action="append", help="a conversation's id (repeat; default: all)"
    )
    command("import", "load an export into this server (idempotent, resumable)").add_argument(
        "dir", help="the directory `hubbub export` wrote"
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        if args.command == "backup":
            from hubbub.ops.backup import backup

            output = backup(settings, args)
        elif args.command == "restore":
            from hubbub.ops.backup import restore

            output = restore(settings, args)
        else:
            output = asyncio.run(_run_async(settings, args))
    except Refused as exc:
        return fail(args, exc.code, exc.message)
    except Stopped as exc:
        emit(args, (exc.message, exc.payload))
        return STOPPED
    except KeyboardInterrupt:
        return interrupted(args)
    emit(args, output)
    return 0


async def _run_async(settings: Settings, args: argparse.Namespace) -> Output:
    from hubbub.ops.port import port_db
    from hubbub.ops.transfer import export, import_
    from hubbub.startup import prepare_to_serve

    # As `serve` would: the embedded database migrated, a server database checked to be
    # at this release's schema, the data directory made.
    await prepare_to_serve(settings)
    if args.command == "port-db":
        return await port_db(settings, args)
    if args.command == "export":
        return await export(settings, args)
    return await import_(settings, args)
