#!/usr/bin/env python3
"""Opens N keep-alive HTTP/1.1 connections, sends one request on each, and holds them.

usage: idle-conns.py PORT N HOST_HEADER PATH STOP_FILE HOLD_SECONDS [STATUS]

Connects to 127.0.0.1:PORT at most 256 at a time, sends
`GET PATH HTTP/1.1` with `Host: HOST_HEADER` (keep-alive), reads the whole response
(which must have STATUS, 200 unless given) and keeps the connection open. When every connection has been tried it prints

    ready open=K failed=F [first_error=...]

then waits until STOP_FILE exists (at most HOLD_SECONDS), prints

    still_open=K

(connections the server has not closed meanwhile), closes every connection with a
reset (SO_LINGER 0, so no TIME_WAIT piles up on the client side) and exits. Exit status
2 if the open-file limit is too low for N connections, 1 if opening took too long.
Python standard library only.
"""

import asyncio
import os
import resource
import socket
import struct
import sys
import time

CONCURRENCY = 256
STEP_TIMEOUT = 10.0
OPEN_TIMEOUT = 180.0


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip().lower()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, headers


async def open_one(port, request, expected, sem, conns, errors):
    async with sem:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port), STEP_TIMEOUT)
        except Exception as e:  # noqa: BLE001 - every failure is counted and reported
            errors.append(f"connect: {e!r}")
            return
        try:
            writer.write(request)
            status, headers = await asyncio.wait_for(read_response(reader), STEP_TIMEOUT)
            if status != expected:
                raise RuntimeError(f"status {status}")
            if headers.get("connection") == "close":
                raise RuntimeError("server answered Connection: close")
            conns.append((reader, writer))
        except Exception as e:  # noqa: BLE001
            errors.append(f"request: {e!r}")
            writer.close()


async def main():
    port, n, host, path, stop_file, hold = sys.argv[1:7]
    port, n, hold = int(port), int(n), float(hold)
    expected = int(sys.argv[7]) if len(sys.argv) > 7 else 200

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            print(f"idle-conns: open-file limit {hard} is below {want} needed for {n} "
                  "connections (raise `ulimit -n`)", file=sys.stderr)
            sys.exit(2)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: idle-conns\r\n"
               "Accept: */*\r\n\r\n").encode()
    sem = asyncio.Semaphore(CONCURRENCY)
    conns, errors = [], []
    tasks = [asyncio.ensure_future(open_one(port, request, expected, sem, conns, errors))
             for _ in range(n)]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), OPEN_TIMEOUT)
    except asyncio.TimeoutError:
        print(f"idle-conns: opening {n} connections took over {OPEN_TIMEOUT}s "
              f"({len(conns)} open)", file=sys.stderr)
        sys.exit(1)
    extra = f" first_error={errors[0]}" if errors else ""
    print(f"ready open={len(conns)} failed={len(errors)}{extra}", flush=True)

    deadline = time.monotonic() + hold
    while not os.path.exists(stop_file) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    still = sum(1 for r, w in conns if not r.at_eof() and not w.is_closing())
    print(f"still_open={still}", flush=True)

    linger = struct.pack("ii", 1, 0)
    for _, w in conns:
        sock = w.get_extra_info("socket")
        try:
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        except OSError:
            pass
        w.close()
    await asyncio.sleep(0.2)


if __name__ == "__main__":
    asyncio.run(main())
