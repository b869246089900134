#!/usr/bin/env python3
"""A CA's validation bursts against one relay, and what they cost.

    burst.py PORT HOST BURSTS CONCURRENT [PERSPECTIVES]

Each burst is one challenge validated as Let's Encrypt does it: a fresh token, a GET
from the primary perspective (127.0.0.1), then, once it was answered, one GET from each
remote perspective at once (127.0.0.2, 127.0.0.3, ...; PERSPECTIVES counts them all,
default 6). Every GET is on a fresh connection and must be answered 200 with
"<token>.thumbprint". CONCURRENT bursts run at a time until BURSTS are done. Prints one
JSON object: bursts, seconds, bursts_per_s, p50_ms and p99_ms of a burst's duration,
failures. Exits 1 when any answer was wrong.
"""
import asyncio
import json
import secrets
import sys
import time


async def get(port, host, token, source):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(
        f"GET /.well-known/acme-challenge/{token} HTTP/1.1\r\nHost: {host}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    data = await reader.read()
    writer.close()
    return data.startswith(b"HTTP/1.1 200") and data.endswith(f"{token}.thumbprint".encode())


async def burst(port, host, perspectives):
    token = secrets.token_urlsafe(32)
    started = time.perf_counter()
    ok = await get(port, host, token, "127.0.0.1")
    remote = [get(port, host, token, f"127.0.0.{i}") for i in range(2, perspectives + 1)]
    ok = all(await asyncio.gather(*remote)) and ok
    return ok, time.perf_counter() - started


async def main(port, host, bursts, concurrent, perspectives):
    durations, failures = [], 0
    left = bursts

    async def worker():
        nonlocal left, failures
        while left > 0:
            left -= 1
            ok, seconds = await burst(port, host, perspectives)
            durations.append(seconds)
            failures += 0 if ok else 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrent)))
    elapsed = time.perf_counter() - started
    durations.sort()
    pick = lambda q: durations[min(len(durations) - 1, int(q * len(durations)))] * 1000
    print(json.dumps({
        "bursts": len(durations), "seconds": round(elapsed, 3),
        "bursts_per_s": round(len(durations) / elapsed, 1),
        "p50_ms": round(pick(0.5), 3), "p99_ms": round(pick(0.99), 3), "failures": failures,
    }))
    return failures


if __name__ == "__main__":
    port, host, bursts, concurrent = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    perspectives = int(sys.argv[5]) if len(sys.argv) > 5 else 6
    sys.exit(1 if asyncio.run(main(port, host, bursts, concurrent, perspectives)) else 0)
