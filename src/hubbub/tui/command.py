"""`hubbub chat`: its arguments, and starting the terminal client."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

PASSWORD_VARIABLE = "HUBBUB_CHAT_PASSWORD"  # noqa: S105 (a variable's name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=os.environ.get("HUBBUB_CHAT_URL", "http://127.0.0.1:8000"),
        help="the server's address (HUBBUB_CHAT_URL; default http://127.0.0.1:8000)",
    )
    parser.add_argument("--username", help="log in as this user (else the login screen asks)")


def run(args: argparse.Namespace) -> int:
    # Imported when it runs: the other commands need not load Textual.
    from hubbub.tui.app import ChatApp

    password = os.environ.get(PASSWORD_VARIABLE)
    if args.username and password is None and sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.username}: ")
    app = ChatApp(args.url, username=args.username, password=password)
    app.run()
    return app.return_code or 0
