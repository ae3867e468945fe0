"""Summarize a py-spy profile (`--format raw`: collapsed stacks) into where time goes."""

from __future__ import annotations

from collections import Counter

# Frames of the event loop and the server's plumbing: reported as "own" time of
# whatever they call, so the summary names the work, not the loop.
_FRAME_SEPARATOR = ";"


def _frame_name(frame: str) -> str:
    # py-spy frames look like "function (path/to/module.py:123)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})" if path else name


def summarize_collapsed(text: str, top: int = 25) -> str:
    """Top functions by self time and by total (inclusive) time, in % of samples."""
    self_time: Counter[str] = Counter()
    total_time: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    samples = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        frames = [_frame_name(f) for f in stack.split(_FRAME_SEPARATOR) if f]
        if not frames:
            continue
        self_time[frames[-1]] += count
        for frame in set(frames):
            total_time[frame] += count
        leaf = frames[-1]
        module = leaf.rsplit("(", 1)[-1].rstrip(")").split("/")[0] or "?"
        modules[module] += count
    if not samples:
        return "profile: no samples"
    lines = [f"profile: {samples} samples", "", "self time (where the CPU was):"]
    lines += [f"  {100 * c / samples:5.1f}%  {name}" for name, c in self_time.most_common(top)]
    lines += ["", "inclusive time (what it was doing):"]
    lines += [f"  {100 * c / samples:5.1f}%  {name}" for name, c in total_time.most_common(top)]
    lines += ["", "self time by package:"]
    lines += [f"  {100 * c / samples:5.1f}%  {name}" for name, c in modules.most_common(15)]
    return "\n".join(lines)
