#!/usr/bin/env python3
"""Sends a fixed number of requests, one after another, and checks every answer.

    drive.py http PORT HOST PATH COUNT EXPECT   # fresh connection per request, like a CA
    drive.py dns PORT NAME COUNT                # SRV queries over UDP

Used by callgrind.sh, where the server runs under valgrind and only its instruction
count matters, so the client is simple and sequential. Exits 1 on the first bad answer.
"""
import socket
import struct
import sys


def http(port, host, path, count, expect):
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.sendall(request)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        if not data.startswith(b"HTTP/1.1 200") or not data.endswith(expect.encode()):
            sys.exit(f"bad answer: {data[:200]!r}")


def dns(port, name, count):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.strip(".").split(".")) + b"\0"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(60)
    for i in range(count):
        query = struct.pack(">HHHHHH", i & 0xFFFF, 0, 1, 0, 0, 0) + labels + struct.pack(">HH", 33, 1)
        s.sendto(query, ("127.0.0.1", port))
        answer, _ = s.recvfrom(4096)
        ancount = struct.unpack(">H", answer[6:8])[0]
        if answer[:2] != query[:2] or (answer[3] & 0x0F) != 0 or ancount == 0:
            sys.exit(f"bad DNS answer to query {i}: {answer[:40]!r}")


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "http":
        http(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
    elif mode == "dns":
        dns(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(f"unknown mode {mode}")
