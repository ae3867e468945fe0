"""Where an idle socket's server memory goes: a tracemalloc breakdown per socket.

`hubbub bench connections` gives the total (RSS per socket); this says what it is made
of. It starts `hubbub serve` on an embedded database of its own with tracemalloc on
(PYTHONTRACEMALLOC) and `bench/memory_probe_hook` on its PYTHONPATH, registers
`--users` users in groups of 10 (each user in `--conversations` groups), then:

1. asks the server for a snapshot (SIGUSR1; the hook collects garbage first),
2. opens `--sockets` WebSockets (Engine.IO and Socket.IO by hand, as a browser's
   socket.io-client does), each connected to /messaging, and leaves them idle,
3. asks for a second snapshot, and reads the server's RSS before and after.

It prints the difference per socket: by package, by file, and the top lines. tracemalloc
counts what Python allocates (its own overhead is left out of the snapshots), not the
allocator's free lists and fragmentation, so its total is below the RSS's. Run:
`python bench/memory_probe.py` (a few minutes; 2,000 sockets by default).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

HOOK = Path(__file__).resolve().parent / "memory_probe_hook"
NS = "/messaging"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def measuring_env(data_dir: Path) -> dict[str, str]:
    """A server to measure: data of its own, password hashing cheap enough to register
    hundreds of users quickly, no budget in the way, tokens that outlast the run."""
    return {
        **os.environ,
        "HUBBUB_DATA_DIR": str(data_dir),
        "HUBBUB_JWT_SECRET": secrets.token_hex(32),
        "HUBBUB_ARGON2_TIME_COST": "1",
        "HUBBUB_ARGON2_MEMORY_KIB": "1024",
        "HUBBUB_ARGON2_PARALLELISM": "1",
        "HUBBUB_BUDGETS": "*=100000000/1000000",
        "HUBBUB_ACCESS_TOKEN_TTL_S": "86400",
    }


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def snapshot(proc: asyncio.subprocess.Process, directory: Path, n: int) -> Path:
    path = directory / f"snapshot-{n}.tracemalloc"
    proc.send_signal(signal.SIGUSR1)
    for _ in range(600):
        if path.exists():
            return path
        await asyncio.sleep(0.5)
    raise RuntimeError(f"no {path.name} from the server")


async def setup_users(base: str, users: int, conversations: int) -> list[str]:
    """Tokens of `users` new users, each in `conversations` groups of 10."""
    tokens: list[str] = []
    ids: list[str] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for _ in range(users):
            name = f"probe_{secrets.token_hex(5)}"
            r = await http.post(
                "/auth/register",
                json={"username": name, "email": f"{name}@example.com", "password": "x" * 12},
            )
            r.raise_for_status()
            tokens.append(r.json()["token"])
            ids.append(r.json()["user"]["id"])
        for round_ in range(conversations):
            for start in range(0, users - 9, 10):
                # Each round groups the users differently (a shifted stride).
                members = [ids[(start + k * (round_ + 1)) % users] for k in range(10)]
                owner = tokens[ids.index(members[0])]
                r = await http.post(
                    "/conversations",
                    headers={"Authorization": f"Bearer {owner}"},
                    json={
                        "type": "GROUP",
                        "name": f"g{round_}-{start}",
                        "participantIds": members[1:],
                    },
                )
                r.raise_for_status()
    return tokens


async def open_socket(base: str, token: str) -> ClientConnection:
    url = base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    ws = await connect(url, compression=None, max_size=None, open_timeout=60)
    opening = await ws.recv()
    if not (isinstance(opening, str) and opening.startswith("0{")):
        raise RuntimeError(f"not an Engine.IO open packet: {opening!r}")
    await ws.send(f"40{NS}," + json.dumps({"token": token}))
    while True:
        answer = await asyncio.wait_for(ws.recv(), 60)
        if isinstance(answer, str) and answer.startswith(f"40{NS},"):
            return ws
        if isinstance(answer, str) and answer.startswith(f"44{NS},"):
            raise RuntimeError(f"refused: {answer}")


async def keep_answering(ws: ClientConnection) -> None:
    """Answer the server's pings, drop everything else."""
    try:
        async for frame in ws:
            if frame == "2":
                await ws.send("3")
    except Exception:  # noqa: S110 - the socket closing ends this
        pass


