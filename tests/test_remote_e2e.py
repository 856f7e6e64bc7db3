"""The team loop on real DVC remote storage (slow): an OpenSSH server started by the test on a free
localhost port with generated keys (DVC's `ssh://` remote, dvc-ssh) and a plain folder (a shared
drive). One teammate runs the pipeline and pushes; a fresh clone pulls and has nothing to
recompute (`dvc status` clean, `dvc repro` runs no stage, `predict` works without retraining,
git stays clean); an experiment travels between two clones with `dvc exp push` / `dvc exp pull`;
`dvc artifacts get` fetches a registered model version (dvc.yaml's `artifacts:`) from the remote.

`.ci/run` installs the Debian package `openssh-server` (the test needs `/usr/sbin/sshd`) and the
`all` extra (dvc-ssh); without either the test is skipped, except under CI, where it fails.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import polars as pl
import pytest
from support import run_command, write_sales_csv

from features_pipeline.ingest.synthetic import generate_sales

SSHD = Path("/usr/sbin/sshd")
UP_TO_DATE = "Data and pipelines are up to date."
PREDICTED = "Predicted Total Profit"

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class SshServer:
    """A running sshd: ``url`` is the DVC remote URL of its storage folder."""

    url: str
    keyfile: Path
    storage: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(
    port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 15.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"sshd exited {process.returncode}: {log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"sshd did not listen on port {port} within {timeout} s")


def sshd_config(folder: Path, port: int) -> str:
    """A private sshd: localhost only, public-key login with the generated key, SFTP."""
    return "\n".join(
        [
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {folder / 'host_key'}",
            f"PidFile {folder / 'sshd.pid'}",
            f"AuthorizedKeysFile {folder / 'authorized_keys'}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "StrictModes no",  # pytest's temp folders are not owned the way sshd wants ~/.ssh
            "UsePAM no",
            "Subsystem sftp internal-sftp",
            "LogLevel ERROR",
            "",
        ]
    )


@pytest.fixture(scope="module")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    missing = []
    if not SSHD.is_file():
        missing.append(f"{SSHD} not found: apt-get install openssh-server (.ci/run does)")
    if find_spec("dvc_ssh") is None:  # DVC's ssh remote: in the all extra, not in dev
        missing.append("dvc-ssh is not installed (pip install -r requirements/all.txt)")
    if missing:
        if os.environ.get("CI"):
            pytest.fail("; ".join(missing))
        pytest.skip("; ".join(missing))
    folder = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "client_key"):
        run_command(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)], folder
        )
    shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
    port = free_port()
    (folder / "sshd_config").write_text(sshd_config(folder, port), encoding="utf-8")
    with contextlib.suppress(OSError):  # sshd's privilege separation folder (.ci/run makes it)
        Path("/run/sshd").mkdir(exist_ok=True)
    log = folder / "sshd.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(folder / "sshd_config")],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        wait_for_port(port, process, log)
        storage = folder / "storage"
        storage.mkdir()
        url = f"ssh://{getpass.getuser()}@127.0.0.1:{port}{storage}"
        yield SshServer(url=url, keyfile=folder / "client_key", storage=storage)
    finally:
        process.terminate()
        process.wait(timeout=10)


def clone(bare: Path, destination: Path, server: SshServer) -> Path:
    """A teammate's fresh clone: git identity, and their own key for the remote (config.local)."""
    run_command(["git", "clone", "-q", str(bare), str(destination)], bare.parent)
    for args in (
        ["git", "config", "user.name", "teammate"],
        ["git", "config", "user.email", "teammate@features-pipeline.invalid"],
        ["dvc", "remote", "modify", "--local", "storage", "keyfile", str(server.keyfile)],
    ):
        run_command(args, destination)
    return destination


def assert_nothing_to_do(repo: Path) -> None:
    """`dvc status` up to date, `dvc repro` runs no stage, git clean."""
    status = run_command(["dvc", "status"], repo).stdout
    assert UP_TO_DATE in status, status
    repro = run_command(["dvc", "repro"], repo)
    assert "Running stage" not in repro.stdout + repro.stderr, repro.stdout
    porcelain = run_command(["git", "status", "--porcelain"], repo).stdout
    assert porcelain == "", porcelain


def files_in(folder: Path) -> int:
    return sum(1 for path in folder.rglob("*") if path.is_file())


