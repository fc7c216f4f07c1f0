"""Fixtures for the end-to-end tests: the built executables behind real servers, against the stand-in.

Set BIN_DIR to test other binaries (default: .build/release, as `make test` builds them).
"""

import http.client
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "deploy" / "local"))
import zwlocal  # noqa: E402
import zwsite  # noqa: E402

BIN_DIR = Path(os.environ.get("BIN_DIR", REPO / ".build" / "release"))
TIMEOUT = "1.5"
# The contract suite runs without sign-in, with every avatar allowed and no rate limits (it sends
# hundreds of requests from one address); the auth and rate-limit suites test the rest.
OPEN_ACCESS = {"ZEROWEIGHT_PROXY_AUTH": "none", "ZEROWEIGHT_PROXY_AVATARS": "*",
               "ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": "off"}


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def code(self):
        return self.json()["error"]["code"]

    def __repr__(self):
        return f"Answer({self.status}, {self.headers}, {self.body[:300]!r})"


class Transcript:
    """Everything the suite saw come back, for the final check that the key never leaks."""

    def __init__(self):
        self.chunks = []

    def add(self, *parts):
        for part in parts:
            self.chunks.append(part if isinstance(part, bytes) else str(part).encode())


TRANSCRIPT = Transcript()
# Credentials and LiveKit tokens the suite used or received: none may appear in any log.
NOT_IN_LOGS = set()
LOGS = Transcript()


def remember_secrets(headers, answer):
    for name, value in (headers or {}).items():
        if name.lower() in ("authorization", "cookie"):
            NOT_IN_LOGS.add(value)
            NOT_IN_LOGS.update(part.strip() for part in value.replace(";", " ").split() if len(part) > 12)
    try:
        token = json.loads(answer.body).get("token") if answer.body.startswith(b"{") else None
    except ValueError:
        token = None
    if isinstance(token, str):
        NOT_IN_LOGS.add(token)


def parse_cgi(output):
    head, _, body = output.partition(b"\r\n\r\n")
    headers = {}
    status = 200
    for line in head.decode().split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        else:
            headers[name.lower()] = value.strip()
    return Answer(status, headers, body)


class CGIMount:
    """The executables run directly as CGI programs, the way a web server runs them."""

    name = "cgi"

    def __init__(self, settings):
        self.settings = settings
        self.stderr = []

    def logs(self):
        return b"".join(self.stderr)

    def environment(self, method, path, headers):
        target, _, query = path.partition("?")
        env = {"PATH": "/usr/bin:/bin", "REQUEST_METHOD": method, "QUERY_STRING": query,
               "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1"}
        if target.startswith("/api/avatars/bundle"):
            program = "bundle"
            env["PATH_INFO"] = unquote(target[len("/api/avatars/bundle"):])
        elif target == "/api/livekit/token":
            program = "token"
        else:
            raise ValueError(path)
        for name, value in (headers or {}).items():
            env["HTTP_" + name.upper().replace("-", "_")] = value
        env.update(self.settings)
        return program, env

    def request(self, method, path, headers=None, body=None):
        program, env = self.environment(method, path, headers)
        if body is not None:
            env["CONTENT_LENGTH"] = str(len(body))
        done = subprocess.run(
            [str(BIN_DIR / f"zw-{program}")], env=env, input=body or b"", capture_output=True, timeout=30)
        TRANSCRIPT.add(done.stdout, done.stderr)
        LOGS.add(done.stderr)
        self.stderr.append(done.stderr)
        assert done.returncode == 0, done.stderr
        answer = parse_cgi(done.stdout)
        remember_secrets(headers, answer)
        return answer


class HTTPMount:
    """Requests over HTTP to nginx or Apache on loopback."""

    def __init__(self, name, port, stack, site=None):
        self.name = name
        self.port = port
        self.stack = stack
        self.site = site

    def logs(self):
        """Everything the servers and handlers logged so far."""
        if self.site:
            return self.site.logs()
        return b"".join(path.read_bytes() for path in self.stack.root.glob("*.log"))

    def request(self, method, path, headers=None, body=None, timeout=30):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            body = response.read()
            answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
        finally:
            connection.close()
        TRANSCRIPT.add(repr(answer.headers), answer.body)
        remember_secrets(headers, answer)
        return answer


class StandIn:
    def __init__(self, base):
        self.base = base

    def requests(self):
        with urllib.request.urlopen(self.base + "/__requests") as response:
            return json.load(response)

    def clear(self):
        request = urllib.request.Request(self.base + "/__requests", method="DELETE")
        urllib.request.urlopen(request).read()


@pytest.fixture(scope="session")
def key():
    return zwlocal.new_key()


@pytest.fixture(scope="session")
def session_root(tmp_path_factory):
    return tmp_path_factory.mktemp("zw")


@pytest.fixture(scope="session")
def standin(session_root, key):
    stack = zwlocal.Stack(session_root / "standin", BIN_DIR)
    base = stack.start_standin(key)
    yield StandIn(base)
    stack.stop()


@pytest.fixture
def upstream(standin):
    """The stand-in with its record cleared for this test."""
    standin.clear()
    return standin


def settings_for(standin, key_file):
    return {"ZEROWEIGHT_API_BASE": standin.base, "ZEROWEIGHT_API_KEY_FILE": str(key_file),
            "ZEROWEIGHT_TIMEOUT_SECONDS": TIMEOUT, **OPEN_ACCESS}


MOUNTS = ["cgi", "nginx-fcgiwrap", "nginx-fastcgi", "apache-cgi", "apache-proxy-fcgi", "apache-fcgid",
          "systemd-socket"]


@pytest.fixture(scope="session", autouse=True)
def sites():
    """Removes the temporary installs when the session ends (the key scan reads them first)."""
    yield zwsite.SITES
    zwsite.remove_all()


def start_mount(name, stack, standin, key):
    """Brings up mounting `name` from the shipped files; returns its HTTP port."""
    site = zwsite.Site(stack, key, standin.base, timeout=TIMEOUT)
    if name == "nginx-fcgiwrap":
        zwsite.start_fcgiwrap(site)
        return site, zwsite.start_nginx_example(site, "cgi")
    if name == "nginx-fastcgi":
        zwsite.start_spawned(site)
        return site, zwsite.start_nginx_example(site, "fastcgi")
    if name == "systemd-socket":
        zwsite.start_socket_activated(site)
        return site, zwsite.start_nginx_example(site, "fastcgi")
    if name == "apache-cgi":
        return site, zwsite.start_apache(site, "zeroweight-cgi.conf")
    if name == "apache-proxy-fcgi":
        zwsite.start_spawned(site)
        return site, zwsite.start_apache(site, "zeroweight-proxy-fcgi.conf")
    if name == "apache-fcgid":
        return site, zwsite.start_apache(site, "zeroweight-fcgid.conf")
    raise ValueError(name)


@pytest.fixture(scope="session", params=MOUNTS)
def mount(request, session_root, standin, key):
    if request.param == "cgi":
        key_file = session_root / "standin" / "standin-key"
        yield CGIMount(settings_for(standin, key_file))
        return
    stack = zwlocal.Stack(session_root / request.param, BIN_DIR)
    try:
        site, port = start_mount(request.param, stack, standin, key)
        yield HTTPMount(request.param, port, stack, site)
    finally:
        stack.stop()
        for log in stack.root.glob("*.log"):
            TRANSCRIPT.add(log.read_bytes())
