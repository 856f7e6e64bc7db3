"""The Spark Connect watchdog without a JVM: a "server" whose port accepts connections but never
answers (a stalled server: out of memory, stopped) is lost after ``server_timeout_s``; the stage's
thread is woken from a blocking wait and ends with the one line, or, when it cannot be woken
(SIGINT ignored), the watchdog prints the line and ends the process itself."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

SCRIPT = """
import signal, sys, time
from features_pipeline.engines.spark_watch import Watchdog
if sys.argv[2] == "ignore":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
what = "engine.spark.remote " + sys.argv[1]
watchdog = Watchdog(sys.argv[1], 1.0, what, probe_s=0.2, grace_s=1.0)
watchdog.start()
try:
    time.sleep(60)  # a stage waiting on the server
except KeyboardInterrupt:
    watchdog.stop()
    print("error: " + watchdog.lost, file=sys.stderr)
    sys.exit(1)
"""


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


@pytest.mark.parametrize("sigint", ["default", "ignore"])
def test_a_stalled_server_ends_the_stage_with_one_line_in_time(
    silent_port: int, sigint: str
) -> None:
    pytest.importorskip("pyspark")
    url = f"sc://127.0.0.1:{silent_port}"
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, url, sigint], capture_output=True, text=True, timeout=60
    )
    took = time.monotonic() - start
    lines = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert run.returncode == 1, run.stderr
    assert lines == [
        f"error: engine.spark.remote {url}: the Spark Connect server stopped answering (no reply "
        "for 1 s, server_timeout_s); the stage stopped, its previous outputs are kept"
    ], run.stderr
    assert "Traceback" not in run.stderr
    assert took < 20  # 1 s without an answer (+ a probe, + 1 s grace), plus Python's start-up
