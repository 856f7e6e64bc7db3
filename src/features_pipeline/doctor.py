"""``features-pipeline doctor``: find and repair what a killed run can leave behind.

Checks, in order (each repair makes the next check possible):

* ``dvc.lock`` that is not valid YAML (DVC rewrites it in place) -> restored from git ``HEAD``;
* ``.dvc/tmp/rwlock`` empty or not valid JSON while no DVC process of this project runs (every
  ``dvc repro`` then fails with "JSON structure is corrupted") -> removed;
* DVC's repo locks (``.dvc/tmp/lock``, ``rwlock.lock``) held by a live pid -> reported only
  (one naming a dead pid is DVC's normal leftover: the kernel lock died with the pid);
* stray temp files of our atomic writers (``.<name>.<pid>.tmp`` / ``.<name>.<pid>.old``) of dead
  pids under the output folders -> swept (an ``.old`` whose target is missing is put back);
* outputs that differ from ``dvc.lock`` (``dvc status``) -> ``dvc checkout`` from the cache; one
  whose locked version is not in the cache is kept as found, with how to fix it (``dvc repro``,
  ``dvc commit``, ``dvc pull``). Doctor never leaves less than it found.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from features_pipeline.contracts.paths import PROJECT_FILE
from features_pipeline.io import OLD, pid_alive, sweep_stale_temps, temp_path, writer_alive

OUTPUT_DIRS = ("data", "models", "metrics", "plots", "reports")
RWLOCK = Path(".dvc/tmp/rwlock")
DVC_LOCKS = (Path(".dvc/tmp/lock"), Path(".dvc/tmp/rwlock.lock"))
DVC_LOCK_FILE = Path("dvc.lock")
TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>[0-9]+)\.(?P<kind>tmp|old)$")
PID_IN_JSON = re.compile(r'"pid"\s*:\s*([0-9]+)')


@dataclass
class Finding:
    """One line of the report: what is wrong (or worth knowing) and what was done about it."""

    subject: str  # a project-relative path
    problem: str
    action: str = ""  # what was (or, with --check, would be) done
    is_problem: bool = True  # False: a note; --check does not fail on it
    fixed: bool = False

    def line(self) -> str:
        action = f" -> {self.action}" if self.action else ""
        return f"{self.subject}: {self.problem}{action}"


# ---- processes


def cmdline(pid: int) -> list[str]:
    """The argv of ``pid`` ([] when gone or unreadable)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_dvc_command(argv: list[str]) -> bool:
    """``dvc ...``, ``python .../bin/dvc ...`` or ``python -m dvc ...``."""
    names = [Path(arg).name for arg in argv[:2]]
    return "dvc" in names or argv[1:3] == ["-m", "dvc"]


