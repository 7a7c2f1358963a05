"""A small ASGI application that says which loop serves it (for the uvicorn tests)."""

from __future__ import annotations

import asyncio
import json


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    assert scope["type"] == "http"
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await asyncio.sleep(0.001)  # a timer on the serving loop
    loop = asyncio.get_running_loop()
    payload = json.dumps(
        {
            "loop": f"{type(loop).__module__}.{type(loop).__qualname__}",
            "path": scope["path"],
            "body": body.decode(),
            "task": asyncio.current_task() is not None,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})
