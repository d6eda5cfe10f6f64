"""`monitor run`: APScheduler runs a cycle every interval (never two at once, missed runs coalesced)
until SIGTERM/SIGINT; a stop request lets the current article finish, then exits."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)
STOP_GRACE_S = 7.0  # SIGTERM to exit within 10 s: up to 1 s to notice, 7 s to finish, then teardown


def run_forever(cycle: Callable[[threading.Event], None], interval_minutes: int,
                stop: threading.Event | None = None) -> None:
    """Run `cycle(stop)` now and every `interval_minutes` until a signal sets `stop`."""
    stop = stop or threading.Event()
    scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1,
                                                                "misfire_grace_time": None})
    scheduler.add_job(cycle, "interval", args=[stop], minutes=interval_minutes, id="cycle",
                      next_run_time=datetime.now(UTC))
    scheduler.add_listener(_log_error, EVENT_JOB_ERROR)
    _install_handlers(stop)
    scheduler.start()
    log.info("scheduler started: a cycle every %d minute(s); SIGTERM or Ctrl-C stops", interval_minutes)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        _shutdown(scheduler)


def _shutdown(scheduler: BackgroundScheduler) -> None:
    """Let the running cycle finish its current article (it sees `stop`), within STOP_GRACE_S.

    Why os._exit past the grace: the cycle runs in a non-daemon executor thread that the interpreter
    joins at exit, so a cycle stuck in a slow send would keep the process alive past the 10 s a
    container runtime allows. Leaving it is safe: every article is committed in one transaction
    with its alert, so an unfinished one is rolled back and redone, exactly as after a SIGKILL.
    """
    log.info("stopping: letting the current article finish")
    done = threading.Event()
    threading.Thread(target=lambda: (scheduler.shutdown(wait=True), done.set()), daemon=True).start()
    if done.wait(STOP_GRACE_S):
        log.info("stopped")
        return
    log.warning("cycle did not finish within %.0f s; exiting with its committed work kept", STOP_GRACE_S)
    logging.shutdown()
    os._exit(0)


def _install_handlers(stop: threading.Event) -> None:
    def handler(signum: int, _frame: object) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _log_error(event: JobExecutionEvent) -> None:
    log.error("cycle failed: %s: %s", type(event.exception).__name__, event.exception)