def process_cwd(pid: int) -> Path | None:
    """The working directory of ``pid`` (None when gone or not ours to read)."""
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def dvc_processes(root: Path) -> list[int]:
    """Pids of live ``dvc`` processes working in ``root`` (or below), this process excluded."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        cwd = process_cwd(pid)
        if cwd is not None and cwd.is_relative_to(root) and is_dvc_command(cmdline(pid)):
            found.append(pid)
    return sorted(found)


# ---- dvc.lock


def dvc_lock_corrupt(root: Path) -> str | None:
    """Why ``dvc.lock`` cannot be read (None when it is fine or absent)."""
    path = root / DVC_LOCK_FILE
    if not path.exists():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        return f"not valid YAML ({type(error).__name__})"
    if not isinstance(data, dict) or "stages" not in data:
        return "empty or truncated (no stages)"
    return truncated_stage(data, declared_outputs(root))


def declared_outputs(root: Path) -> dict[str, int]:
    """``{stage: number of outs, metrics and plots}`` that dvc.yaml declares."""
    try:
        pipeline = yaml.safe_load((root / PROJECT_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return {}
    stages = pipeline.get("stages") if isinstance(pipeline, dict) else None
    return {
        name: sum(len(stage.get(key) or ()) for key in ("outs", "metrics", "plots"))
        for name, stage in (stages or {}).items()
        if isinstance(stage, dict)
    }


def truncated_stage(lock: dict[str, Any], declared: dict[str, int]) -> str | None:
    """Why a dvc.lock that parses is still cut short: DVC writes it in place (not atomically),
    and a kill at a line boundary leaves valid YAML whose last stage lacks its outputs (its
    ``outs`` come last) or their hashes. None when every locked stage is whole."""
    for name, entry in (lock.get("stages") or {}).items():
        if not isinstance(entry, dict) or "cmd" not in entry:
            return f"truncated (stage {name!r} has no cmd)"
        outs = entry.get("outs") or []
        expected = declared.get(name)
        if expected is not None and len(outs) != expected:
            return f"truncated (stage {name!r} lists {len(outs)} of its {expected} outputs)"
        for out in outs:
            if not isinstance(out, dict) or not {"md5", "size"} <= out.keys():
                return f"truncated (stage {name!r} has an output without its hash)"
    return None


def git_head_version(root: Path, path: Path) -> bytes | None:
    """``path`` as committed at git ``HEAD`` (None outside git or when not committed)."""
    result = subprocess.run(
        ["git", "show", f"HEAD:{path.as_posix()}"], cwd=root, capture_output=True, check=False
    )
    return result.stdout if result.returncode == 0 else None


def check_dvc_lock_file(root: Path, repair: bool) -> list[Finding]:
    """A corrupt ``dvc.lock`` -> restored from git HEAD (dvc repro then reruns what differs)."""
    reason = dvc_lock_corrupt(root)
    if reason is None:
        return []
    finding = Finding(str(DVC_LOCK_FILE), reason)
    committed = git_head_version(root, DVC_LOCK_FILE)
    if committed is None:
        finding.action = "not in git HEAD: restore it by hand (then dvc repro)"
    elif not repair:
        finding.action = "would restore it from git HEAD"
    else:
        (root / DVC_LOCK_FILE).write_bytes(committed)
        finding.action, finding.fixed = "restored from git HEAD", True
    return [finding]


# ---- DVC's own locks


def rwlock_problem(text: str) -> str | None:
    """Why an rwlock file's ``text`` would stop DVC (None when DVC can read it)."""
    if not text.strip():
        return "empty"
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        return "not valid JSON"
    if not isinstance(data, dict) or not set(data) <= {"read", "write"}:
        return "not a DVC rwlock (unexpected JSON)"
    return None


def live_lock_holders(root: Path, text: str) -> list[int]:
    """DVC processes of ``root`` plus live pids the (maybe partial) lock text names."""
    named = {int(pid) for pid in PID_IN_JSON.findall(text)}
    return sorted(set(dvc_processes(root)) | {pid for pid in named if pid_alive(pid)})


def check_rwlock(root: Path, repair: bool) -> list[Finding]:
    """An unreadable ``.dvc/tmp/rwlock`` with no live DVC process -> removed."""
    path = root / RWLOCK
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    problem = rwlock_problem(text)
    if problem is None:
        return []
    holders = live_lock_holders(root, text)
    if holders:
        pids = ", ".join(map(str, holders))
        return [Finding(str(RWLOCK), f"{problem}, DVC pid {pids} running", "left alone")]
    finding = Finding(str(RWLOCK), f"{problem}, no DVC process running", "would remove it")
    if repair:
        path.unlink(missing_ok=True)
        finding.action, finding.fixed = "removed", True
    return [finding]


