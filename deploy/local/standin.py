#!/usr/bin/env python3
"""A loopback stand-in for the ZeroWeight API, for tests and `make run`.

It answers like the real API where the docs say how (`X-ZW-Api-Key` checked, the two routes,
JSON bodies, 429 with Retry-After) and misbehaves on demand, chosen by the avatar id:

  slow-<ms>       answer after <ms> milliseconds        hang        never answer
  redirect        302 to /__capture on this server       html500     500 with an HTML page
  ratelimit       429 with Retry-After: 17                ratelimit-nohint  429 without it
  huge            200 declaring a 64 MiB body             huge-chunked  200 streaming chunks without end
  notjson         200 with text                           array       200 with a JSON array
  truncated       200 with half a JSON object             missing     404
  badkey          401                                     forbidden   403
  teapot          418                                     crash       503 with an empty body
  lastcall        200 with X-RateLimit-Remaining: 0

Faults below the HTTP layer (the hardening tests in Tests/EndToEnd/test_faults.py):

  reset           TCP RST (SO_LINGER 0) before any answer  empty-reply   close (FIN) before any answer
  reset-mid-body  200, Content-Length 2000, 500 bytes of a JSON object, then RST
  stall-mid-body  200, Content-Length 1000, 13 bytes, then silence until the client hangs up
  short-body      200, Content-Length 1000, 100 bytes, then a normal close
  long-body       200, Content-Length 20, a 60-byte JSON object in the same write, and a close
  long-body-late  200, Content-Length 20, 20 bytes; 0.1 s later the other 40, on a kept-alive connection
  trickle-<ms>    200 with a valid JSON object sent one byte every <ms> milliseconds
  headers-1000    200 with 1,000 extra `X-Pad-<n>: <n>` headers and a valid JSON object
  header-huge     200 with one 512 KiB header and a valid JSON object
  not-http        a line that is not an HTTP status line, then a close
  bad-chunked     200, chunked, with a chunk size that is not hexadecimal, then a close
  gzip            200, Content-Encoding: gzip, a valid JSON object compressed
  gzip-bomb       200, Content-Encoding: gzip, 72 KiB that inflate to a 16 MiB JSON object

`/__auth` plays a site's sign-in service for nginx `auth_request`: the cookie
`session=<user>.<tenant>` answers 200 with `X-User` and `X-Tenant`, anything else 401.

Every request is recorded (method, path, query, headers); `GET /__requests` returns them as
JSON and `DELETE /__requests` forgets them. `/__capture` records whatever reaches it.
"""

import argparse
import functools
import gzip
import json
import os
import re
import secrets
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

