"""A real mosquitto broker for the tests and the demo, configured by broker_config.py.

Starts mosquitto 2.0 in the foreground on free ports, with an optional
throwaway CA, password file and ACL (collectors/mqtt/broker_files.py), and can
stop, crash and restart it on the same ports and data directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from collectors.mqtt.broker_config import PERSISTENCE_FILE, broker_config
from collectors.mqtt.broker_files import (
    TlsFiles,
    make_tls,
    write_acl,
    write_password_file,
)
from netmon.tools.simulate import free_tcp_port, poll_until, signals_held, tcp_accepts


def mosquitto_binary() -> str:
    """The broker executable: on PATH, else Debian's /usr/sbin (often not on a user's PATH)."""
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found is None:
        msg = "mosquitto is not installed (apt-get install mosquitto mosquitto-clients)"
        raise FileNotFoundError(msg)
    return found


# ------------------------------------------------------------------ process


class Mosquitto:
    """A running mosquitto we own: foreground process, config and log in ``workdir``.

    ``stop()``/``kill()`` leave the data directory alone so ``start()`` brings the
    same broker back on the same ports (mosquitto sets SO_REUSEADDR on its
    listeners, so there is no wait for TIME_WAIT). ``close()`` (and leaving the
    ``with`` block) stops it and removes ``workdir`` if this object created it.
    """

    def __init__(
        self,
        workdir: Path,
        config: str,
        *,
        port: int,
        tls_port: int | None = None,
        data_dir: Path | None = None,
        tls: TlsFiles | None = None,
        owns_workdir: bool = False,
        host: str = "127.0.0.1",
        start_timeout: float = 10.0,
    ) -> None:
        self.workdir = workdir
        self.port = port
        self.tls_port = tls_port
        self.host = host
        self.data_dir = data_dir if data_dir is not None else workdir / "data"
        #: the CA and certificates clients need (None without a TLS listener)
        self.tls = tls
        self.config_path = workdir / "mosquitto.conf"
        self.log_path = workdir / "mosquitto.log"
        self.owns_workdir = owns_workdir
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.config_path.write_text(config)

    @property
    def log(self) -> str:
        """Everything mosquitto wrote, across restarts."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def persistence_file(self) -> Path:
        return self.data_dir / PERSISTENCE_FILE

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        if self.process is None:
            msg = "mosquitto is not running"
            raise RuntimeError(msg)
        return self.process.pid

    def start(self) -> None:
        """Start and wait until every listener accepts TCP; raise with the log tail if not."""
        if self.running:
            return
        ports = [p for p in (self.port, self.tls_port) if p is not None]

        def ready() -> bool:
            return not self.running or all(tcp_accepts(self.host, p) for p in ports)

        try:
            # a signal held while spawning arrives at the end of this block, in the try
            with signals_held(), self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    [mosquitto_binary(), "-c", str(self.config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                )
            ok = poll_until(ready, self.start_timeout)
        except BaseException:  # Ctrl-C while waiting: no broker left behind
            self._end(signal.SIGKILL)
            raise
        if self.running and ok:
            return
        code = self.process.poll()
        self._end(signal.SIGKILL)
        what = f"exited with {code}" if code is not None else "did not listen"
        msg = f"mosquitto {what} (ports {ports}); log tail:\n{self.log[-2000:]}"
        raise RuntimeError(msg)

    def _end(self, sig: signal.Signals, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)

    def stop(self) -> None:
        """SIGTERM and wait: mosquitto writes its persistence file on a clean stop."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: a crash. Only what the last autosave wrote survives."""
        self._end(signal.SIGKILL)

    def restart(self) -> None:
        """Clean stop and start on the same ports and data directory."""
        self.stop()
        self.start()

    def _db_identity(self) -> tuple[int, int] | None:
        try:
            st = self.persistence_file.stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns

    def wait_for_save(self, timeout: float = 10.0, *, force: bool = False) -> None:
        """Wait until mosquitto has written its database after this call began.

        mosquitto writes ``mosquitto.db.new`` and renames it over ``mosquitto.db``,
        so a finished save shows as a new inode. The save is done in the broker's
        single thread, between packets: a save that finishes after a client got its
        PUBACKs contains those messages. ``force`` asks for a save now (SIGUSR1)
        instead of waiting for the next autosave.
        """
        before = self._db_identity()
        if force:
            os.kill(self.pid, signal.SIGUSR1)

        def saved() -> bool:
            now = self._db_identity()
            return now is not None and now != before

        if not poll_until(saved, timeout):
            msg = f"mosquitto did not save {self.persistence_file} within {timeout}s"
            raise TimeoutError(msg + f"; log tail:\n{self.log[-1000:]}")

    def close(self) -> None:
        self.stop()
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Mosquitto:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def start_mosquitto(
    workdir: Path | None = None,
    *,
    tls: bool = False,
    users: Mapping[str, str] | None = None,
    acl: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    require_certificate: bool = False,
    autosave_interval: int = 1,
    persistent_client_expiration: str = "7d",
) -> Mosquitto:
    """Free ports, generated config (and CA/password/acl files when asked), started and ready.

    Files go to ``workdir`` (a new temporary directory if None, removed again by
    ``close()``; a given one is left in place). The CA is at ``workdir/tls``
    (``Mosquitto.tls`` has the paths for clients).

    As root, the config says ``user root``: mosquitto would otherwise drop to the
    "mosquitto" user, which cannot enter private temporary directories (mkdtemp
    and pytest's tmp_path are 0700 root) to write its database or read keys, the
    password file and the ACL. The test broker listens on 127.0.0.1 only; the
    deploy config keeps mosquitto's default of running as "mosquitto".
    """
    owns = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="netmon-mosquitto-")) if workdir is None else workdir
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        data_dir = workdir / "data"
        data_dir.mkdir(exist_ok=True)
        tls_files = make_tls(workdir / "tls") if tls or require_certificate else None
        password_file = None
        if users is not None:
            password_file = workdir / "passwd"
            write_password_file(password_file, users)
        acl_file = None
        if acl is not None:
            acl_file = workdir / "acl"
            write_acl(acl_file, acl)
        port = free_tcp_port()
        tls_port = free_tcp_port() if tls_files is not None else None
        while tls_port == port:
            tls_port = free_tcp_port()
        config = broker_config(
            port=port,
            data_dir=data_dir,
            tls=tls_files,
            tls_port=tls_port,
            password_file=password_file,
            acl_file=acl_file,
            require_certificate=require_certificate,
            autosave_interval=autosave_interval,
            persistent_client_expiration=persistent_client_expiration,
            user="root" if os.geteuid() == 0 else None,
            log_dest="stderr",
        )
        broker = Mosquitto(
            workdir,
            config,
            port=port,
            tls_port=tls_port,
            data_dir=data_dir,
            tls=tls_files,
            owns_workdir=owns,
        )
        broker.start()
    except BaseException:
        if owns:
            shutil.rmtree(workdir, ignore_errors=True)
        raise
    return broker
