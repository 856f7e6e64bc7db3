"""``features-pipeline doctor``: each finding made for real (a wedged DVC rwlock, stray temps of
dead and live writers, a modified output), reported by ``--check`` and repaired by a plain run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from support import run_command

from features_pipeline import doctor
from features_pipeline.doctor import (
    check_rwlock,
    check_temps,
    declared_outputs,
    is_dvc_command,
    rwlock_problem,
    summary,
    truncated_stage,
)

DEAD_PID = 2**22 + 1  # above Linux's pid_max limit: never a live process


def test_rwlock_problem_names_what_dvc_cannot_read() -> None:
    assert rwlock_problem("") == "empty"
    assert rwlock_problem('{"write": {"a": {"pid"') == "not valid JSON"
    assert rwlock_problem("[]") == "not a DVC rwlock (unexpected JSON)"
    assert rwlock_problem('{"read": {}, "write": {}}') is None


def test_dvc_commands_are_recognised() -> None:
    assert is_dvc_command(["dvc", "repro"])
    assert is_dvc_command(["/venv/bin/python", "/venv/bin/dvc", "repro"])
    assert is_dvc_command(["python", "-m", "dvc", "status"])
    assert not is_dvc_command(["python", "stages/train.py"])


def test_stray_temps_of_dead_pids_are_removed_of_live_ones_kept(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    dead = models / f".model.skops.{DEAD_PID}.tmp"
    live = models / f".model.skops.{os.getpid()}.tmp"
    dead.write_bytes(b"half")
    live.write_bytes(b"being written")
    checked = {f.subject: f.is_problem for f in check_temps(tmp_path, repair=False)}
    assert checked == {f"models/{dead.name}": True, f"models/{live.name}": False}
    assert dead.exists()
    findings = check_temps(tmp_path, repair=True)
    assert not dead.exists()
    assert live.exists()
    assert {f.subject: f.action for f in findings} == {
        f"models/{dead.name}": "removed",
        f"models/{live.name}": "kept",
    }
    assert summary(findings, repair=True) == "doctor: 1 problem(s) found, 1 repaired, 0 left"


def test_old_copy_of_a_replaced_folder_is_put_back(tmp_path: Path) -> None:
    old = tmp_path / "data" / "features" / f".state.{DEAD_PID}.old"
    old.mkdir(parents=True)
    (old / "a.json").write_text("{}")
    findings = check_temps(tmp_path, repair=True)
    assert findings[0].action == "put back as state"
    assert (tmp_path / "data" / "features" / "state" / "a.json").exists()


def test_an_empty_rwlock_is_left_alone_while_a_listed_pid_runs(tmp_path: Path) -> None:
    lock = tmp_path / ".dvc" / "tmp" / "rwlock"
    lock.parent.mkdir(parents=True)
    lock.write_text(f'{{"write": {{"x": {{"pid": {os.getpid()}, "cmd"')  # cut mid-write
    findings = check_rwlock(tmp_path, repair=True)
    assert findings[0].action == "left alone"
    assert lock.exists()


@pytest.mark.slow
def test_doctor_repairs_what_a_killed_run_leaves(project_repo: Path) -> None:
    root = project_repo
    run_command(["dvc", "repro", "-q"], root)
    card = root / "models" / "model_card.json"
    good_card = card.read_bytes()
    rwlock = root / ".dvc" / "tmp" / "rwlock"
    rwlock.write_text("")  # DVC was killed while rewriting it
    wedged = run_command(["dvc", "repro"], root, check=False)
    assert wedged.returncode != 0
    assert "JSON structure is corrupted" in wedged.stderr
    dead = root / "data" / "features" / f".plan.json.{DEAD_PID}.tmp"
    live = root / "data" / "features" / f".plan.json.{os.getpid()}.tmp"
    dead.write_text("{")
    live.write_text("{")
    card.write_bytes(good_card[: len(good_card) // 2])  # a half-written output

    check = run_command(["features-pipeline", "doctor", "--check"], root, check=False)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "doctor: .dvc/tmp/rwlock: empty, no DVC process running" in check.stdout
    assert f"{dead.name}: stray temp of dead pid {DEAD_PID} -> would be removed" in check.stdout
    assert f"{live.name}: temp of running pid {os.getpid()} -> kept" in check.stdout
    assert "nothing changed" in check.stderr
    assert rwlock.read_text() == ""
    assert dead.exists()
    assert card.read_bytes() != good_card

    doctor = run_command(["features-pipeline", "doctor"], root)
    assert "doctor: .dvc/tmp/rwlock: empty, no DVC process running -> removed" in doctor.stdout
    assert not rwlock.exists() or rwlock.read_text().strip()
    assert not dead.exists()
    assert live.exists()
    assert (
        "doctor: models/model_card.json: modified, differs from dvc.lock -> restored by dvc "
        in (doctor.stdout)
    )
    assert card.read_bytes() == good_card
    assert doctor.stdout.splitlines()[-1].endswith("0 left")

    live.unlink()
    run_command(["dvc", "repro"], root)
    healthy = run_command(["features-pipeline", "doctor", "--check"], root)
    assert healthy.stdout.splitlines()[-1].startswith("doctor: healthy")


def lock_cut_at_a_line(text: str, stage: str) -> str:
    """``text`` (a dvc.lock) cut at a line boundary inside ``stage``'s params, as a kill while
    DVC rewrites the file in place leaves it: still valid YAML."""
    lines = text.splitlines(keepends=True)
    start = lines.index(f"  {stage}:\n")
    params = next(i for i in range(start, len(lines)) if lines[i] == "    params:\n")
    return "".join(lines[: params + 3])


def test_a_dvc_lock_cut_at_a_line_boundary_is_found_though_it_parses() -> None:
    """The cut file parses as YAML but its last stage lacks its outputs: doctor says so (and,
    like for invalid YAML, restores the committed dvc.lock)."""
    root = Path(__file__).resolve().parents[1]
    lock = yaml.safe_load((root / "dvc.lock").read_text(encoding="utf-8"))
    declared = declared_outputs(root)
    assert truncated_stage(lock, declared) is None
    cut = yaml.safe_load(lock_cut_at_a_line((root / "dvc.lock").read_text("utf-8"), "train"))
    assert isinstance(cut, dict)
    assert truncated_stage(cut, declared) == "truncated (stage 'train' lists 0 of its 4 outputs)"
    without_size = yaml.safe_load((root / "dvc.lock").read_text(encoding="utf-8"))
    del without_size["stages"]["evaluate"]["outs"][-1]["size"]
    assert truncated_stage(without_size, declared) == (
        "truncated (stage 'evaluate' has an output without its hash)"
    )


def test_an_output_dvc_checkout_did_not_restore_is_put_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``dvc checkout --force`` deletes an output before restoring it: when it then fails, the
    copy doctor moved aside comes back byte for byte (a folder output too)."""
    table = tmp_path / "data" / "interim" / "sales.parquet"
    state = tmp_path / "data" / "features" / "state"
    table.parent.mkdir(parents=True)
    state.mkdir(parents=True)
    table.write_bytes(b"the only copy")
    (state / "state.json").write_text("{}")
    changed = {"data/interim/sales.parquet": "modified", "data/features/state": "modified"}

    def fake_dvc(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
        if args[0] == "status":
            return subprocess.CompletedProcess(
                args, 0, json.dumps({"s": [{"changed outs": changed}]}), ""
            )
        for target in args[2:]:  # remove, start restoring, fail on a missing cache entry
            path = root / target
            if path.is_dir():
                shutil.rmtree(path)
                path.mkdir()
                (path / "table_000.parquet").write_text("half")
            else:
                path.write_text("half")
        return subprocess.CompletedProcess(args, 1, "", "ERROR: failed to checkout\n")

    monkeypatch.setattr(doctor, "dvc", fake_dvc)
    findings = doctor.check_outputs(tmp_path, repair=True)
    assert table.read_bytes() == b"the only copy"
    assert sorted(p.name for p in state.iterdir()) == ["state.json"]
    assert sorted(p.name for p in tmp_path.rglob(".*.old")) == []
    assert {f.subject: f.action for f in findings} == {
        path: "dvc checkout failed, kept as is: ERROR: failed to checkout" for path in changed
    }
    assert doctor.unresolved(findings) == findings


@pytest.mark.slow
def test_doctor_keeps_outputs_it_cannot_restore_on_a_clone_without_cache(
    project_repo: Path,
) -> None:
    """A fresh clone has no DVC cache; a stage run directly writes an output dvc.lock does not
    know: doctor cannot restore dvc.lock's version, so it keeps the file and says how to fix."""
    root = project_repo
    params = root / "params.yaml"
    params.write_text(params.read_text().replace("  rows: 10000 ", "  rows: 500   ", 1))
    run_command(["python", "stages/ingest.py", "-q"], root)
    table = root / "data" / "interim" / "sales.parquet"
    made = table.read_bytes()

    result = run_command(["features-pipeline", "doctor"], root, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert table.read_bytes() == made
    assert (
        "doctor: data/interim/sales.parquet: its dvc.lock version is not in the DVC cache -> "
        "kept as found" in result.stdout
    )
    assert "doctor: models/model.skops: missing, its dvc.lock version is not in the DVC cache" in (
        result.stdout
    )
    hint = result.stdout.splitlines()[-1]
    assert hint.startswith("doctor: outputs not in the DVC cache: to fix: `dvc repro`")
    assert "`dvc commit`" in hint
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().endswith("0 repaired, 11 left")