def lock_pid(path: Path) -> int | None:
    """The pid a zc.lockfile lock file holds (None when empty or not a pid)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def check_dvc_locks(root: Path) -> list[Finding]:
    """DVC's repo locks held by a live pid: a note. A dead pid's lock file is DVC's normal
    leftover (the kernel lock went with the process; DVC takes it over): not reported."""
    findings = []
    for relative in DVC_LOCKS:
        pid = lock_pid(root / relative)
        if pid is not None and pid != os.getpid() and pid_alive(pid):
            findings.append(Finding(str(relative), f"held by running pid {pid}", "", False))
    return findings


# ---- our temp files


def stray_temps(root: Path) -> Iterator[tuple[Path, int]]:
    """``(path, pid)`` of every ``.<name>.<pid>.tmp|old`` under the output folders."""
    for folder in OUTPUT_DIRS:
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob(".*")):
            match = TEMP_NAME.match(path.name)
            if match is not None and not any(TEMP_NAME.match(p.name) for p in path.parents):
                yield path, int(match["pid"])


def check_temps(root: Path, repair: bool) -> list[Finding]:
    """Temps of dead writers -> swept (``io.sweep_stale_temps``); of live ones -> kept."""
    findings = []
    for path, pid in stray_temps(root):
        subject = str(path.relative_to(root))
        if writer_alive(pid, path):
            findings.append(Finding(subject, f"temp of running pid {pid}", "kept", False))
            continue
        match = TEMP_NAME.match(path.name)
        assert match is not None
        target = path.with_name(match["name"])
        put_back = match["kind"] == "old" and not os.path.lexists(target)
        verb = f"put back as {target.name}" if put_back else "removed"
        finding = Finding(subject, f"stray temp of dead pid {pid}", f"would be {verb}")
        if repair:
            sweep_stale_temps(target)
            finding.action, finding.fixed = verb, not os.path.lexists(path)
        findings.append(finding)
    return findings


# ---- outputs vs dvc.lock


def dvc(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``dvc args`` (this environment's DVC) in ``root``."""
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=root, capture_output=True, text=True, check=False
    )


