#!/usr/bin/env python3
"""Captures real TLS ClientHellos for the alpn-router tests (python3 stdlib only).

For each capture it listens on 127.0.0.1 (an ephemeral port), starts one client against
that port, accepts one connection and reads from its first byte until the ClientHello is
complete (the handshake message reassembled from the TLS record headers, read here too),
writes exactly those bytes (every record the hello occupied) to the .bin file, closes
the connection and stops the client. Loopback only: nothing leaves the machine.

    testdata/capture.py            # every capture (see CAPTURES)
    testdata/capture.py curl-h2    # one of them

Writes into the directory of this script. `make_pq.py` then derives pq-two-records.bin
from curl-h2.bin.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
# A client that does not connect within this many seconds fails the capture.
TIMEOUT = 20.0
MAX_BYTES = 64 * 1024


def python_client(port):
    """The command of a Python `ssl` client (default context, ALPN h2 and http/1.1)."""
    code = (
        "import socket, ssl\n"
        "ctx = ssl.create_default_context()\n"
        "ctx.check_hostname = False\n"
        "ctx.verify_mode = ssl.CERT_NONE\n"
        "ctx.set_alpn_protocols(['h2', 'http/1.1'])\n"
        f"raw = socket.create_connection(('127.0.0.1', {port}))\n"
        "try:\n"
        "    ctx.wrap_socket(raw, server_hostname='python.example.test')\n"
        "except (OSError, ssl.SSLError):\n"
        "    pass\n"
    )
    return [sys.executable, "-c", code]


def lego_client(port, workdir):
    return [
        "lego",
        "--server", f"https://localhost:{port}/dir",
        "--email", "a@b.test",
        "--domains", "x.test",
        "--http",
        "--accept-tos",
        "--path", workdir,
        "run",
    ]


def pebble_client(port, workdir):
    """pebble validating tls-alpn-01 for pebble.example.test at PORT (its `tlsPort`):
    the ClientHello a CA sends (Go's crypto/tls, SNI = the domain, ALPN acme-tls/1 only).
    This script runs itself as the client: a tiny DNS server answering every A question
    with 127.0.0.1, pebble with a throwaway certificate, and lego ordering the
    certificate so that pebble validates."""
    return [sys.executable, os.path.abspath(__file__), "--pebble-client", str(port), workdir]


def run_pebble_client(port, workdir):
    import json
    import threading
    import time

    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind(("127.0.0.1", 0))

    def answer_a_questions():
        while True:
            query, peer = dns.recvfrom(512)
            end = 12
            while query[end] != 0:
                end += 1 + query[end]
            question = query[12:end + 5]
            qtype = int.from_bytes(query[end + 1:end + 3], "big")
            header = query[:2] + b"\x84\x00\x00\x01" + (b"\x00\x01" if qtype == 1 else b"\x00\x00") + b"\x00\x00\x00\x00"
            record = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01" if qtype == 1 else b""
            dns.sendto(header + question + record, peer)

    threading.Thread(target=answer_a_questions, daemon=True).start()

    def free_port():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-days", "2", "-keyout", key, "-out", cert], check=True, capture_output=True)
    acme, management = free_port(), free_port()
    config = os.path.join(workdir, "pebble.json")
    with open(config, "w") as f:
        json.dump({"pebble": {"listenAddress": f"127.0.0.1:{acme}", "managementListenAddress": f"127.0.0.1:{management}",
                              "certificate": cert, "privateKey": key, "httpPort": free_port(), "tlsPort": port,
                              "ocspResponderURL": "", "externalAccountBindingRequired": False}}, f)
    env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0", PEBBLE_AUTHZREUSE="0")
    pebble = subprocess.Popen(["pebble", "-config", config, "-dnsserver", f"127.0.0.1:{dns.getsockname()[1]}"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", acme)) == 0:
                    break
            time.sleep(0.05)
        subprocess.run(["lego", "--server", f"https://127.0.0.1:{acme}/dir", "--email", "a@b.test",
                        "--domains", "pebble.example.test", "--tls", "--tls.port", f"127.0.0.1:{free_port()}",
                        "--accept-tos", "--path", workdir, "run"],
                       env=dict(os.environ, LEGO_CA_CERTIFICATES=cert), timeout=TIMEOUT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        pebble.kill()


# name -> function(port, workdir) giving the client's command line.
CAPTURES = {
    "curl-h2": lambda port, _: [
        "curl", "-sk", "--http2", "--max-time", "5",
        "--resolve", f"curl.example.test:{port}:127.0.0.1",
        f"https://curl.example.test:{port}/",
    ],
    "curl-http11": lambda port, _: [
        "curl", "-sk", "--http1.1", "--max-time", "5",
        "--resolve", f"curl.example.test:{port}:127.0.0.1",
        f"https://curl.example.test:{port}/",
    ],
    "openssl-acme-tls": lambda port, _: [
        "openssl", "s_client", "-connect", f"127.0.0.1:{port}",
        "-servername", "openssl.example.test", "-alpn", "acme-tls/1",
    ],
    "openssl-no-sni": lambda port, _: [
        # Without -servername: OpenSSL sends no SNI for an IP address.
        "openssl", "s_client", "-connect", f"127.0.0.1:{port}",
    ],
    "python": lambda port, _: python_client(port),
    "go-lego": lego_client,
    "go-pebble-validation": pebble_client,
}


def hello_end(data):
    """Where the ClientHello's last record ends in `data`, or None while incomplete.

    Reassembles the handshake message from consecutive handshake records (content type
    22); raises ValueError for anything else.
    """
    pos = 0
    message = b""
    needed = None
    while True:
        if needed is not None and len(message) >= needed:
            return pos
        if len(data) < pos + 5:
            return None
        content_type, major = data[pos], data[pos + 1]
        length = int.from_bytes(data[pos + 3:pos + 5], "big")
        if content_type != 22 or major != 3 or length == 0:
            raise ValueError(f"not a TLS handshake record at byte {pos}: {data[pos:pos + 5].hex()}")
        if len(data) < pos + 5 + length:
            return None
        message += data[pos + 5:pos + 5 + length]
        pos += 5 + length
        if needed is None and len(message) >= 4:
            if message[0] != 1:
                raise ValueError(f"handshake type {message[0]} is not ClientHello")
            needed = 4 + int.from_bytes(message[1:4], "big")


def capture(name):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(TIMEOUT)
    port = listener.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="capture-")
    command = CAPTURES[name](port, workdir)
    client = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        conn, _ = listener.accept()
        conn.settimeout(TIMEOUT)
        data = b""
        end = None
        while end is None:
            chunk = conn.recv(4096)
            if not chunk:
                raise ValueError(f"{name}: the client closed after {len(data)} bytes")
            data += chunk
            if len(data) > MAX_BYTES:
                raise ValueError(f"{name}: no complete ClientHello in {MAX_BYTES} bytes")
            end = hello_end(data)
        conn.close()
    finally:
        listener.close()
        client.kill()
        client.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    path = os.path.join(HERE, f"{name}.bin")
    with open(path, "wb") as out:
        out.write(data[:end])
    print(f"{name}: {end} bytes ({len(data) - end} more received after the hello) -> {path}")


def main():
    if sys.argv[1:2] == ["--pebble-client"]:
        run_pebble_client(int(sys.argv[2]), sys.argv[3])
        return
    names = sys.argv[1:] or list(CAPTURES)
    for name in names:
        if name not in CAPTURES:
            sys.exit(f"unknown capture {name!r}; known: {', '.join(CAPTURES)}")
        capture(name)


if __name__ == "__main__":
    main()
