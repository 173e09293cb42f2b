"""A local RFC 3161 Time-Stamp Authority for tests: `openssl ts -reply` behind a tiny HTTP server."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONFIG = """
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = {dir}/serial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
[ req ]
distinguished_name = dn
[ dn ]
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_tsa ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(folder: Path, name: str) -> Path:
    """A self-signed root (name.pem, name.key) in `folder`."""
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
        "-days", "30", "-subj", f"/CN={name}", "-config", "tsa.cnf", "-extensions", "v3_ca", cwd=folder,
    )  # fmt: skip
    return folder / f"{name}.pem"


@dataclass
class LocalTsa:
    url: str
    root: Path  # the root certificate the TSA's certificate chains to
    folder: Path


@contextmanager
def local_tsa(folder: Path) -> Iterator[LocalTsa]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tsa.cnf").write_text(CONFIG.format(dir=folder))
    (folder / "serial").write_text("01\n")
    root = make_ca(folder, "root")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Test TSA",
             "-config", "tsa.cnf", cwd=folder)  # fmt: skip
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial",
             "-out", "tsa.pem", "-days", "30", "-extfile", "tsa.cnf", "-extensions", "v3_tsa", cwd=folder)  # fmt: skip
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock, tempfile.TemporaryDirectory() as work:
                (Path(work) / "q.tsq").write_bytes(query)
                made = subprocess.run(
                    ["openssl", "ts", "-reply", "-config", str(folder / "tsa.cnf"), "-queryfile", "q.tsq",
                     "-inkey", str(folder / "tsa.key"), "-signer", str(folder / "tsa.pem"), "-out", "r.tsr"],
                    cwd=work, capture_output=True, timeout=60, check=False,
                )  # fmt: skip
                reply = (Path(work) / "r.tsr").read_bytes() if made.returncode == 0 else b""
            self.send_response(200 if reply else 400)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the http.server signature
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalTsa(url=f"http://127.0.0.1:{server.server_address[1]}/tsr", root=root, folder=folder)
    finally:
        server.shutdown()
        server.server_close()
