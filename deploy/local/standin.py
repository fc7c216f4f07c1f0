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

`/__auth` plays a site's sign-in service for nginx `auth_request`: the cookie
`session=<user>.<tenant>` answers 200 with `X-User` and `X-Tenant`, anything else 401.

Every request is recorded (method, path, query, headers); `GET /__requests` returns them as
JSON and `DELETE /__requests` forgets them. `/__capture` records whatever reaches it.
"""

import argparse
import json
import re
import secrets
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
        elif avatar == "crash":
            self.send_raw(503, b"", "text/plain")
        else:
            self.send_json(200, ok)

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
