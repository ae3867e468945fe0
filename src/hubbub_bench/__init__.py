"""hubbub_bench: the load generator and benchmark suite of hubbub (docs/guarantees.md, Performance).

`hubbub bench SCENARIO` runs it: it starts the server under test on loopback (hubbub or
a baseline), drives it from separate generator processes that speak Engine.IO v4 /
Socket.IO v5 themselves over plain WebSocket connections, and prints medians beside
their budgets.

Its place: a client of hubbub, in the same repository but its own package. It talks to
the server only over the network and through the `hubbub` command it starts, and never
imports the server at module level (seeding reads hubbub's full-text DDL when it fills a
hubbub database). The server never imports it: the `hubbub` command loads it lazily,
only when the `bench` sub-command runs.

Modules: `options` (arguments, scales) and `main` (the run loop) and `report` (the table,
the JSON) with `results` (what a run produces) and `plot`; `servers` starts and stops
the servers under test; `setup` creates users and conversations through the public
HTTP API (`http`), `seeding` fills large tables directly in the database; `scenarios`
holds one module per scenario family; `fleet` runs the worker processes (`worker`),
each holding thousands of clients (`wire`: one asyncio protocol object per client and
no task per client, so thousands cost little on a 2-core machine) and running `phases`
and `http_load` on command; `procstat` reads CPU and memory from /proc, `profile`
summarizes a py-spy profile, `clock` is the system-wide clock they share.
"""
