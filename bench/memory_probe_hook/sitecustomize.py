"""Loaded by `bench/memory_probe.py` into the server it starts (on PYTHONPATH): with
HUBBUB_PROBE_SNAPSHOT_DIR set and tracemalloc on (PYTHONTRACEMALLOC), each SIGUSR1
collects garbage and writes a tracemalloc snapshot there (snapshot-1, -2, ...)."""

import os

_directory = os.environ.get("HUBBUB_PROBE_SNAPSHOT_DIR")
if _directory:
    import gc
    import itertools
    import signal
    import tracemalloc

    _numbers = itertools.count(1)

    def _dump(signum: int, frame: object) -> None:
        gc.collect()
        path = os.path.join(_directory, f"snapshot-{next(_numbers)}.tracemalloc")
        tracemalloc.take_snapshot().dump(path + ".part")
        os.replace(path + ".part", path)

    signal.signal(signal.SIGUSR1, _dump)
