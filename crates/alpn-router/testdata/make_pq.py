#!/usr/bin/env python3
"""Synthesizes pq-two-records.bin: a post-quantum-sized ClientHello in two TLS records.

Neither the OpenSSL (3.0) nor the Go (1.19, in lego) installed here offers the hybrid
group X25519MLKEM768 (0x11EC), whose key share is 1216 bytes, so this script derives one
from the real capture curl-h2.bin (python3 stdlib only):

- drops the padding extension (21), which only pads hellos of 256 to 511 bytes;
- puts 0x11EC first in supported_groups (10);
- puts a key_share (51) entry for 0x11EC first, with 1216 bytes of key material from
  random.Random(SEED) (not a real key: the router never looks inside);
- fixes every length (extension, client_shares, named_group_list, extensions block,
  handshake message);
- frames the handshake message in TWO records, the first with FIRST_RECORD bytes of
  payload and the second with the rest, as clients with large hellos do.

    testdata/make_pq.py    # writes pq-two-records.bin next to this script
"""

import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = "curl-h2.bin"
TARGET = "pq-two-records.bin"
SEED = 8737
GROUP = 0x11EC  # X25519MLKEM768
KEY_SHARE_BYTES = 1216
FIRST_RECORD = 512

SERVER_NAME, SUPPORTED_GROUPS, PADDING, KEY_SHARE = 0, 10, 21, 51


def u16(value):
    return struct.pack(">H", value)


def read_message(data):
    """The handshake message of a capture (its records' payloads) and the records' version."""
    pos, message = 0, b""
    version = data[1:3]
    while pos < len(data):
        assert data[pos] == 22, "a handshake record"
        length = struct.unpack(">H", data[pos + 3:pos + 5])[0]
        message += data[pos + 5:pos + 5 + length]
        pos += 5 + length
    assert message[0] == 1 and len(message) == 4 + int.from_bytes(message[1:4], "big")
    return message, version


def split_hello(body):
    """(fixed part before the extensions, [(type, data)]) of a ClientHello body."""
    pos = 2 + 32
    pos += 1 + body[pos]  # session_id
    pos += 2 + struct.unpack(">H", body[pos:pos + 2])[0]  # cipher_suites
    pos += 1 + body[pos]  # compression_methods
    fixed = body[:pos]
    total = struct.unpack(">H", body[pos:pos + 2])[0]
    pos += 2
    assert pos + total == len(body), "the extensions block ends the hello"
    extensions = []
    while pos < len(body):
        kind, length = struct.unpack(">HH", body[pos:pos + 4])
        extensions.append((kind, body[pos + 4:pos + 4 + length]))
        pos += 4 + length
    return fixed, extensions


def main():
    with open(os.path.join(HERE, SOURCE), "rb") as source:
        message, version = read_message(source.read())
    fixed, extensions = split_hello(message[4:])
    key = random.Random(SEED).randbytes(KEY_SHARE_BYTES)

    rebuilt = []
    for kind, data in extensions:
        if kind == PADDING:
            continue
        if kind == SUPPORTED_GROUPS:
            groups = u16(GROUP) + data[2:]
            data = u16(len(groups)) + groups
        elif kind == KEY_SHARE:
            shares = u16(GROUP) + u16(len(key)) + key + data[2:]
            data = u16(len(shares)) + shares
        rebuilt.append(u16(kind) + u16(len(data)) + data)
    block = b"".join(rebuilt)
    body = fixed + u16(len(block)) + block
    message = b"\x01" + len(body).to_bytes(3, "big") + body

    records = b""
    for fragment in (message[:FIRST_RECORD], message[FIRST_RECORD:]):
        records += b"\x16" + version + u16(len(fragment)) + fragment
    with open(os.path.join(HERE, TARGET), "wb") as out:
        out.write(records)
    print(f"{TARGET}: {len(records)} bytes, handshake message {len(message)} bytes in 2 records")


if __name__ == "__main__":
    main()
