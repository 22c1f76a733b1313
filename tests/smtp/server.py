"""A real SMTP server for the test suite (aiosmtpd), storing every delivered message as a file.

Usage: python3 server.py PORT DIR [--tls-client-auth CERT KEY CLIENT_CA]
With --tls-client-auth the server speaks implicit TLS (smtps) with CERT/KEY and accepts only
clients that present a certificate signed by CLIENT_CA.
Each accepted message is written to DIR/<n>.eml (written to a temporary name, then renamed, so a
reader never sees a half-written file). Listens on 127.0.0.1 only.
"""
import asyncio
import itertools
import os
import socket
import ssl
import sys

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count()

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        tmp = os.path.join(self.directory, f".{n}.tmp")
        with open(tmp, "wb") as f:
            f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.directory, f"{n:06}.eml"))
        return "250 Message accepted for delivery"


class ClientAuthController(Controller):
    """The start-up self-test connects without a client certificate, which this server refuses:
    a plain TCP connection is enough to make the server build its protocol."""

    def _trigger_server(self):
        with socket.create_connection((self.hostname, self.port), 1.0):
            pass


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    if len(sys.argv) > 3 and sys.argv[3] == "--tls-client-auth":
        cert, key, client_ca = sys.argv[4:7]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
        controller = ClientAuthController(
            Store(directory), hostname="127.0.0.1", port=port, ssl_context=context
        )
    else:
        controller = Controller(Store(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
