"""A real mosquitto broker for the tests, the demo and deployment.

netmon promises at-least-once delivery of MQTT telemetry (DESIGN.md, "MQTT
guarantee"). netmon's side of that promise is QoS 1, a persistent session and
acking only after processing; the broker's side is a handful of settings that
mosquitto does not have by default. :func:`broker_config` is the one place that
writes them, so the test broker, the demo and ``deploy/mosquitto/netmon.conf``
cannot disagree (a test compares the deploy file with :func:`deploy_config`).

The rest starts mosquitto 2.0 in the foreground on free ports, with an optional
throwaway CA (openssl CLI), password file (mosquitto_passwd) and ACL, and can
stop, crash and restart it on the same ports and data directory.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from netmon.simulate import free_tcp_port

#: name of mosquitto's persistence database inside ``data_dir``
PERSISTENCE_FILE = "mosquitto.db"
#: what an ACL rule may grant (mosquitto 2.0 acl_file syntax)
ACL_ACCESS = ("read", "write", "readwrite", "deny")


def mosquitto_binary() -> str:
    """The broker executable: on PATH, else Debian's /usr/sbin (often not on a user's PATH)."""
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found is None:
        msg = "mosquitto is not installed (apt-get install mosquitto mosquitto-clients)"
        raise FileNotFoundError(msg)
    return found


# --------------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class ListenerTls:
    """What a TLS listener needs: the CA that signs client certs, its own cert and key."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