def test_a_team_shares_data_models_and_experiments_through_remotes(
    project_repo: Path, ssh_server: SshServer, tmp_path: Path
) -> None:
    origin = project_repo
    bare = tmp_path / "team.git"  # the team's git server
    run_command(["git", "init", "-q", "--bare", "-b", "main", str(bare)], tmp_path)
    shared_drive = tmp_path / "shared-drive" / "dvc-store"

    # The first teammate runs the pipeline, adds the remotes (committed) and pushes.
    run_command(["dvc", "repro"], origin)
    for args in (
        ["dvc", "remote", "add", "-d", "storage", ssh_server.url],
        ["dvc", "remote", "modify", "--local", "storage", "keyfile", str(ssh_server.keyfile)],
        ["dvc", "remote", "add", "shared", str(shared_drive)],
        ["git", "add", ".dvc/config"],
        ["git", "commit", "-qm", "DVC remotes: ssh storage (default) and a shared folder"],
        ["git", "remote", "add", "origin", str(bare)],
        ["git", "push", "-q", "origin", "main"],
    ):
        run_command(args, origin)
    assert "config.local" not in run_command(["git", "ls-files", ".dvc"], origin).stdout
    pushed = run_command(["dvc", "push"], origin)
    assert "pushed" in pushed.stdout, pushed.stdout
    run_command(["dvc", "push", "-r", "shared"], origin)
    assert files_in(ssh_server.storage) == files_in(shared_drive) > 5

    # The model registry: a version tag (GTO's format) and `dvc artifacts get` from the remote.
    tag = "profit-model@v1.0.0"
    run_command(["git", "tag", "-a", tag, "-m", f"Registering artifact {tag}"], origin)
    run_command(["git", "push", "-q", "origin", tag], origin)
    registry = tmp_path / "registry"
    registry.mkdir()
    run_command(
        ["dvc", "artifacts", "get", str(bare), "profit-model", "--rev", "v1.0.0",
         "--remote-config", f"keyfile={ssh_server.keyfile}", "-o", "model.skops"],
        registry,
    )  # fmt: skip
    assert (registry / "model.skops").read_bytes() == (origin / "models/model.skops").read_bytes()

    # A fresh clone pulls everything: nothing to recompute, predict works at once.
    alice = clone(bare, tmp_path / "alice", ssh_server)
    assert not (alice / "models/model.skops").exists()
    run_command(["dvc", "pull"], alice)
    model = alice / "models/model.skops"
    trained_at = model.stat().st_mtime_ns
    assert_nothing_to_do(alice)
    orders = generate_sales(50, seed=99).drop("Total Profit")
    csv = write_sales_csv(tmp_path / "new_orders.csv", orders)
    out = tmp_path / "predictions.csv"
    run_command(["features-pipeline", "predict", "--input", str(csv), "--output", str(out)], alice)
    predicted = pl.read_csv(out)
    assert predicted.height == 50
    assert predicted.get_column(PREDICTED).null_count() == 0
    assert model.stat().st_mtime_ns == trained_at  # not retrained

    # The shared folder serves a clone just as well.
    bob = clone(bare, tmp_path / "bob", ssh_server)
    run_command(["dvc", "pull", "-r", "shared"], bob)
    assert_nothing_to_do(bob)

    # Alice runs an experiment and shares it; Bob pulls it and gets its results without running.
    ran = run_command(["dvc", "exp", "run", "-n", "ridge", "-S", "train.model.name=ridge"], alice)
    assert "Running stage 'train'" in ran.stdout, ran.stdout
    ridge_rmse = json.loads((alice / "metrics/metrics.json").read_text())["rmse"]
    run_command(["dvc", "exp", "push", "origin", "ridge"], alice)
    listed = run_command(["dvc", "exp", "list", "origin"], bob).stdout
    assert "ridge" in listed, listed
    run_command(["dvc", "exp", "pull", "origin", "ridge"], bob)
    run_command(["dvc", "exp", "apply", "ridge"], bob)
    assert json.loads((bob / "metrics/metrics.json").read_text())["rmse"] == ridge_rmse
    status = run_command(["dvc", "status"], bob).stdout
    assert UP_TO_DATE in status, status  # the experiment's model came from the remote
    bob_model = (bob / "models/model.skops").read_bytes()
    assert bob_model == (alice / "models/model.skops").read_bytes()
