"""Deadlines and progress for Spark Connect: a server that dies or stalls mid-stage ends the stage
with one line within ``engine.spark.server_timeout_s`` (+ :data:`GRACE_S`), never a silent wait.

- The client's retries are bounded (:func:`bounded_retries`): pyspark's default policy retries an
  unavailable server for up to ~10 minutes.
- :class:`Watchdog` asks the server every :data:`PROBE_S` seconds for a fresh gRPC handshake on a
  channel of its own. A server that is gone (refused) or stalled (the port accepts, nobody
  answers: out of memory, stopped) for ``server_timeout_s`` is *lost*: the watchdog interrupts the
  stage's thread (SIGINT), whose executor turns that into one line; if that thread does not end
  within :data:`GRACE_S` seconds (stuck in native code, or SIGINT ignored), the watchdog prints the
  line itself and ends the process (the stage's outputs are written atomically, so the previous
  ones stay). After a loss the client gives up at once (no retries, no release at exit).
- Progress of long queries (tasks done of all) is logged every :data:`PROGRESS_EVERY_S` seconds.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql.connect.shell.progress import ProgressHandler, StageInfo

PROBE_S = 5.0  # seconds between two health probes
GRACE_S = 10.0  # after an interrupt the stage's thread has this long to end with its line
PROGRESS_EVERY_S = 10.0
EXIT_USER_ERROR = 1
log = logging.getLogger("features_pipeline.engines.spark")


def bounded_retries(total_s: float) -> Any:
    """pyspark's retry policy, limited to roughly ``total_s`` seconds of back-off."""
    from pyspark.sql.connect.client.retries import DefaultPolicy

    backoff_ms = max(int(total_s * 1000 / 4), 200)  # 50, 200, 800, ... then this cap
    retries, waited, step = 0, 0.0, 50.0
    while waited < total_s * 1000:
        waited += min(step, backoff_ms)
        step *= 4
        retries += 1
    return DefaultPolicy(
        max_retries=retries,
        max_backoff=backoff_ms,
        jitter=100,
        max_server_retry_delay=backoff_ms,
    )


def interrupt_main_thread() -> None:
    """A real SIGINT to the main thread (it wakes a blocking wait there, which
    ``_thread.interrupt_main`` does not), when Python's own handler would turn it into
    KeyboardInterrupt; otherwise the watchdog's grace period ends the process."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


def no_retries() -> Any:
    """A retry policy that gives up at once: for the calls after a server is known lost (the
    session's release at exit would otherwise wait out the retries)."""
    from pyspark.sql.connect.client.retries import DefaultPolicy

    return DefaultPolicy(max_retries=0)


def server_answers(url: str, timeout: float) -> bool:
    """Whether the Spark Connect server at ``url`` completes a gRPC handshake within ``timeout``."""
    import grpc  # type: ignore[import-untyped]
    from pyspark.sql.connect.client import DefaultChannelBuilder

    channel = DefaultChannelBuilder(url).toChannel()
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        return False
    finally:
        channel.close()
    return True


class Watchdog:
    """Probes a Spark Connect server while a stage uses it (see the module's docstring)."""

    def __init__(
        self,
        url: str,
        timeout_s: float,
        what: str,
        probe_s: float = PROBE_S,
        grace_s: float = GRACE_S,
    ) -> None:
        self.url, self.timeout_s, self.what = url, timeout_s, what
        self.probe_s, self.grace_s = probe_s, grace_s
        self.lost: str | None = None
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, name="spark-connect-watchdog", daemon=True)

    def start(self) -> Watchdog:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def run(self) -> None:
        last_answer = time.monotonic()
        while not self.stopped.wait(self.probe_s):
            if server_answers(self.url, min(self.probe_s, self.timeout_s)):
                last_answer = time.monotonic()
            elif time.monotonic() - last_answer >= self.timeout_s:
                self.give_up()
                return

    def give_up(self) -> None:
        """Interrupt the stage; end the process if it does not end within GRACE_S."""
        self.lost = (
            f"{self.what}: the Spark Connect server stopped answering (no reply for "
            f"{self.timeout_s:g} s, server_timeout_s); the stage stopped, its previous outputs "
            "are kept"
        )
        interrupt_main_thread()
        if not self.stopped.wait(self.grace_s):
            print(f"error: {self.lost}", file=sys.stderr, flush=True)
            os._exit(EXIT_USER_ERROR)


def progress_log() -> ProgressHandler:
    """A progress handler for a Connect session: tasks done of all, at most every few seconds."""
    from pyspark.sql.connect.shell.progress import ProgressHandler

    class ProgressLog(ProgressHandler):
        last = 0.0

        def __call__(
            self,
            stages: Iterable[StageInfo] | None,
            inflight_tasks: int,
            operation_id: str | None,
            done: bool,
        ) -> None:
            now = time.monotonic()
            if done or now - self.last < PROGRESS_EVERY_S or not stages:
                return
            self.last = now
            listed = list(stages)
            total = sum(stage.num_tasks for stage in listed)
            finished = sum(stage.num_completed_tasks for stage in listed)
            log.info("spark: %d of %d tasks done (%d running)", finished, total, inflight_tasks)

    return ProgressLog()