def last_line(text: str) -> str:
    """The last non-blank line of ``text`` (for one-line error reports)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def changed_outputs(status: dict[str, Any]) -> dict[str, str]:
    """``{output: "modified"|"deleted"|...}`` from ``dvc status --json``."""
    changed: dict[str, str] = {}
    for entries in status.values():
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict):
                changed.update(entry.get("changed outs", {}))
    return changed


def read_changed_outputs(root: Path) -> dict[str, str] | str:
    """The outputs that differ from dvc.lock, or why ``dvc status`` could not tell."""
    result = dvc(root, "status", "--json")
    if result.returncode != 0:
        return last_line(result.stderr + result.stdout)
    try:
        return changed_outputs(json.loads(result.stdout or "{}"))
    except json.JSONDecodeError:
        return f"unreadable dvc status output: {last_line(result.stdout)}"


NOT_IN_CACHE = "not in cache"  # dvc status's state of an output whose locked hash is not cached
NOT_CACHED_HINT = (
    "to fix: `dvc repro` rebuilds the stages whose "
    "params, code or data changed; `dvc commit` records the outputs now in the workspace in "
    "dvc.lock instead (when they are the results you want); `dvc pull` fetches them from a "
    "DVC remote that has them"
)


def not_cached_finding(path: str, exists: bool) -> Finding:
    """An output whose locked version is not in the DVC cache: doctor cannot restore it, so it
    keeps what is there and says how to get back in step with dvc.lock."""
    if exists:
        return Finding(path, "its dvc.lock version is not in the DVC cache", "kept as found")
    return Finding(path, "missing, its dvc.lock version is not in the DVC cache", "not restored")


def backup_path(path: Path) -> Path:
    """Where :func:`check_outputs` keeps an output while ``dvc checkout`` runs: the atomic
    writers' ``.<name>.<pid>.old``, so a killed doctor's copy is put back by the next sweep."""
    return temp_path(path, OLD)


def move_aside(root: Path, outputs: list[str]) -> dict[str, Path]:
    """Rename each existing output to :func:`backup_path`; ``{output: backup}``."""
    moved = {}
    for output in outputs:
        path = root / output
        if os.path.lexists(path):
            backup = backup_path(path)
            os.rename(path, backup)
            moved[output] = backup
    return moved


def put_back(root: Path, output: str, backup: Path) -> None:
    """Replace whatever ``dvc checkout`` left at ``output`` with the copy doctor moved aside."""
    path = root / output
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
    os.rename(backup, path)


def drop(backup: Path) -> None:
    """Remove a copy doctor moved aside (its output was restored from the cache)."""
    if backup.is_dir() and not backup.is_symlink():
        shutil.rmtree(backup)
    else:
        backup.unlink(missing_ok=True)


def check_outputs(root: Path, repair: bool) -> list[Finding]:
    """Outputs that differ from dvc.lock -> ``dvc checkout`` from the cache.

    Doctor never leaves less than it found: an output whose locked version is not in the cache
    is not handed to ``dvc checkout`` (which deletes it, then fails), and the others are moved
    aside first and put back unless ``dvc checkout`` restored them.
    """
    changed = read_changed_outputs(root)
    if isinstance(changed, str):
        return [Finding("outputs", f"dvc status failed: {changed}", "not checked")]
    if not changed:
        return []
    not_cached = [
        not_cached_finding(path, os.path.lexists(root / path))
        for path, state in changed.items()
        if state == NOT_IN_CACHE
    ]
    findings = {
        path: Finding(path, f"{state}, differs from dvc.lock")
        for path, state in changed.items()
        if state != NOT_IN_CACHE
    }
    hint = (
        [Finding("outputs not in the DVC cache", NOT_CACHED_HINT, "", False)] if not_cached else []
    )
    if not repair:
        for finding in findings.values():
            finding.action = "would run dvc checkout"
        return [*findings.values(), *not_cached, *hint]
    if findings:
        restore_from_cache(root, findings)
    return [*findings.values(), *not_cached, *hint]


def restore_from_cache(root: Path, findings: dict[str, Finding]) -> None:
    """``dvc checkout --force`` the outputs of ``findings`` (which it deletes before restoring);
    an output it did not restore gets the copy moved aside before back."""
    moved = move_aside(root, list(findings))
    still: Collection[str] = set(findings)  # until dvc status says otherwise
    try:
        result = dvc(root, "checkout", "--force", *findings)
        remaining = read_changed_outputs(root)
        if isinstance(remaining, dict):
            still = remaining
    finally:
        for output, backup in moved.items():
            if output in still:
                put_back(root, output, backup)
            else:
                drop(backup)
    for path, finding in findings.items():
        if path not in still:
            finding.action, finding.fixed = "restored by dvc checkout", True
        elif result.returncode != 0:
            finding.action = f"dvc checkout failed, kept as is: {last_line(result.stderr)}"
        else:
            finding.action = "not in the cache (cache: false?): dvc repro rebuilds it"
            finding.is_problem = False


# ---- the whole run


def diagnose(root: Path, repair: bool) -> list[Finding]:
    """Every finding in ``root``; with ``repair``, each repaired where it can be."""
    findings = check_dvc_lock_file(root, repair)
    findings += check_rwlock(root, repair)
    findings += check_dvc_locks(root)
    findings += check_temps(root, repair)
    if any(f.is_problem and not f.fixed for f in findings if f.subject == str(RWLOCK)):
        findings.append(Finding("outputs", "not checked", "DVC is locked: repair the lock first"))
    else:
        findings += check_outputs(root, repair)
    return findings


def unresolved(findings: list[Finding]) -> list[Finding]:
    """The problems still there (all of them after ``--check``)."""
    return [f for f in findings if f.is_problem and not f.fixed]


def summary(findings: list[Finding], repair: bool) -> str:
    """The last line of the report."""
    problems = [f for f in findings if f.is_problem]
    if not problems:
        return "doctor: healthy" + (f" ({len(findings)} note(s))" if findings else "")
    fixed = sum(f.fixed for f in problems)
    if not repair:
        return f"doctor: {len(problems)} problem(s) found (--check: nothing changed)"
    left = len(problems) - fixed
    return f"doctor: {len(problems)} problem(s) found, {fixed} repaired, {left} left"
