"""Against real mosquitto 2.0: TLS, logins, ACL, and no loss of QoS 1 across broker restarts.

What these tests measured (mosquitto 2.0.11, aiomqtt 2.5.1 on paho-mqtt 2.2):

- A wrong or missing password is ``MqttConnectError`` "[code:135] Not authorized" for
  MQTT 3.1.1 and 5 alike (mosquitto sends CONNACK 5, not 4 "bad user name or password").
- A server certificate the client cannot verify is a plain ``MqttError`` whose text is
  the ssl error; the ``ssl.SSLCertVerificationError`` is kept as ``__context__``.
- A missing client certificate under TLS 1.3 is NOT reported: the handshake completes
  on the client side, the broker's "certificate required" alert arrives afterwards, and
  aiomqtt ignores a disconnect before CONNACK, so ``async with Client`` waits for its
  ``timeout`` (10 s by default) and raises "Operation timed out". Only paho's log line
  names the cause. Under TLS 1.2 the same mistake fails at once with a handshake alert.
- The ACL is checked at delivery, not at subscribe: SUBACK grants QoS 1 for a topic
  the user may not read, and the messages are then silently not delivered. A QoS 1
  publish the ACL denies is PUBACKed (and dropped), then the publisher is disconnected.
- Queued QoS 1 messages of offline persistent sessions survive a clean restart, and a
  kill -9 after an autosave; a kill -9 loses whatever arrived since the last save
  (the session and its subscriptions, saved earlier, survive).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from aiomqtt import MqttCodeError, MqttError, ProtocolVersion
from aiomqtt.exceptions import MqttConnectError  # not re-exported by aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from collectors.mqtt.broker import Mosquitto, start_mosquitto
from collectors.mqtt.broker_config import broker_config, deploy_config
from collectors.mqtt.broker_files import TlsFiles, make_tls, write_acl, write_password_file
from netmon.tools.simulate import free_tcp_port
from tests.helpers import ROOT

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"
USERS = {"netmon": "n3tm0n-Pass!", "field": "f1eld Pass:with-colon"}
ACL = {
    "netmon": [("readwrite", "netmon/#"), ("read", "site/+/allowed/#")],
    "field": [("write", "site/#")],
}


@pytest.fixture(scope="module")
def plain() -> Iterator[Mosquitto]:
    with start_mosquitto() as broker:
        yield broker


@pytest.fixture(scope="module")
def secured() -> Iterator[Mosquitto]:
    """TLS listener (server cert only), password file and ACL."""
    with start_mosquitto(tls=True, users=USERS, acl=ACL) as broker:
        yield broker


@pytest.fixture(scope="module")
def mtls() -> Iterator[Mosquitto]:
    """TLS listener that also requires a client certificate signed by the CA."""
    with start_mosquitto(tls=True, users=USERS, acl=ACL, require_certificate=True) as broker:
        yield broker


def certs(broker: Mosquitto) -> TlsFiles:
    assert broker.tls is not None
    return broker.tls


def trusting(tls: TlsFiles, *, client_cert: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(tls.ca_cert))
    if client_cert:
        context.load_cert_chain(tls.client_cert, tls.client_key)
    return context


async def next_message(client: aiomqtt.Client, within: float = 5.0) -> aiomqtt.Message:
    async with asyncio.timeout(within):
        return await anext(aiter(client.messages))


async def receive(client: aiomqtt.Client, count: int, within: float = 5.0) -> list[str]:
    """Payloads of the next ``count`` messages; fails with what came if the deadline passes."""
    got: list[str] = []
    try:
        async with asyncio.timeout(within):
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                got.append(message.payload.decode())
                if len(got) >= count:
                    break
    except TimeoutError:
        pytest.fail(f"{len(got)} of {count} messages within {within}s: {got[:10]}...")
    return got


# ------------------------------------------------------------------ plain


async def test_a_subscriber_receives_a_qos1_message(plain: Mosquitto) -> None:
    async with aiomqtt.Client(HOST, plain.port) as client:
        await client.subscribe("netmon/test/#", qos=1)
        await client.publish("netmon/test/a", b"hello", qos=1)
        message = await next_message(client)
    assert message.topic.matches("netmon/test/a")
    assert message.payload == b"hello"
    assert message.qos == 1


# -------------------------------------------------------------------- TLS


async def test_tls_with_the_ca_connects_and_delivers(secured: Mosquitto) -> None:
    assert secured.tls_port is not None
    context = trusting(certs(secured))
    async with aiomqtt.Client(
        HOST, secured.tls_port, username="netmon", password=USERS["netmon"], tls_context=context
    ) as client:
        await client.subscribe("netmon/tls", qos=1)
        await client.publish("netmon/tls", b"over tls", qos=1)
        assert (await next_message(client)).payload == b"over tls"


async def test_tls_without_the_ca_fails_with_a_certificate_error(secured: Mosquitto) -> None:
    assert secured.tls_port is not None
    with pytest.raises(MqttError) as caught:
        async with aiomqtt.Client(
            HOST,
            secured.tls_port,
            username="netmon",
            password=USERS["netmon"],
            tls_context=ssl.create_default_context(),
        ):
            pass
    assert type(caught.value) is MqttError  # not an MqttCodeError: there is no MQTT rc
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert "self-signed certificate in certificate chain" in str(caught.value)
    assert isinstance(caught.value.__context__, ssl.SSLCertVerificationError)


async def test_required_client_certificate_lets_a_client_with_one_in(mtls: Mosquitto) -> None:
    assert mtls.tls_port is not None
    context = trusting(certs(mtls), client_cert=True)
    async with aiomqtt.Client(
        HOST, mtls.tls_port, username="netmon", password=USERS["netmon"], tls_context=context
    ) as client:
        await client.publish("netmon/mtls", b"x", qos=1)


async def test_required_client_certificate_missing_under_tls13_only_times_out(
    mtls: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    """aiomqtt drops a disconnect that comes before CONNACK: the cause is only in the log."""
    assert mtls.tls_port is not None
    caplog.set_level(logging.WARNING, logger="mqtt")
    with pytest.raises(MqttError, match=r"^Operation timed out$"):
        async with aiomqtt.Client(
            HOST,
            mtls.tls_port,
            username="netmon",
            password=USERS["netmon"],
            tls_context=trusting(certs(mtls)),
            timeout=1,
        ):
            pass
    assert "TLSV13_ALERT_CERTIFICATE_REQUIRED" in caplog.text
    assert "peer did not return a certificate" in mtls.log


async def test_required_client_certificate_missing_under_tls12_fails_the_handshake(
    mtls: Mosquitto,
) -> None:
    assert mtls.tls_port is not None
    context = trusting(certs(mtls))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(MqttError, match="SSLV3_ALERT_HANDSHAKE_FAILURE") as caught:
        async with aiomqtt.Client(
            HOST, mtls.tls_port, username="netmon", password=USERS["netmon"], tls_context=context
        ):
            pass
    assert isinstance(caught.value.__context__, ssl.SSLError)


def test_the_throwaway_ca_signs_a_server_cert_for_127_0_0_1_and_localhost(
    tmp_path: Path,
) -> None:
    tls = make_tls(tmp_path)
    san = subprocess.run(
        ["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", str(tls.server_cert)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "IP Address:127.0.0.1" in san
    assert "DNS:localhost" in san
    for cert in (tls.server_cert, tls.client_cert):
        verify = ["openssl", "verify", "-CAfile", str(tls.ca_cert), str(cert)]
        assert subprocess.run(verify, capture_output=True, check=False).returncode == 0
    for key in (tls.server_key, tls.client_key):
        assert key.stat().st_mode & 0o077 == 0


# ------------------------------------------------------------------ users


async def test_the_right_password_logs_in(secured: Mosquitto) -> None:
    async with aiomqtt.Client(HOST, secured.port, username="field", password=USERS["field"]):
        pass


@pytest.mark.parametrize("protocol", [ProtocolVersion.V311, ProtocolVersion.V5])
@pytest.mark.parametrize("login", [("netmon", "wrong"), ("nobody", "x"), (None, None)])
async def test_a_wrong_or_missing_login_is_refused_as_not_authorized(
    secured: Mosquitto, protocol: ProtocolVersion, login: tuple[str | None, str | None]
) -> None:
    username, password = login
    with pytest.raises(MqttConnectError) as caught:
        async with aiomqtt.Client(
            HOST, secured.port, username=username, password=password, protocol=protocol
        ):
            pass
    assert isinstance(caught.value, MqttCodeError)  # the public base to catch
    assert caught.value.rc == 135
    assert str(caught.value) == "[code:135] Not authorized"


def test_passwords_are_hashed_and_never_on_a_command_line(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    write_password_file(path, USERS)
    text = path.read_text()
    assert all(password not in text for password in USERS.values())
    assert re.fullmatch(r"(?:(netmon|field):\$7\$\S+\n){2}", text)
    assert path.stat().st_mode & 0o077 == 0
    with pytest.raises(ValueError, match="user name"):
        write_password_file(path, {"a:b": "x"})
    with pytest.raises(ValueError, match="line break"):
        write_password_file(path, {"a": "x\nuser admin"})


# -------------------------------------------------------------------- ACL


async def test_the_acl_keeps_a_denied_topic_from_a_subscriber(secured: Mosquitto) -> None:
    """Denied is published first: once the allowed one arrives, the denied one would have too."""
    async with aiomqtt.Client(
        HOST, secured.port, username="netmon", password=USERS["netmon"]
    ) as reader:
        granted = [
            await reader.subscribe("site/s1/denied/#", qos=1),
            await reader.subscribe("site/s1/allowed/#", qos=1),
        ]
        # mosquitto checks read access at delivery: the SUBACK grants both
        assert [[code.value for code in g] for g in granted] == [[1], [1]]  # type: ignore[union-attr]
        async with aiomqtt.Client(
            HOST, secured.port, username="field", password=USERS["field"]
        ) as writer:
            await writer.publish("site/s1/denied/battery", b"secret", qos=1)
            await writer.publish("site/s1/allowed/battery", b"12.6", qos=1)
        message = await next_message(reader)
        assert message.topic.matches("site/s1/allowed/battery")
        assert len(reader.messages) == 0


@pytest.mark.parametrize("protocol", [ProtocolVersion.V311, ProtocolVersion.V5])
async def test_a_denied_publish_is_acked_dropped_and_the_publisher_disconnected(
    secured: Mosquitto, protocol: ProtocolVersion
) -> None:
    """mosquitto 2.0.11 PUBACKs a QoS 1 publish the ACL denies (the device thinks it was
    delivered), then closes the connection (mosquitto issue #2579)."""
    log_before = len(secured.log)
    async with aiomqtt.Client(
        HOST, secured.port, username="netmon", password=USERS["netmon"]
    ) as reader:
        await reader.subscribe("netmon/#", qos=1)
        async with aiomqtt.Client(
            HOST, secured.port, username="field", password=USERS["field"], protocol=protocol
        ) as writer:
            await writer.publish("netmon/not-for-field", b"x", qos=1)  # returns: acked
            with pytest.raises(MqttError, match="Disconnected"):
                await next_message(writer)
        async with aiomqtt.Client(
            HOST, secured.port, username="netmon", password=USERS["netmon"]
        ) as writer:
            await writer.publish("netmon/marker", b"m", qos=1)
        assert (await next_message(reader)).topic.matches("netmon/marker")
    new_log = secured.log[log_before:]
    assert re.search(r"Bad socket read/write on client .*: Unknown error", new_log)


def test_acl_rules_reject_unknown_access_and_line_breaks(tmp_path: Path) -> None:
    write_acl(tmp_path / "acl", {"u": [("read", "a/#"), ("deny", "a/b")]})
    assert "user u\ntopic read a/#\ntopic deny a/b\n" in (tmp_path / "acl").read_text()
    with pytest.raises(ValueError, match="access"):
        write_acl(tmp_path / "acl", {"u": [("all", "#")]})
    with pytest.raises(ValueError, match="topic"):
        write_acl(tmp_path / "acl", {"u": [("read", "a\nuser admin")]})


# ------------------------------------------------------------ persistence


def session_clients(port: int) -> list[dict[str, Any]]:
    """Persistent sessions as netmon makes them: MQTT 3.1.1 clean_session=False with a
    fixed id, and MQTT 5 clean_start=False with a session expiry interval."""
    expiry = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    expiry.SessionExpiryInterval = 3600
    return [
        {"identifier": "netmon-test-v311", "clean_session": False},
        {
            "identifier": "netmon-test-v5",
            "protocol": ProtocolVersion.V5,
            "clean_start": False,  # aiomqtt's default cleans on a new Client's first connect
            "properties": expiry,
        },
    ]


async def subscribe_offline(port: int, topic: str) -> None:
    for kwargs in session_clients(port):
        async with aiomqtt.Client(HOST, port, **kwargs) as client:
            await client.subscribe(topic, qos=1)


async def publish(port: int, topic: str, payloads: list[str]) -> None:
    """Every publish returns after its PUBACK: the broker has the message in memory."""
    async with aiomqtt.Client(HOST, port) as client:
        for payload in payloads:
            await client.publish(f"{topic}/{payload}", payload.encode(), qos=1)


@pytest.mark.parametrize("how", ["clean stop", "kill -9 after an autosave"])
async def test_offline_persistent_sessions_get_all_100_messages_after_a_broker_restart(
    how: str,
) -> None:
    with start_mosquitto(autosave_interval=1) as broker:
        await subscribe_offline(broker.port, "netmon/persist/#")
        sent = [str(i) for i in range(100)]
        await publish(broker.port, "netmon/persist", sent)
        # a connection open across the restart leaves the server side of it in
        # FIN-WAIT/TIME-WAIT: the restart on the same port relies on SO_REUSEADDR
        with socket.create_connection((HOST, broker.port)):
            if how == "clean stop":
                broker.restart()
            else:
                broker.wait_for_save()  # the next autosave after the last PUBACK
                broker.kill()
                assert broker.persistence_file.exists()
                broker.start()
        for kwargs in session_clients(broker.port):
            async with aiomqtt.Client(HOST, broker.port, **kwargs) as client:
                got = await receive(client, len(sent))
            assert sorted(got, key=int) == sent, kwargs["identifier"]


async def test_a_crash_loses_messages_since_the_last_save_but_not_the_sessions() -> None:
    """autosave_interval 0: mosquitto saves only on a clean stop or SIGUSR1."""
    with start_mosquitto(autosave_interval=0) as broker:
        await subscribe_offline(broker.port, "netmon/crash/#")
        broker.wait_for_save(force=True)  # sessions and subscriptions are on disk
        await publish(broker.port, "netmon/crash", [str(i) for i in range(100)])
        broker.kill()
        broker.start()
        await publish(broker.port, "netmon/crash", ["1000"])
        for kwargs in session_clients(broker.port):
            async with aiomqtt.Client(HOST, broker.port, **kwargs) as client:
                # a session queue is FIFO: a surviving message would come before this one
                assert await receive(client, 1) == ["1000"], kwargs["identifier"]
                assert len(client.messages) == 0


@pytest.mark.parametrize(
    ("max_queued", "kept"), [("0", 1500), ("1000", 1000)], ids=["netmon config", "default"]
)
async def test_an_offline_session_keeps_every_message_only_without_a_queue_limit(
    max_queued: str, kept: int
) -> None:
    """mosquitto's default max_queued_messages (1000) drops newer messages silently."""
    with start_mosquitto() as broker:
        broker.stop()
        config = broker.config_path.read_text()
        assert "\nmax_queued_messages 0\n" in config
        broker.config_path.write_text(
            config.replace("\nmax_queued_messages 0\n", f"\nmax_queued_messages {max_queued}\n")
        )
        broker.start()
        session = session_clients(broker.port)[0]
        await subscribe_offline(broker.port, "netmon/queue/#")
        sent = [str(i) for i in range(1500)]
        await publish(broker.port, "netmon/queue", sent)
        async with aiomqtt.Client(HOST, broker.port, **session) as client:
            await publish(broker.port, "netmon/queue", ["end"])  # queued behind the rest
            got = await receive(client, kept + 1)
        assert got == [*sent[:kept], "end"]  # over the limit, the newest are dropped


# ----------------------------------------------------------------- deploy


def test_the_deploy_config_is_what_broker_config_generates() -> None:
    deployed = (ROOT / "deploy/mosquitto/netmon.conf").read_text()
    assert deployed == deploy_config(), "regenerate deploy/mosquitto/netmon.conf"


def deploy_config_at(root: Path, port: int, tls_port: int) -> str:
    """The deploy config with its paths moved under ``root`` and its ports made free."""
    text = deploy_config()
    for old, new in [
        ("/etc/mosquitto/", f"{root}/etc/"),
        ("/var/lib/mosquitto/", f"{root}/data/"),
        ("\nlistener 1883 127.0.0.1\n", f"\nlistener {port} {HOST}\n"),
        ("\nlistener 8883 0.0.0.0\n", f"\nlistener {tls_port} {HOST}\n"),
    ]:
        assert old in text
        text = text.replace(old, new)
    if os.geteuid() == 0:  # see start_mosquitto: "mosquitto" cannot enter tmp_path
        text += "user root\n"
    return text


async def test_mosquitto_runs_the_deploy_config(tmp_path: Path) -> None:
    """mosquitto 2.0.11 has no config test mode (-t): run it for real instead."""
    tls = make_tls(tmp_path / "etc/certs")
    write_password_file(tmp_path / "etc/passwd", USERS)
    write_acl(tmp_path / "etc/acl", ACL)
    (tmp_path / "data").mkdir()
    port, tls_port = free_tcp_port(), free_tcp_port()
    text = deploy_config_at(tmp_path, port, tls_port)
    with Mosquitto(tmp_path, text, port=port, tls_port=tls_port, data_dir=tmp_path / "data") as b:
        b.start()
        async with aiomqtt.Client(
            HOST, tls_port, username="netmon", password=USERS["netmon"], tls_context=trusting(tls)
        ) as client:
            await client.subscribe("netmon/deploy", qos=1)
            await client.publish("netmon/deploy", b"ok", qos=1)
            assert (await next_message(client)).payload == b"ok"
        b.stop()
        assert b.persistence_file.exists()
        assert "Error" not in b.log


def test_broker_config_refuses_half_a_tls_listener(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tls_port"):
        broker_config(port=1, data_dir=tmp_path, tls_port=2)
    with pytest.raises(ValueError, match="persistent_client_expiration"):
        broker_config(port=1, data_dir=tmp_path, persistent_client_expiration="7 days")
