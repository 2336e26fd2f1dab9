"""Which config is running: a digest of the files a load read, and the git revision of
the checkout they are in (``netmon_config_info{sha256, revision}``), so an operator can
tell which push is live.

The digest covers netmon.yaml and every site file (path relative to netmon.yaml's folder,
then content), not the secret files: what an admin pushes, not what a host holds. It is
taken right after the load; a file changed in between shows as a new digest at the next
load, never as a wrong one for long.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: git is asked at most this long (a hung NFS mount must not hold a reload)
GIT_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class ConfigIdentity:
    sha256: str
    #: the checkout's commit (``-dirty`` when the config files differ from it); "" if the
    #: config is not in a git checkout or git is not installed
    revision: str


def digest(main: Path, files: list[Path]) -> str:
    """sha256 over each file's path (relative to netmon.yaml's folder) and bytes."""
    base = main.parent.resolve()
    out = hashlib.sha256()
    for path in sorted({main.resolve(), *(f.resolve() for f in files)}):
        try:
            name = str(path.relative_to(base))
        except ValueError:
            name = str(path)
        out.update(name.encode() + b"\0")
        try:
            out.update(path.read_bytes())
        except OSError as exc:  # gone since the load: still a stable, different digest
            out.update(f"unreadable: {exc.strerror}".encode())
        out.update(b"\0")
    return out.hexdigest()


def _git(folder: Path, *args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    # a checkout owned by the admins' user, read by netmon's: not "dubious" here
    cmd = [git, "-c", "safe.directory=*", "-C", str(folder), *args]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LC_ALL": "C",
        "GIT_OPTIONAL_LOCKS": "0",
    }
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=GIT_TIMEOUT, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def revision(folder: Path) -> str:
    """The commit of the git checkout holding ``folder``, ``-dirty`` if files under it
    differ from that commit; "" when there is none."""
    commit = _git(folder, "rev-parse", "HEAD")
    if not commit:
        return ""
    changed = _git(folder, "status", "--porcelain", "--untracked-files=normal", "--", ".")
    return f"{commit}-dirty" if changed else commit


def identify(main: Path, files: list[Path]) -> ConfigIdentity:
    return ConfigIdentity(digest(main, files), revision(main.parent))
