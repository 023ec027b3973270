"""A real IMAP server for the feedback tests: Debian's dovecot, started from a throwaway config.

Dovecot runs as root (the tests and CI do) on a free loopback port, serves a static user whose
mail lives in a temporary Maildir, and is stopped with its master process. Messages are put into the
mailbox with IMAP APPEND, as any delivery agent would leave them.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.email_support import tls_pair

USER, PASSWORD = "bounces", "mailbox-secret"
_START_TIMEOUT_S = 10.0
_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int  # implicit TLS (imaps) when `client_tls` is set, else plain IMAP
    user: str
    password: str
    client_tls: ssl.SSLContext | None = None

    def _client(self) -> imaplib.IMAP4:
        if self.client_tls is not None:
            return imaplib.IMAP4_SSL(self.host, self.port, ssl_context=self.client_tls, timeout=10)
        return imaplib.IMAP4(self.host, self.port, timeout=10)

    def append(self, raw: bytes, mailbox: str = "INBOX") -> None:
        """Deliver one message into the mailbox (IMAP APPEND, Python's imaplib)."""
        with self._client() as client:
            client.login(self.user, self.password)
            status, detail = client.append(mailbox, None, None, raw)
            assert status == "OK", detail

    def flags(self, mailbox: str = "INBOX") -> list[str]:
        """Each message's FLAGS, in mailbox order (imaplib, independent of the reader under test)."""
        with self._client() as client:
            client.login(self.user, self.password)
            client.select(mailbox, readonly=True)
            status, data = client.fetch("1:*", "(FLAGS)")
            assert status == "OK", data
            return [item.decode() for item in data if isinstance(item, bytes)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def dovecot(*, tls: bool = False) -> Iterator[ImapServer]:
    """Dovecot on loopback; with `tls`, serving only implicit TLS (imaps) with a throwaway certificate."""
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if binary is None:
        raise RuntimeError("dovecot is not installed: apt-get install dovecot-imapd (.ci/run does)")
    if os.geteuid() != 0:
        raise RuntimeError("the dovecot test server starts as root (its mail user is nobody)")
    nobody = pwd.getpwnam("nobody")
    # Not under pytest's tmp_path: that is private to root, and the mail processes run as nobody.
    root = Path(tempfile.mkdtemp(prefix="ritm-imap-"))
    try:
        root.chmod(0o755)
        for sub in ("mail", "home"):
            (root / sub).mkdir()
            os.chown(root / sub, nobody.pw_uid, nobody.pw_gid)
        port = _free_port()
        client_tls = None
        settings = "ssl = no"
        if tls:
            _, client_tls = tls_pair(root)  # writes root/cert.pem and root/key.pem
            settings = f"ssl = required\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem"
        config = root / "dovecot.conf"
        config.write_text(
            _CONFIG.format(
                root=root,
                ssl=settings,
                imap_port=0 if tls else port,
                imaps_port=port if tls else 0,
                uid=nobody.pw_uid,
                gid=nobody.pw_gid,
                password=PASSWORD,
            )
        )
        with (root / "start.log").open("wb") as out:
            # -F: in the foreground, so the master is our child and stops with it.
            master = subprocess.Popen([binary, "-F", "-c", str(config)], stdout=out, stderr=out)
        try:
            _wait_for_greeting(port, root, master)
            yield ImapServer("127.0.0.1", port, USER, PASSWORD, client_tls)
        finally:
            master.send_signal(signal.SIGTERM)
            try:
                master.wait(_START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                master.kill()
                master.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_greeting(port: int, root: Path, master: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while master.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return  # listening (a TLS port greets only after the handshake)
        except OSError:
            pass
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)  # polling a server's start-up, not scheduling logic
    logs = [p.read_text(errors="replace") for p in (root / "start.log", root / "dovecot.log") if p.exists()]
    raise RuntimeError(f"dovecot did not start: {' '.join(logs) or 'no log'}")