RECORDS = []
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "zeroweight-standin/1"
    disable_nagle_algorithm = True
    api_key = ""

    def log_message(self, *args):
        pass

    def send_json(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_raw(status, data, "application/json", headers)

    def send_raw(self, status, data, content_type, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def record(self, **extra):
        split = urlsplit(self.path)
        entry = {
            "method": self.command,
            "path": split.path,
            "raw_query": split.query,
            "query": parse_qsl(split.query, keep_blank_values=True),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "time": time.time(),
            "peer_port": self.client_address[1],  # one per upstream connection the proxy opened
        }
        entry.update(extra)
        with LOCK:
            RECORDS.append(entry)
        return entry

    def do_DELETE(self):
        if self.path == "/__requests":
            with LOCK:
                RECORDS.clear()
            self.send_json(200, {"cleared": True})
        else:
            self.send_json(404, {"detail": "Not Found"})

    def do_GET(self):
        split = urlsplit(self.path)
        if split.path == "/__requests":
            with LOCK:
                self.send_json(200, list(RECORDS))
            return
        if split.path == "/__auth":  # the sign-in service is not the API: not recorded
            self.sign_in()
            return
        entry = self.record()
        if split.path == "/__capture":
            self.send_json(200, {"captured": True})
            return
        if self.headers.get("X-ZW-Api-Key") != self.api_key:
            self.send_json(401, {"detail": "Invalid API key"})
            return
        if split.path.startswith("/api/v1/avatars/bundle/"):
            avatar = split.path[len("/api/v1/avatars/bundle/"):]
            ok = {"payload": "encrypted-bundle-for-" + avatar}
        elif split.path == "/api/v1/livekit/getToken":
            query = dict(parse_qsl(split.query, keep_blank_values=True))
            avatar = query.get("avatar_id", "")
            ok = {"token": "lk." + secrets.token_hex(8), "url": "wss://livekit.example.test",
                  "room": query.get("room", "generated-room"), "name": query.get("name", "my name")}
        else:
            self.send_json(404, {"detail": "Not Found"})
            return
        self.misbehave(avatar, ok, entry)

    def sign_in(self):
        """A stand-in for a site's sign-in service behind nginx `auth_request`: the cookie
        `session=<user>.<tenant>` (lower-case letters) signs in; anything else is a 401."""
        cookies = dict(part.strip().split("=", 1) for part in self.headers.get("Cookie", "").split(";") if "=" in part)
        match = re.fullmatch(r"([a-z]+)\.([a-z]+)", cookies.get("session", ""))
        if not match:
            self.send_json(401, {"detail": "sign in"})
            return
        self.send_json(200, {"user": match.group(1)}, [("X-User", match.group(1)), ("X-Tenant", match.group(2))])

    def misbehave(self, avatar, ok, entry):
        if avatar.startswith("slow-"):
            time.sleep(int(avatar[5:]) / 1000)
            self.send_json(200, ok)
        elif avatar == "hang":
            time.sleep(3600)
        elif avatar == "redirect":
            port = self.server.server_address[1]
            self.send_raw(302, b"", "text/plain", [("Location", f"http://127.0.0.1:{port}/__capture")])
        elif avatar == "html500":
            self.send_raw(500, b"<html><body><h1>500 Internal Server Error</h1></body></html>", "text/html")
        elif avatar == "ratelimit":
            self.send_json(429, {"detail": "Too Many Requests"}, [("Retry-After", "17"), ("X-RateLimit-Remaining", "0")])
        elif avatar == "ratelimit-nohint":
            self.send_json(429, {"detail": "Too Many Requests"})
        elif avatar == "huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(64 << 20))
            self.end_headers()
            self.stream(entry, 64 << 20)
        elif avatar == "huge-chunked":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.stream(entry, 256 << 20, chunked=True)
        elif avatar == "notjson":
            self.send_raw(200, b"payload=not-json", "text/plain")
        elif avatar == "array":
            self.send_json(200, [1, 2, 3])
        elif avatar == "truncated":
            self.send_raw(200, b'{"payload": "abc', "application/json")
        elif avatar == "missing":
            self.send_json(404, {"detail": "Avatar not found"})
        elif avatar == "badkey":
            self.send_json(401, {"detail": "Invalid API key"})
        elif avatar == "forbidden":
            self.send_json(403, {"detail": "Forbidden"})
        elif avatar == "teapot":
            self.send_json(418, {"detail": "I'm a teapot"})
        elif avatar == "lastcall":
            self.send_json(200, ok, [("X-RateLimit-Remaining", "0")])
        elif avatar == "crash":
            self.send_raw(503, b"", "text/plain")
        elif not self.fault(avatar, ok, entry):
            self.send_json(200, ok)

    def fault(self, avatar, ok, entry):
        """The faults below the HTTP layer (see the table above); False when `avatar` names none.
        A stall or trickle records `"hung_up": true` once the client has closed the connection."""
        data = json.dumps(ok).encode()
        if avatar == "reset":
            self.reset()
        elif avatar == "empty-reply":
            self.close_connection = True
        elif avatar == "reset-mid-body":
            self.send_head(200, 2000)
            self.wfile.write(padded_object(2000)[:500])
            time.sleep(0.05)  # the 500 bytes reach the client before the RST
            self.reset()
        elif avatar == "stall-mid-body":
            self.send_head(200, 1000)
            self.wfile.write(b'{"payload": "')
            self.wait_for_hang_up(entry)
        elif avatar == "short-body":
            self.send_head(200, 1000)
            self.wfile.write(padded_object(1000)[:100])
            self.close_connection = True
        elif avatar == "long-body":  # one write, so the client reads the extra bytes with the rest
            self.wfile.write(self.head(200, 20) + padded_object(60))
            self.close_connection = True
        elif avatar == "long-body-late":  # the extra bytes come once the answer looks complete
            self.wfile.write(self.head(200, 20) + padded_object(60)[:20])
            time.sleep(0.1)
            self.wfile.write(padded_object(60)[20:])
        elif re.fullmatch(r"trickle-[0-9]+", avatar):
            self.send_head(200, len(data))
            try:
                for byte in data:
                    time.sleep(int(avatar[8:]) / 1000)
                    self.wfile.write(bytes([byte]))
            except OSError:  # the client gave up
                entry["hung_up"] = True
                self.close_connection = True
        elif avatar == "headers-1000":
            self.send_json(200, ok, [(f"X-Pad-{n}", str(n)) for n in range(1000)])
        elif avatar == "header-huge":
            self.send_json(200, ok, [("X-Pad", "x" * (512 << 10))])
        elif avatar == "not-http":
            self.wfile.write(b"SSH-2.0-OpenSSH_9.2\r\n")
            self.close_connection = True
        elif avatar == "bad-chunked":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"zz\r\n" + data + b"\r\n0\r\n\r\n")
            self.close_connection = True
        elif avatar == "gzip":
            self.send_raw(200, gzip.compress(data), "application/json", [("Content-Encoding", "gzip")])
        elif avatar == "gzip-bomb":
            self.send_raw(200, gzip_bomb(), "application/json", [("Content-Encoding", "gzip")])
        else:
            return False
        return True

    def send_head(self, status, length):
        """Sends a JSON answer's status line and headers declaring `length` bytes, without the body."""
        self.wfile.write(self.head(status, length))

    def head(self, status, length):
        """A JSON answer's status line and headers declaring `length` bytes, as bytes."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length))
        head = b"".join(self._headers_buffer) + b"\r\n"
        self._headers_buffer = []
        return head

    def reset(self):
        """Ends the connection with a TCP RST (SO_LINGER 0) instead of a FIN, at once."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(self.connection.detach())
        self.close_connection = True

    def wait_for_hang_up(self, entry, limit=30):
        """Sends nothing more until the client closes the connection (at most `limit` seconds)."""
        self.connection.settimeout(limit)
        try:
            while self.connection.recv(4096):
                pass
            entry["hung_up"] = True
        except socket.timeout:
            pass
        except OSError:  # reset
            entry["hung_up"] = True
        self.close_connection = True

    def stream(self, entry, total, chunked=False):
        block = b'{"payload":"' + b"x" * (64 << 10)
        sent = 0
        try:
            while sent < total:
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                else:
                    self.wfile.write(block[: min(len(block), total - sent)])
                sent += len(block)
            entry["streamed"] = sent
        except (BrokenPipeError, ConnectionResetError):
            entry["aborted_after"] = sent
        self.close_connection = True

    do_HEAD = do_GET


def padded_object(size):
    """A JSON object of exactly `size` bytes: {"payload": "xxx…"}."""
    return b'{"payload": "' + b"x" * (size - 15) + b'"}'


@functools.lru_cache(maxsize=1)
def gzip_bomb():
    return gzip.compress(padded_object(16 << 20), compresslevel=1)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key-file", required=True, help="file holding the API key the stand-in accepts")
    args = parser.parse_args()
    with open(args.key_file) as f:
        Handler.api_key = f.read().strip()
    server = Server((args.host, args.port), Handler)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
