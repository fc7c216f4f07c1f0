#!/usr/bin/env python3
"""A loopback upstream that answers every bundle request after a fixed delay, for `make bench`.

nginx cannot delay an answer by itself, and deploy/local/standin.py spends a thread per
connection; this asyncio server holds any number of requests at once for exactly `--delay-ms`
and then sends the same bundle file as the fast upstream, so the proxy's concurrency is what is
measured. It checks `X-ZW-Api-Key` against `--key-file` (401 otherwise), keeps connections alive
and prints its port on stdout.
"""

import argparse
import asyncio
import sys

BUNDLE_PREFIX = b"/api/v1/avatars/bundle/"


def response(status, reason, body, keep_alive):
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n")
    return head.encode() + body


def parse_head(head):
    """(method, path, version, headers with lower-case names) of one request head."""
    lines = head.split(b"\r\n")
    method, target, version = lines[0].split(b" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if value:
            headers[name.strip().lower()] = value.strip()
    return method, target.split(b"?", 1)[0], version, headers


class Upstream:
    def __init__(self, key, body, delay):
        self.key = key
        self.body = body
        self.delay = delay

    async def answer(self, path, headers):
        if headers.get(b"x-zw-api-key") != self.key:
            return 401, "Unauthorized", b'{"detail":"Invalid API key"}'
        if not path.startswith(BUNDLE_PREFIX):
            return 404, "Not Found", b'{"detail":"Not Found"}'
        await asyncio.sleep(self.delay)
        return 200, "OK", self.body

    async def serve(self, reader, writer):
        try:
            while True:
                method, path, version, headers = parse_head(await reader.readuntil(b"\r\n\r\n"))
                length = int(headers.get(b"content-length", b"0"))
                if length:
                    await reader.readexactly(length)
                status, reason, body = await self.answer(path, headers)
                keep_alive = version == b"HTTP/1.1" and headers.get(b"connection", b"").lower() != b"close"
                writer.write(response(status, reason, b"" if method == b"HEAD" else body, keep_alive))
                await writer.drain()
                if not keep_alive:
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--delay-ms", type=float, default=100)
    args = parser.parse_args()
    with open(args.key_file, "rb") as f:
        key = f.read().strip()
    with open(args.body_file, "rb") as f:
        body = f.read()
    upstream = Upstream(key, body, args.delay_ms / 1000)
    server = await asyncio.start_server(upstream.serve, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
