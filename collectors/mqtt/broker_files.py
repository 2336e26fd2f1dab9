"""Files a mosquitto broker reads: a throwaway CA and server/client certificates
(openssl CLI), a password file (mosquitto_passwd) and an ACL. Used by the tests'
brokers (collectors/mqtt/broker.py) and documented for deployment in
docs/mqtt-broker.md.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: what an ACL rule may grant (mosquitto 2.0 acl_file syntax)
ACL_ACCESS = ("read", "write", "readwrite", "deny")


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
    lines = ["# written by collectors.mqtt.broker_files.write_acl", ""]
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
