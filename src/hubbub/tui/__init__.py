"""hubbub.tui: `hubbub chat`, a terminal client on the Python SDK.

It is a client like any other: it imports from hubbub only the SDK (`hubbub.client`) and
the wire models (`hubbub.wire`), never the server (an import-linter contract in
pyproject.toml). Textual draws it. docs/chat.md describes it.
"""
