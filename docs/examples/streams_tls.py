# requires: loopcore, looptransports, loopstreams
"""A TLS server and client with streams: TLS is the ``ssl=`` argument.

A real server loads its certificate from files; this example makes a certificate
authority and a certificate for ``localhost`` when it runs, with ``trustme`` if it is
installed, otherwise with the ``openssl`` command.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

import loopcore
import loopstreams


def make_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context) for "localhost", trusting a new CA."""
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    client_ctx = ssl.create_default_context()
    try:
        import trustme
    except ImportError:
        trustme = None
    if trustme is not None:
        ca = trustme.CA()
        ca.issue_cert("localhost").configure_cert(server_ctx)
        ca.configure_trust(client_ctx)
        return server_ctx, client_ctx
    if shutil.which("openssl") is None:
        print("skipped: this example needs trustme or the openssl command")
        sys.exit(0)
    with tempfile.TemporaryDirectory() as tmp:
        key, cert = Path(tmp, "key.pem"), Path(tmp, "cert.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
             "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
        server_ctx.load_cert_chain(cert, key)
        # A self-signed certificate is its own CA.
        client_ctx.load_verify_locations(cert)
    return server_ctx, client_ctx


async def handle(
    reader: loopstreams.StreamReader, writer: loopstreams.StreamWriter
) -> None:
    name = (await reader.readline()).decode().strip()
    version = writer.get_extra_info("ssl_object").version()
    await writer.send(f"hello {name}, this connection uses {version}\n".encode())
    writer.close()
    await writer.wait_closed()


async def main() -> None:
    server_ctx, client_ctx = make_contexts()
    server = await loopstreams.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await loopstreams.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
        )
        cert = writer.get_extra_info("peercert")
        print("client: the server proved it is", dict(cert["subjectAltName"])["DNS"])
        await writer.send(b"reader\n")
        print("client: got", (await reader.readline()).decode().strip())
        writer.close()
        await writer.wait_closed()
    print("done")


if __name__ == "__main__":
    loopcore.run(main())


# Expected output ("..." stands for any text):
# client: the server proved it is localhost
# client: got hello reader, this connection uses TLSv1.3
# done
