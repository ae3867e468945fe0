"""`hubbub bench`: the load generator and benchmark suite (QUALITY.md, Performance).

The generator speaks Engine.IO v4 / Socket.IO v5 itself over plain WebSocket
connections (`wire`), one asyncio protocol object per client and no task per client,
spread over worker processes (`worker`), so that thousands of clients cost little on
a 2-core machine. The orchestrator (`runner`) starts the server under test (hubbub or
a baseline, `servers`), creates users and conversations through the public HTTP API
(`setup`), seeds large tables directly in the database where a scenario needs it
(`seeding`), drives the scenarios (`scenarios`), reads CPU and memory from /proc
(`procstat`) and prints medians beside their budgets (`report`).
"""