def _short(path: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def report(before: Path, after: Path, sockets: int, top: int) -> None:
    old = tracemalloc.Snapshot.load(str(before))
    new = tracemalloc.Snapshot.load(str(after))
    total = sum(s.size_diff for s in new.compare_to(old, "filename"))
    print(f"\ntraced by Python, per socket: {total / sockets / 1024:.1f} KiB")
    packages: dict[str, int] = {}
    for stat in new.compare_to(old, "filename"):
        name = _short(stat.traceback[0].filename)
        package = name.split("/", 1)[0] if "/" in name else name
        packages[package] = packages.get(package, 0) + stat.size_diff
    print("\nby package (bytes per socket):")
    for package, size in sorted(packages.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {size / sockets:9.0f}  {package}")
    print("\nby line (bytes per socket, allocations per socket):")
    for stat in new.compare_to(old, "lineno")[:top]:
        frame = stat.traceback[0]
        where = _short(frame.filename)
        size, count = stat.size_diff / sockets, stat.count_diff / sockets
        print(f"  {size:9.0f}  {count:6.1f}  {where}:{frame.lineno}")
    if new.traceback_limit > 1:
        print("\nby traceback (the top ones, innermost call first):")
        for stat in new.compare_to(old, "traceback")[: top // 3]:
            print(f"  {stat.size_diff / sockets:9.0f} bytes per socket")
            for frame in stat.traceback:
                print(f"      {_short(frame.filename)}:{frame.lineno}")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--frames", type=int, default=1, help="frames kept per allocation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hubbub-memory-probe-") as tmp:
        directory = Path(tmp)
        port = free_port()
        env = {
            **measuring_env(directory / "data"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HOOK), os.environ.get("PYTHONPATH")])),
            "PYTHONTRACEMALLOC": str(args.frames),
            "HUBBUB_PROBE_SNAPSHOT_DIR": str(directory),
            "HUBBUB_MAX_SOCKETS_PER_USER": str(max(20, args.sockets // args.users + 1)),
        }
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "hubbub", "serve", "--port", str(port)),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        sockets: list[ClientConnection] = []
        try:
            async with httpx.AsyncClient(base_url=base, timeout=1) as http:
                for _ in range(120):
                    try:
                        (await http.get("/healthz")).raise_for_status()
                        break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.5)
            print(
                f"setting up {args.users} users in {args.conversations} groups each ...", flush=True
            )
            tokens = await setup_users(base, args.users, args.conversations)
            first = await snapshot(proc, directory, 1)
            rss_before = rss_kib(proc.pid)
            print(f"opening {args.sockets} sockets ...", flush=True)
            started = time.monotonic()
            limit = asyncio.Semaphore(50)

            async def one(i: int) -> ClientConnection:
                async with limit:
                    return await open_socket(base, tokens[i % len(tokens)])

            sockets = list(await asyncio.gather(*(one(i) for i in range(args.sockets))))
            readers = [asyncio.create_task(keep_answering(ws)) for ws in sockets]
            print(
                f"  connected in {time.monotonic() - started:.1f} s; idle {args.idle:g} s",
                flush=True,
            )
            await asyncio.sleep(args.idle)
            rss_after = rss_kib(proc.pid)
            second = await snapshot(proc, directory, 2)
            per_socket = (rss_after - rss_before) / args.sockets
            print(f"\nRSS per socket (tracemalloc on): {per_socket:.1f} KiB")
            report(first, second, args.sockets, args.top)
            for ws in sockets:
                await ws.close()
            for task in readers:
                task.cancel()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
