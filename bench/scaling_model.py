"""The cluster model of docs/scaling.md: Redis's costs measured here, then scaled.

Measures, on the local Redis (`--redis`, default 127.0.0.1:6379), with keys and
channels of a prefix of its own:

- memory per subscription: one connection subscribes to N channels named as hubbub
  names them (`PREFIX events:c:<uuid>`), then a second connection to the same N
  (`used_memory` before and after each);
- Redis CPU per PUBLISH with k subscribers (k = 0, 1, 4, 16), payload of one
  `new_message` envelope (~600 bytes), pipelined as hubbub's bus sends them
  (`used_cpu_user + used_cpu_sys` of INFO, before and after).

docs/scaling.md applies these costs to 100 nodes and 1 million connections. Run:
`python bench/scaling_model.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import uuid

from redis.asyncio import Redis

PAYLOAD = b"x" * 600


async def cpu(redis: Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def memory(redis: Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def subscription_memory(url: str, prefix: str, n: int) -> tuple[float, float]:
    """Bytes per (channel, subscriber) pair: for a new channel, for one already there."""
    admin = Redis.from_url(url)
    channels = [f"{prefix}events:c:{uuid.uuid4()}" for _ in range(n)]
    first, second = Redis.from_url(url).pubsub(), Redis.from_url(url).pubsub()
    m0 = await memory(admin)
    for i in range(0, n, 5000):
        await first.subscribe(*channels[i : i + 5000])
    await asyncio.sleep(0.5)
    m1 = await memory(admin)
    for i in range(0, n, 5000):
        await second.subscribe(*channels[i : i + 5000])
    await asyncio.sleep(0.5)
    m2 = await memory(admin)
    for ps in (first, second):
        await ps.aclose()  # type: ignore[no-untyped-call]
    await admin.aclose()
    return (m1 - m0) / n, (m2 - m1) / n


async def publish_cpu(url: str, prefix: str, subscribers: int, count: int) -> float:
    """Redis CPU seconds per PUBLISH to a channel with this many subscribers."""
    admin = Redis.from_url(url)
    channel = f"{prefix}events:c:{uuid.uuid4()}"
    listeners = []
    drains = []
    for _ in range(subscribers):
        ps = Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
        await ps.subscribe(channel)
        listeners.append(ps)

        async def drain(ps: object = ps) -> None:
            while True:
                await ps.get_message(timeout=1.0)  # type: ignore[attr-defined]

        drains.append(asyncio.create_task(drain()))
    await asyncio.sleep(0.2)
    before = await cpu(admin)
    for _ in range(count // 500):
        async with admin.pipeline(transaction=False) as pipe:
            for _ in range(500):
                pipe.publish(channel, PAYLOAD)
            await pipe.execute()
    after = await cpu(admin)
    for task in drains:
        task.cancel()
    for ps in listeners:
        await ps.aclose()  # type: ignore[no-untyped-call]
    await admin.aclose()
    return (after - before) / count


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--channels", type=int, default=100_000)
    parser.add_argument("--publishes", type=int, default=50_000)
    args = parser.parse_args()
    prefix = f"hubbub-model-{secrets.token_hex(3)}:"
    new, shared = await subscription_memory(args.redis, prefix, args.channels)
    print(f"memory per subscription: new channel {new:.0f} B, channel already there {shared:.0f} B")
    costs = {}
    for k in (0, 1, 4, 16):
        costs[k] = await publish_cpu(args.redis, prefix, k, args.publishes)
        print(f"Redis CPU per PUBLISH, {k} subscribers: {costs[k] * 1e6:.2f} µs")
    per_subscriber = (costs[16] - costs[0]) / 16
    print(f"fit: {costs[0] * 1e6:.2f} µs + {per_subscriber * 1e6:.2f} µs per subscriber")


if __name__ == "__main__":
    asyncio.run(main())
