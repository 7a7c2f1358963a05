"""Load client of test_load.py, run as a separate process (stdlib only: no loop of ours).

Usage: ``python _echo_client.py HOST PORT CONNECTIONS REQUESTS BATCH SEED``

1. Opens CONNECTIONS connections to the echo server; on each, one line goes there and
   back before the next connection opens, so every one is accepted and served.
2. Prints ``held N`` and waits for a line on stdin (the test checks that the server
   holds every client's connections at once).
3. Sends REQUESTS lines on every connection, BATCH at a time (pipelined), all
   connections at once through a selector; each line (seeded random length and
   bytes) must come back exactly, in order.
4. Prints one JSON line (connections, requests, bytes, seconds), closes everything
   and exits 0. Any mismatch, early EOF or error exits non-zero with the reason on
   stderr. An alarm ends the process if the test behind it dies.
"""

from __future__ import annotations

import json
import random
import resource
import selectors
import signal
import socket
import sys
import time

ALPHABET = bytes(range(32, 127))  # no newline inside a line


def make_line(rng: random.Random, conn: int, index: int) -> bytes:
    size = rng.randrange(0, 120)
    body = bytes(rng.choice(ALPHABET) for _ in range(size))
    return b"%d %d %s\n" % (conn, index, body)


def main(argv: list[str]) -> int:
    host, port = argv[0], int(argv[1])
    count, requests, batch, seed = (int(a) for a in argv[2:6])
    signal.alarm(600)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 64), hard))

    socks: list[socket.socket] = []
    for i in range(count):
        sock = socket.create_connection((host, port), timeout=60)
        hello = b"hello %d\n" % i
        sock.sendall(hello)
        got = b""
        while len(got) < len(hello):
            chunk = sock.recv(4096)
            if not chunk:
                sys.exit(f"connection {i}: EOF before its hello came back")
            got += chunk
        if got != hello:
            sys.exit(f"connection {i}: sent {hello!r}, got {got!r}")
        sock.setblocking(False)
        socks.append(sock)
    print(f"held {count}", flush=True)
    if sys.stdin.readline().strip() != "go":
        sys.exit("stdin closed before 'go'")

    start = time.perf_counter()
    sel = selectors.DefaultSelector()
    rngs = [random.Random(seed * 1_000_003 + i) for i in range(count)]
    sent = [0] * count  # requests sent on each connection
    expected: list[bytearray] = [bytearray() for _ in range(count)]
    outgoing: list[bytes] = [b""] * count
    total_bytes = 0
    done = 0

    def next_batch(i: int) -> None:
        lines = b"".join(
            make_line(rngs[i], i, sent[i] + k) for k in range(min(batch, requests - sent[i]))
        )
        sent[i] += min(batch, requests - sent[i])
        expected[i] += lines
        outgoing[i] = lines

    for i, sock in enumerate(socks):
        if requests:
            next_batch(i)
            sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, i)
        else:
            done += 1
    while done < count:
        for key, events in sel.select(timeout=60):
            i = key.data
            sock = socks[i]
            if events & selectors.EVENT_WRITE and outgoing[i]:
                n = sock.send(outgoing[i])
                outgoing[i] = outgoing[i][n:]
                if not outgoing[i]:
                    sel.modify(sock, selectors.EVENT_READ, i)
            if events & selectors.EVENT_READ:
                try:
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    sys.exit(f"connection {i}: EOF with {len(expected[i])} bytes still due")
                want = bytes(expected[i][: len(chunk)])
                if chunk != want:
                    sys.exit(f"connection {i}: expected {want!r}, got {chunk!r}")
                del expected[i][: len(chunk)]
                total_bytes += len(chunk)
                if not expected[i]:
                    if sent[i] == requests:
                        sel.unregister(sock)
                        done += 1
                    else:
                        next_batch(i)
                        sel.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, i)
    seconds = time.perf_counter() - start
    sel.close()
    for sock in socks:
        sock.close()
    print(
        json.dumps(
            {
                "connections": count,
                "requests": sum(sent),
                "bytes": total_bytes,
                "seconds": seconds,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
