"""An ASGI app served by uvicorn with ``loop="loopasyncio:new_event_loop"``, hit by httpx.

Two ways: uvicorn's ``Server`` in a thread of this process, and uvicorn's command
line in a child process (``--loop loopasyncio:new_event_loop``). The listening socket
is bound here first, so the client never races the server's start-up.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import uvicorn
from asgi_app import app

HERE = Path(__file__).parent


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def test_uvicorn_server_with_loopasyncio_loop_answers_http():
    sock = listening_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, loop="loopasyncio:new_event_loop", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            replies = [client.post("/hello", content=f"body {i}").json() for i in range(5)]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
    assert not thread.is_alive()
    assert replies == [
        {"loop": "loopasyncio.loop.EventLoop", "path": "/hello", "body": f"body {i}", "task": True}
        for i in range(5)
    ]


def test_uvicorn_command_line_loop_option_takes_loopasyncio():
    sock = listening_socket()
    port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "asgi_app:app",
            "--app-dir",
            str(HERE),
            "--loop",
            "loopasyncio:new_event_loop",
            "--fd",
            str(sock.fileno()),
            "--log-level",
            "info",
        ],
        pass_fds=[sock.fileno()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    sock.close()  # the child has its own copy
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            reply = client.get("/from-cli").json()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    assert reply == {
        "loop": "loopasyncio.loop.EventLoop",
        "path": "/from-cli",
        "body": "",
        "task": True,
    }
    # A graceful shutdown: uvicorn finishes, then re-raises the SIGTERM it caught
    # (so the exit status says "terminated by SIGTERM", as with asyncio's loop).
    log = err.decode()
    assert "Finished server process" in log, log
    assert "Traceback" not in log, log
    assert proc.returncode in (0, -signal.SIGTERM), log
