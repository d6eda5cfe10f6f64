"""Fault injection for crash-safety tests: MONITOR_FAULT_POINT=<name>[:<n>] kills the process with
SIGKILL the n-th time (default 1st) the named point is reached. Unset, it costs one dict lookup."""

from __future__ import annotations

import os
import signal
from collections import Counter

_hits: Counter[str] = Counter()


def fault_point(name: str) -> None:
    spec = os.environ.get("MONITOR_FAULT_POINT")
    if not spec:
        return
    want, _, nth = spec.partition(":")
    if want != name:
        return
    _hits[name] += 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
