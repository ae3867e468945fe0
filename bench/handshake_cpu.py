"""The server's instructions per socket handshake, counted by callgrind: for comparing two
checkouts on a machine whose speed moves.

`hubbub bench connections` times handshakes with hundreds in flight, and its CPU per
handshake moves with whatever else the machine runs. This counts instead. It starts
`hubbub serve` on an embedded database of its own, registers `--users` users, each in
`--conversations` groups of 10 (`bench/memory_probe.py`'s layout, the connections
scenario's), stops it, then runs the server under valgrind's callgrind twice: each run
makes the same warm-up handshakes, then `--handshakes` or a quarter as many, one at a
time (WebSocket, Engine.IO open, Socket.IO CONNECT to /messaging with a token, its
answer), keeping every socket open, and stops the server. The difference between the two
runs' totals, divided by the handshakes between them, is one handshake's instructions:
what the server does for it and for what it sets off (presence to the contacts already
connected, the socket's rooms). Pings are set an hour apart so that idle sockets cost
nothing over the runs' different lengths. Run it for each checkout in turn:

    python bench/handshake_cpu.py --pythonpath <previous release>/src
    python bench/handshake_cpu.py

`--bare` counts the same handshakes against python-socketio alone
(`bench/baselines/bare/server.py --no-pings`, which keeps its users in memory, so each
counted run registers them first: the same work in both runs, gone from the difference).
What hubbub's handshake costs beyond that is its own.

A run under callgrind is some fifty times slower than the server alone: the default
(200 handshakes against 50, after 20) takes a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from memory_probe import free_port, measuring_env, open_socket, setup_users
from websockets.asyncio.client import ClientConnection

from hubbub_bench.servers import wait_healthy

BARE = Path(__file__).parent / "baselines" / "bare" / "server.py"


def spawn(
    env: dict[str, str], port: int, under: list[str], bare: bool = False
) -> subprocess.Popen[bytes]:
    server = [str(BARE), "--no-pings"] if bare else ["-m", "hubbub", "serve"]
    command = [*under, sys.executable, *server, "--port", str(port)]
    return subprocess.Popen(  # noqa: S603
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def serve(
    env: dict[str, str], port: int, under: list[str], bare: bool = False
) -> subprocess.Popen[bytes]:
    proc = spawn(env, port, under, bare)
    # Under callgrind the server takes a minute or more to start.
    await wait_healthy("127.0.0.1", port, proc, timeout=600)
    return proc


async def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    await asyncio.to_thread(proc.wait)


async def counted_run(
    env: dict[str, str],
    tokens: list[str] | None,
    warmup: int,
    count: int,
    *,
    keep: Path | None,
    layout: tuple[int, int],
) -> int:
    """The callgrind total of a server that made `warmup` + `count` handshakes (its
    profile kept as `keep`/callgrind-`count`.out when asked). Without `tokens` the
    server is the bare baseline, and its users (`layout`) are registered first."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="hubbub-callgrind-") as out:
        valgrind = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}/callgrind.out",
            f"--log-file={out}/valgrind.log",
        ]
        proc = await serve(env, port, valgrind, bare=tokens is None)
        sockets: list[ClientConnection] = []
        try:
            if tokens is None:
                tokens = await setup_users(f"http://127.0.0.1:{port}", *layout)
            for n in range(warmup + count):
                token = tokens[n % len(tokens)]
                sockets.append(await open_socket(f"http://127.0.0.1:{port}", token))
                if n % 25 == 24:
                    print(f"  {n + 1} of {warmup + count} handshakes", flush=True)
        finally:
            for ws in sockets:
                await ws.close()
            await stop(proc)
        if keep is not None:
            shutil.copy(Path(out, "callgrind.out"), keep / f"callgrind-{count}.out")
        return collected(Path(out, "valgrind.log"))


def collected(log_path: Path) -> int:
    """The total callgrind wrote in its log when the server exited."""
    log = log_path.read_text(errors="replace")
    found = re.search(r"Collected : (\d+)", log)
    if found is None:
        raise RuntimeError(f"no count from callgrind: {log[-800:]}")
    return int(found.group(1))


async def hubbub_tokens(env: dict[str, str], layout: tuple[int, int]) -> list[str]:
    """Users registered in the embedded database the counted runs will open."""
    port = free_port()
    proc = await serve(env, port, [])
    try:
        print(f"setting up {layout[0]} users in {layout[1]} groups each ...")
        return await setup_users(f"http://127.0.0.1:{port}", *layout)
    finally:
        await stop(proc)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--handshakes", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--pythonpath", help="the code's source, e.g. another checkout's src")
    parser.add_argument(
        "--bare", action="store_true", help="count python-socketio alone (the bare baseline)"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="a folder for both runs' profiles (callgrind_annotate each; their difference "
        "by function is where the handshakes between them went)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hubbub-handshake-cpu-") as tmp:
        env = {
            **measuring_env(Path(tmp) / "data"),
            "HUBBUB_MAX_SOCKETS_PER_USER": "100",
            "HUBBUB_SOCKET_PING_INTERVAL_S": "3600",
            "HUBBUB_SOCKET_PING_TIMEOUT_S": "3600",
            # A handshake under callgrind takes far longer than the default allows.
            "HUBBUB_SOCKET_CONNECT_TIMEOUT_S": "600",
        }
        if args.pythonpath:
            env["PYTHONPATH"] = args.pythonpath
        layout = (args.users, args.conversations)
        tokens = None if args.bare else await hubbub_tokens(env, layout)
        short = max(1, args.handshakes // 4)
        runs: dict[int, int] = {}
        for count in (short, args.handshakes):
            print(f"under callgrind: {args.warmup} + {count} handshakes ...", flush=True)
            runs[count] = await counted_run(
                env, tokens, args.warmup, count, keep=args.keep, layout=layout
            )
        per = (runs[args.handshakes] - runs[short]) / (args.handshakes - short)
        print(json.dumps({"instructions_per_handshake": round(per), "runs": runs}))


if __name__ == "__main__":
    asyncio.run(main())
