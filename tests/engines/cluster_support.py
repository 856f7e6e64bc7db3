"""A Spark standalone cluster for tests, as separate machines would have it: a master in this
network namespace and two one-core workers in a namespace of their own (``ip netns`` and a veth
pair; root only), whose Python is a bare virtual environment without the project or Polars. The
workers reach the master and the driver only at the veth address of this namespace: nothing is
reachable on their loopback. Everything is started with the ``spark-class`` of the pyspark wheel
and stopped (namespace and link deleted) at the end, whatever happens."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import venv
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
WORKERS = 2


@dataclass(frozen=True)
class Cluster:
    master: str  # spark://DRIVER_HOST:PORT
    driver_host: str  # this namespace's veth address: the only way workers reach us
    worker_host: str
    bare_python: Path  # the workers' Python: no project, no Polars
    logs: Path


def can_make_namespaces() -> str | None:
    """Why this machine cannot run the cluster tests (None when it can)."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    if shutil.which("ip") is None:
        return "iproute2's ip is not installed"
    return None


def sudo_ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@contextmanager
def network_namespace(name: str, subnet: int) -> Iterator[tuple[str, str]]:
    """A namespace ``name`` linked to this one by a veth pair on 10.213.<subnet>.0/24; yields
    (this side's address, the namespace's address); deletes both at the end."""
    here, there = f"10.213.{subnet}.1", f"10.213.{subnet}.2"
    link, peer = f"fph{subnet}", f"fpn{subnet}"
    try:
        sudo_ip("netns", "add", name)
        sudo_ip("link", "add", link, "type", "veth", "peer", "name", peer)
        sudo_ip("link", "set", peer, "netns", name)
        sudo_ip("addr", "add", f"{here}/24", "dev", link)
        sudo_ip("link", "set", link, "up")
        sudo_ip("-n", name, "addr", "add", f"{there}/24", "dev", peer)
        sudo_ip("-n", name, "link", "set", peer, "up")
        sudo_ip("-n", name, "link", "set", "lo", "up")
        yield here, there
    finally:
        subprocess.run(["ip", "link", "del", link], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def bare_python(folder: Path) -> Path:
    """A virtual environment of this Python's base interpreter with nothing installed."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(folder)
    python = folder / "bin" / "python3"
    probe = subprocess.run([str(python), "-c", "import polars"], capture_output=True, check=False)
    assert probe.returncode != 0, "the workers' Python must not have Polars"
    return python


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_for_port(host: str, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"exited ({process.returncode}); see {log}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"port {port} not up in 120 s; see {log}") from None
            time.sleep(0.25)


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


@contextmanager
def started(
    command: list[str], log: Path, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` in a process group of its own, stopped (SIGTERM, then SIGKILL) at the end."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def standalone_cluster(folder: Path) -> Iterator[Cluster]:
    """A master here and :data:`WORKERS` one-core workers in their own network namespace."""
    folder.mkdir(parents=True, exist_ok=True)
    subnet = 1 + os.getpid() % 250
    home = spark_home()
    python = bare_python(folder / "bare")
    base_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYSPARK", "SPARK", "VIRTUAL_ENV", "PYTHON"))
    }
    env = {**base_env, "SPARK_HOME": str(home)}
    worker_env = {
        **env,
        # each application unpacks the shipped archive (~0.5 GB) into its folder: a stopped
        # one's is deleted a minute after its last write, not after 7 days (Spark's default), so
        # CI's disk stays bounded (12 of them filled 6.4 GB)
        "SPARK_WORKER_OPTS": "-Dspark.worker.cleanup.enabled=true "
        "-Dspark.worker.cleanup.interval=30 -Dspark.worker.cleanup.appDataTtl=60",
        "SPARK_LOCAL_DIRS": str(folder / "scratch"),
        "PYSPARK_PYTHON": str(python),
        "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}".replace(
            f"{Path(sys.executable).parent}{os.pathsep}", ""
        ),
    }
    spark_class = str(home / "bin" / "spark-class")
    with ExitStack() as stack:
        here, there = stack.enter_context(network_namespace(f"fp-workers-{subnet}", subnet))
        port = free_port(here)
        log = folder / "master.log"
        command = [spark_class, MASTER_CLASS, "--host", here, "--port", str(port)]
        command += ["--webui-port", str(free_port(here))]
        master = stack.enter_context(started(command, log, env))
        wait_for_port(here, port, master, log)
        url = f"spark://{here}:{port}"
        for index in range(WORKERS):
            work = folder / f"worker{index}"
            work.mkdir()
            command = ["ip", "netns", "exec", f"fp-workers-{subnet}", spark_class, WORKER_CLASS]
            command += ["--host", there, "--cores", "1", "--memory", "1g"]
            command += ["--work-dir", str(work), "--webui-port", str(18081 + index), url]
            stack.enter_context(started(command, folder / f"worker{index}.log", worker_env))
        wait_for_workers(folder / "master.log", WORKERS)
        yield Cluster(url, here, there, python, folder)


def wait_for_workers(log: Path, count: int) -> None:
    deadline = time.monotonic() + 120
    while log.read_text(errors="replace").count("Registering worker") < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} workers not registered in 120 s; see {log}")
        time.sleep(0.5)


@contextmanager
def connect_server_on(cluster: Cluster, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Spark Connect server (driver memory 1g) whose master is ``cluster``, listening on this
    machine's loopback only; yields its URL and process."""
    home = spark_home()
    port = free_port("127.0.0.1")
    command = [str(home / "bin" / "spark-submit"), "--class", CONNECT_SERVER_CLASS]
    command += ["--master", cluster.master, "--driver-memory", "1g"]
    for key, value in {
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        "spark.driver.host": cluster.driver_host,
        "spark.driver.bindAddress": cluster.driver_host,
        "spark.ui.enabled": "false",
    }.items():
        command += ["--conf", f"{key}={value}"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYSPARK")}
    with started(command, log, {**env, "SPARK_HOME": str(home)}) as server:
        wait_for_port("127.0.0.1", port, server, log)
        yield f"sc://127.0.0.1:{port}", server
