"""The scenarios of docs/guarantees.md, Performance: setup once per server, then measured runs.

A run is one measurement window on a server that has been set up once; each run
connects its clients afresh and closes them after. Runs against several servers
(`--vs`) alternate, so slow drift of the machine hits all of them alike.

One module per family: `messaging` (fanout, throughput), `sockets` (connections,
storm), `pages` (history, conversations); what they share is in `base`.
"""

from __future__ import annotations

from hubbub_bench.scenarios.base import Scenario
from hubbub_bench.scenarios.messaging import Fanout, Throughput
from hubbub_bench.scenarios.pages import Conversations, History
from hubbub_bench.scenarios.sockets import Connections, Storm

SCENARIOS: dict[str, Scenario] = {
    s.name: s for s in (Fanout(), Throughput(), Connections(), Storm(), History(), Conversations())
}