@dataclass(frozen=True)
class TlsFiles:
    """A CA with a server and a client certificate, as written by :func:`make_tls`."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    @property
    def listener(self) -> ListenerTls:
        return ListenerTls(self.ca_cert, self.server_cert, self.server_key)


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        msg = f"openssl {args[0]} failed ({done.returncode}): {done.stderr.strip()}"
        raise RuntimeError(msg)


def _issue(directory: Path, name: str, subject: str, extensions: str, days: int) -> None:
    """A P-256 key and a certificate for it signed by ca.key, with the given v3 extensions."""
    (directory / f"{name}.ext").write_text(
        extensions
        + "basicConstraints = critical, CA:FALSE\n"
        + "subjectKeyIdentifier = hash\n"
        + "authorityKeyIdentifier = keyid, issuer\n"
    )
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", str(days),
        "-sha256", "-extfile", f"{name}.ext", "-out", f"{name}.crt",
        cwd=directory,
    )  # fmt: skip
    (directory / f"{name}.csr").unlink()
    (directory / f"{name}.ext").unlink()


def make_tls(directory: Path, *, days: int = 30) -> TlsFiles:
    """A throwaway CA (openssl CLI), a server cert for 127.0.0.1/localhost (SAN IP and DNS),
    a client cert signed by the CA.

    For tests and the demo only: the CA key stays next to the certs. Keys are
    EC P-256 (fast to make) and mode 0600. The certificates carry SKI/AKI and
    key usages, so they also pass the strict X.509 checks newer Pythons enable.
    """
    directory.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.crt", "-days", str(days), "-sha256",
        "-subj", "/CN=netmon throwaway test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    _issue(
        directory,
        "server",
        "/CN=localhost",
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n",
        days,
    )
    _issue(
        directory,
        "client",
        "/CN=netmon-test-client",
        "keyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\n",
        days,
    )
    for key in ("ca.key", "server.key", "client.key"):
        os.chmod(directory / key, 0o600)
    return TlsFiles(
        ca_cert=directory / "ca.crt",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
        client_cert=directory / "client.crt",
        client_key=directory / "client.key",
    )


# ------------------------------------------------------------ users and ACL


def _check_token(kind: str, value: str, forbidden: str = "") -> None:
    """Names go into line-based files: a line break (or a ':' or blank in a user name)
    would forge or split lines."""
    if not value or any(c in value for c in "\r\n\0" + forbidden) or value != value.strip():
        msg = f"invalid {kind} {value!r} for a mosquitto file"
        raise ValueError(msg)


def write_password_file(path: Path, users: Mapping[str, str]) -> None:
    """A mosquitto password file (sha512-pbkdf2 hashes) for ``users`` (name -> password).

    Each password goes to ``mosquitto_passwd FILE USER`` on stdin (it reads the
    prompt answers from a pipe), never on a command line: ``-b`` would show it in
    ``ps``. Not ``-U`` either: mosquitto 2.0.11's ``-U`` cuts a password at its
    first ':' without a word. The file is created 0600 and no password ever
    appears in an error message.
    """
    for name, password in users.items():
        _check_token("user name", name, ": \t")
        if not password or any(c in password for c in "\r\n\0"):
            msg = f"the password of {name!r} is empty or contains a line break or NUL"
            raise ValueError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for name, password in users.items():
        done = subprocess.run(
            ["mosquitto_passwd", str(path), name],
            input=f"{password}\n{password}\n",
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            path.unlink(missing_ok=True)
            msg = f"mosquitto_passwd failed for user {name!r} ({done.returncode}): "
            raise RuntimeError(msg + done.stderr.strip())


def write_acl(path: Path, rules: Mapping[str, Sequence[tuple[str, str]]]) -> None:
    """A mosquitto acl_file: user -> [(read|write|readwrite|deny, topic filter)].

    With an acl_file, everything not granted is denied; a user without rules can
    connect but neither publish nor receive.
    """
    lines = ["# written by collectors.mqtt.broker.write_acl", ""]
    for user, grants in rules.items():
        _check_token("user name", user, " \t")
        lines.append(f"user {user}")
        for access, topic in grants:
            if access not in ACL_ACCESS:
                msg = f"ACL access for {user!r} must be one of {ACL_ACCESS}, not {access!r}"
                raise ValueError(msg)
            _check_token("topic", topic)
            lines.append(f"topic {access} {topic}")
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


# ------------------------------------------------------------------- config


def broker_config(
    *,
    port: int,
    data_dir: Path,
    tls: TlsFiles | ListenerTls | None = None,
    tls_port: int | None = None,
    password_file: Path | None = None,
    acl_file: Path | None = None,
    require_certificate: bool = False,
    bind: str = "127.0.0.1",
    tls_bind: str | None = None,
    autosave_interval: int = 60,
    persistent_client_expiration: str = "7d",
    user: str | None = None,
    log_dest: str | None = None,
) -> str:
    """mosquitto.conf text (mosquitto 2.0) with the settings netmon's no-loss guarantee needs.

    ``tls_bind`` defaults to ``bind`` (the deploy config opens TLS to the field
    network and keeps plain MQTT on localhost). ``user`` is written only when
    given: mosquitto started as root drops to that user (default "mosquitto").
    ``log_dest`` (e.g. "stderr", "syslog", "file /var/log/mosquitto/x.log") is
    written only when given; mosquitto's default is stderr.
    """
    if (tls is None) != (tls_port is None):
        msg = "tls and tls_port go together"
        raise ValueError(msg)
    if autosave_interval < 0:
        msg = "autosave_interval must be >= 0 seconds"
        raise ValueError(msg)
    if not re.fullmatch(r"[1-9][0-9]*[hdwmy]", persistent_client_expiration):
        msg = "persistent_client_expiration is a number with h, d, w, m or y (e.g. 7d)"
        raise ValueError(msg)
    if require_certificate and tls is None:
        msg = "require_certificate needs a TLS listener"
        raise ValueError(msg)
    # trailing slash as in Debian's config (mosquitto 1.x appended the file name as is)
    location = str(data_dir).rstrip("/") + "/"
    out = [
        "# mosquitto 2.0 config generated by collectors.mqtt.broker.broker_config;",
        "# see docs/mqtt-broker.md. Lines marked [guarantee] are what netmon's",
        "# at-least-once delivery depends on: do not remove or change them casually.",
        "",
        "# Security settings (password_file, acl_file, allow_anonymous) apply to every",
        "# listener, so the TLS listener and the local one share users and ACL.",
        "per_listener_settings false",
        "",
    ]
    if user is not None:
        out += [f"# Run as {user} after opening the listeners (only has an effect as root).",
                f"user {user}", ""]  # fmt: skip
    if log_dest is not None:
        out += [f"log_dest {log_dest}", ""]
    out += [
        "# [guarantee] Keep sessions, subscriptions and queued messages on disk, so a",
        "# broker restart does not drop what netmon has not acknowledged yet.",
        "persistence true",
        f"persistence_location {location}",
        f"persistence_file {PERSISTENCE_FILE}",
        "# [guarantee] Save every N seconds (and on a clean stop). A broker crash",
        "# (kill -9, power loss) loses what arrived since the last save.",
        f"autosave_interval {autosave_interval}",
        "autosave_on_changes false",
        "",
        "# [guarantee] No limit on QoS 1 messages queued for a disconnected persistent",
        "# session (default 1000: newer ones are then dropped silently while netmon is down).",
        "max_queued_messages 0",
        "max_queued_bytes 0",
        "# [guarantee] QoS 0 is best effort: do not queue it for offline sessions.",
        "queue_qos0_messages false",
        "# [guarantee] Forget a persistent session (and its queue) only after this long",
        "# without netmon: longer than the longest outage of netmon you want to survive.",
        f"persistent_client_expiration {persistent_client_expiration}",
        "",
    ]
    if password_file is not None:
        out += ["# Every client must log in.", "allow_anonymous false",
                f"password_file {password_file}"]  # fmt: skip
    else:
        out += ["# No password file: anonymous clients (only sensible on a local test broker).",
                "allow_anonymous true"]  # fmt: skip
    if acl_file is not None:
        out += ["# Per-user topic rules; whatever is not granted is denied.",
                f"acl_file {acl_file}"]  # fmt: skip
    out += ["", "# Plain MQTT.", f"listener {port} {bind}".rstrip()]
    if tls is not None and tls_port is not None:
        out += [
            "",
            "# MQTT over TLS (TLS 1.2 and 1.3).",
            f"listener {tls_port} {bind if tls_bind is None else tls_bind}".rstrip(),
            f"cafile {tls.ca_cert}",
            f"certfile {tls.server_cert}",
            f"keyfile {tls.server_key}",
            "# true: a client must also show a certificate signed by cafile.",
            f"require_certificate {'true' if require_certificate else 'false'}",
            "# The user name still comes from the MQTT login (password_file), not the cert.",
            "use_identity_as_username false",
        ]
    return "\n".join(out) + "\n"


#: where the NOC server keeps things (Debian's mosquitto package layout)
DEPLOY_DIR = Path("/etc/mosquitto")


def deploy_config() -> str:
    """The example production config in deploy/mosquitto/netmon.conf (a test keeps them equal).

    Plain MQTT on localhost:1883 for netmon on the same server, TLS on 8883 for
    field devices, password file and ACL under /etc/mosquitto/, persistence under
    /var/lib/mosquitto/, autosave every 60 s, sessions kept for 7 days.
    """
    return broker_config(
        port=1883,
        bind="127.0.0.1",
        tls=ListenerTls(
            ca_cert=DEPLOY_DIR / "certs/ca.crt",
            server_cert=DEPLOY_DIR / "certs/server.crt",
            server_key=DEPLOY_DIR / "certs/server.key",
        ),
        tls_port=8883,
        tls_bind="0.0.0.0",
        password_file=DEPLOY_DIR / "passwd",
        acl_file=DEPLOY_DIR / "acl",
        data_dir=Path("/var/lib/mosquitto"),
        autosave_interval=60,
        persistent_client_expiration="7d",
    )


# ------------------------------------------------------------------ process


def _poll(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``condition`` until true or the deadline: readiness checks, never a fixed wait."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


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
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [mosquitto_binary(), "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        ports = [p for p in (self.port, self.tls_port) if p is not None]

        def ready() -> bool:
            return not self.running or all(_accepts(self.host, p) for p in ports)

        ok = _poll(ready, self.start_timeout)
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

        if not _poll(saved, timeout):
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
