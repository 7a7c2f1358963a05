"""Echo server for the echo benchmark, on one implementation and one API style.

    python benchmarks/echo_server.py --impl ours|asyncio|uvloop|rloop \
        --mode protocol|streams|sock [--tls] [--port 0] [--max-seconds 300]

Modes:

* ``protocol``: ``loop.create_server`` with a protocol whose ``data_received``
  writes the data back (``transport.write``);
* ``streams``: ``start_server`` with a handler that ``read(65536)``\\s, ``write``\\s
  and ``await drain()``\\s;
* ``sock``: a listening socket served with the loop's ``sock_accept``,
  ``sock_recv(sock, 65536)`` and ``sock_sendall`` coroutines, one task per
  connection.

It listens on 127.0.0.1 only, then prints one JSON line
``{"port": P, "cafile": PATH-or-null, "loop": "module.Class"}`` and serves until it
is terminated, or until ``--max-seconds`` have passed (so a server whose parent died
never lingers). It serves by running the loop (``run_forever``), never with
``Server.serve_forever()``: rloop 0.5.0 panics in the latter ("entered unreachable
code"), while its servers serve without it. With ``--tls`` it makes a CA and a
certificate for "localhost" at start-up, with trustme if installed, else with
``cryptography``; the CA is written to a temporary directory removed at exit
(``cafile`` lets the client verify).

An implementation that lacks a needed piece prints ``{"unavailable": reason}`` and
exits with status 3.
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import json
import shutil
import signal
import socket
import ssl
import sys
import tempfile
from pathlib import Path
from typing import Any

import _impls

READ_SIZE = 65536


def make_tls_context() -> tuple[ssl.SSLContext, str]:
    """A server context with a fresh certificate for "localhost" and 127.0.0.1, and
    the path of the PEM file of the CA that signed it."""
    tmp = Path(tempfile.mkdtemp(prefix="echo-tls-"))
    atexit.register(shutil.rmtree, tmp, True)
    cafile = tmp / "ca.pem"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        import trustme
    except ImportError:
        pass
    else:
        ca = trustme.CA()
        ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
        ca.cert_pem.write_to_path(str(cafile))
        return context, str(cafile)
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise _impls.Unavailable("--tls needs trustme or cryptography installed") from None
    import ipaddress

    now = datetime.datetime.now(datetime.UTC)
    validity = (now - datetime.timedelta(days=1), now + datetime.timedelta(days=1))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "echo benchmark CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    certfile, keyfile = tmp / "cert.pem", tmp / "key.pem"
    cafile.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context.load_cert_chain(str(certfile), str(keyfile))
    return context, str(cafile)


def protocol_factory(impl: _impls.Impl) -> Any:
    base = impl.need("Protocol")

    class EchoProtocol(base):  # type: ignore[misc, valid-type]
        __slots__ = ("transport",)

        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

        def eof_received(self) -> bool:
            return False

        def connection_lost(self, exc: BaseException | None) -> None:
            self.transport = None

    return EchoProtocol


async def start_protocol(
    impl: _impls.Impl, loop: Any, port: int, tls: ssl.SSLContext | None
) -> Any:
    return await loop.create_server(
        protocol_factory(impl), "127.0.0.1", port, ssl=tls, backlog=1024
    )


async def start_streams(impl: _impls.Impl, loop: Any, port: int, tls: ssl.SSLContext | None) -> Any:
    start_server = impl.need("start_server")

    async def handle(reader: Any, writer: Any) -> None:
        try:
            while data := await reader.read(READ_SIZE):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    return await start_server(handle, "127.0.0.1", port, ssl=tls, backlog=1024)


class SockServer:
    """The ``sock`` mode: accept loop and one echo task per connection, all on the
    loop's ``sock_*`` coroutines."""

    def __init__(self, loop: Any, port: int) -> None:
        for name in ("sock_accept", "sock_recv", "sock_sendall"):
            if not callable(getattr(loop, name, None)):
                raise _impls.Unavailable(f"{type(loop).__name__} has no {name}()")
        self.loop = loop
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(1024)
        self.listener.setblocking(False)
        self.sockets = [self.listener]
        self.tasks: set[Any] = set()
        self.accepting = loop.create_task(self.accept())

    async def accept(self) -> None:
        loop = self.loop
        while True:
            conn, _ = await loop.sock_accept(self.listener)
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = loop.create_task(self.echo(conn))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def echo(self, conn: socket.socket) -> None:
        loop = self.loop
        with conn:
            try:
                while data := await loop.sock_recv(conn, READ_SIZE):
                    await loop.sock_sendall(conn, data)
            except ConnectionError:
                pass

    def close(self) -> None:
        """Cancel the accept loop and the echo tasks, run the loop until they have
        unwound, and close the listening socket."""
        pending = [self.accepting, *self.tasks]
        for task in pending:
            task.cancel()
        self.listener.close()
        for task in pending:
            if not task.done():
                try:
                    self.loop.run_until_complete(task)
                except BaseException:  # noqa: BLE001 - the CancelledError we asked for
                    pass


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--impl", choices=_impls.IMPLS, required=True)
    parser.add_argument("--mode", choices=("protocol", "streams", "sock"), default="protocol")
    parser.add_argument(
        "--tls", action="store_true", help="serve TLS with a certificate made at start-up"
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument(
        "--max-seconds", type=float, default=300.0, help="stop by itself after this long"
    )
    args = parser.parse_args()
    if args.tls and args.mode == "sock":
        parser.error(
            "--tls is not available with --mode sock (the sock_* coroutines move raw bytes)"
        )

    try:
        impl = _impls.get(args.impl)
        tls, cafile = make_tls_context() if args.tls else (None, None)
        loop = impl.new_loop()
    except _impls.Unavailable as exc:
        _impls.report_unavailable(str(exc))

    # SIGTERM (how run.py ends a measurement) stops the loop, so that the server and
    # the loop are closed in order and atexit removes the --tls directory.
    try:
        loop.add_signal_handler(signal.SIGTERM, loop.stop)
    except (NotImplementedError, AttributeError):

        def terminate(signum: int, frame: object) -> None:
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, terminate)
    server: Any = None
    try:
        try:
            if args.mode == "protocol":
                server = loop.run_until_complete(start_protocol(impl, loop, args.port, tls))
            elif args.mode == "streams":
                server = loop.run_until_complete(start_streams(impl, loop, args.port, tls))
            else:
                server = SockServer(loop, args.port)
        except _impls.Unavailable as exc:
            _impls.report_unavailable(str(exc))
        except NotImplementedError as exc:
            # rloop 0.5.0 raises a bare NotImplementedError for create_server(ssl=...).
            what = f"{args.mode} server{' with TLS' if args.tls else ''}"
            detail = str(exc) or f"{_impls.loop_description(loop)} raised NotImplementedError"
            _impls.report_unavailable(f"{what}: {detail}")
        port = server.sockets[0].getsockname()[1]
        print(
            json.dumps({"port": port, "cafile": cafile, "loop": _impls.loop_description(loop)}),
            flush=True,
        )
        loop.call_later(args.max_seconds, loop.stop)
        loop.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.close()
        loop.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
