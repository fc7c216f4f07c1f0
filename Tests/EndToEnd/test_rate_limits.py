"""Rate limits and shared state: exact under concurrency, across processes and hosts, and safe when the store fails."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time

import pytest
import zwlocal
import zwsite
from conftest import BIN_DIR, OPEN_ACCESS, TRANSCRIPT, CGIMount, HTTPMount
from test_contract import assert_error


class Redis:
    """A real redis-server on a loopback port, started and stopped by the tests."""

    def __init__(self, root):
        self.root = root
        self.port = zwlocal.free_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [zwlocal.tool("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        zwlocal.wait_for(lambda: zwlocal.can_connect(("127.0.0.1", self.port)), what="redis")
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    server = Redis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


def cgi(standin, key, **settings):
    return CGIMount({"ZEROWEIGHT_API_BASE": standin.base, "ZEROWEIGHT_API_KEY": key, **OPEN_ACCESS,
                     "ZEROWEIGHT_PROXY_RATE_LIMIT_UPSTREAM": "off", **settings})  # settings name the store


def burst(count, call):
    results = [None] * count

    def run(index):
        results[index] = call(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_parallel_cgi_processes_let_exactly_the_limit_through(standin, upstream, key, tmp_path, redis, store):
    # No bundle cache, so that each request let through is also one upstream call to count.
    settings = {"ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": store, "ZEROWEIGHT_PROXY_RATE_LIMIT_BUNDLE_IP": "10/minute",
                "ZEROWEIGHT_PROXY_BUNDLE_CACHE_SECONDS": "0"}
    if store == "sqlite":
        settings["ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH"] = str(tmp_path / "state.db")
    else:
        settings["ZEROWEIGHT_PROXY_RATE_LIMIT_REDIS_URL"] = redis.url
    mount = cgi(standin, key, **settings, REMOTE_ADDR=f"198.51.100.{ord(store[0])}")
    answers = burst(40, lambda i: mount.request("GET", "/api/avatars/bundle/exact"))
    statuses = sorted(a.status for a in answers)
    assert statuses == [200] * 10 + [429] * 30
    assert len(upstream.requests()) == 10
    refused = next(a for a in answers if a.status == 429)
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) in range(1, 7)
    assert refused.headers["ratelimit-policy"] == '"ip";q=10;w=60'
    assert refused.headers["ratelimit"].startswith('"ip";r=0;t=')
    lines = [json.loads(line) for line in mount.logs().splitlines() if line.startswith(b"{")]
    assert sorted(line["rate_limit"] for line in lines) == ["ip"] * 30 + ["ok"] * 10


def fastcgi_site(tmp_path_factory, standin, key, name, access):
    stack = zwlocal.Stack(tmp_path_factory.mktemp(name), BIN_DIR)
    site = zwsite.Site(stack, key, standin.base, access=access)
    zwsite.start_spawned(site)
    return stack, site, HTTPMount(name, zwsite.start_nginx_example(site, "fastcgi"), stack, site)


def test_one_fastcgi_process_counts_exactly_across_its_threads(standin, upstream, key, tmp_path_factory):
    access = ("auth = none\navatars = *\nrate_limit.store = sqlite\n"
              "rate_limit.sqlite_path = {state}\nrate_limit.token.ip = 12/minute\nrate_limit.upstream = off\n")
    state_dir = zwsite.shared_folder("zw-state-")
    os.chown(state_dir, *zwlocal.www_data())
    stack, site, http = fastcgi_site(tmp_path_factory, standin, key, "rl-fastcgi",
                                     access.format(state=state_dir / "state.db"))
    try:
        answers = burst(36, lambda i: http.request("GET", "/api/livekit/token?avatar_id=exact"))
        assert sorted(a.status for a in answers) == [200] * 12 + [429] * 24
        assert len(upstream.requests()) == 12
    finally:
        stack.stop()


def test_two_hosts_share_one_limit_through_redis(standin, upstream, key, tmp_path_factory, redis):
    access = (f"auth = none\navatars = *\nrate_limit.store = redis\nrate_limit.redis_url = {redis.url}\n"
              "rate_limit.bundle.ip = 10/minute\nrate_limit.upstream = off\n")
    first = fastcgi_site(tmp_path_factory, standin, key, "host-a", access)
    second = fastcgi_site(tmp_path_factory, standin, key, "host-b", access)
    try:
        hosts = [first[2], second[2]]
        answers = burst(30, lambda i: hosts[i % 2].request("GET", "/api/avatars/bundle/shared"))
        assert sorted(a.status for a in answers) == [200] * 10 + [429] * 20
        per_host = [sum(1 for i, a in enumerate(answers) if i % 2 == h and a.status == 200) for h in (0, 1)]
        assert sum(per_host) == 10 and min(per_host) >= 1  # both hosts spent the one shared allowance
    finally:
        first[0].stop()
        second[0].stop()


def test_the_upstream_budget_sheds_load_before_zeroweight_does(standin, upstream, key, tmp_path):
    mount = cgi(standin, key, ZEROWEIGHT_PROXY_RATE_LIMIT_STORE="sqlite",
                ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH=str(tmp_path / "state.db"),
                ZEROWEIGHT_PROXY_RATE_LIMIT_UPSTREAM="5/minute")
    statuses = [mount.request("GET", f"/api/avatars/bundle/budget-{i}").status for i in range(8)]
    assert statuses == [200] * 5 + [503] * 3
    assert len(upstream.requests()) == 5
    refused = mount.request("GET", "/api/avatars/bundle/budget-x")
    assert_error(refused, 503, "upstream_budget_exhausted")
    assert int(refused.headers["retry-after"]) >= 1


def test_an_upstream_429_holds_the_budget(standin, upstream, key, tmp_path):
    mount = cgi(standin, key, ZEROWEIGHT_PROXY_RATE_LIMIT_STORE="sqlite",
                ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH=str(tmp_path / "state.db"),
                ZEROWEIGHT_PROXY_RATE_LIMIT_UPSTREAM="200/minute")
    assert_error(mount.request("GET", "/api/avatars/bundle/ratelimit"), 503, "upstream_rate_limited")
    after = mount.request("GET", "/api/avatars/bundle/fine")
    assert_error(after, 503, "upstream_budget_exhausted")
    assert 10 <= int(after.headers["retry-after"]) <= 17  # the stand-in said Retry-After: 17
    assert [r["path"] for r in upstream.requests()] == ["/api/v1/avatars/bundle/ratelimit"]


def test_an_upstream_saying_no_requests_remain_holds_the_budget(standin, upstream, key, tmp_path):
    mount = cgi(standin, key, ZEROWEIGHT_PROXY_RATE_LIMIT_STORE="sqlite",
                ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH=str(tmp_path / "state.db"),
                ZEROWEIGHT_PROXY_RATE_LIMIT_UPSTREAM="60/minute")
    assert mount.request("GET", "/api/avatars/bundle/lastcall").status == 200
    after = mount.request("GET", "/api/avatars/bundle/fine")
    assert_error(after, 503, "upstream_budget_exhausted")
    assert int(after.headers["retry-after"]) == 1  # one emission interval of 60/minute
    assert [r["path"] for r in upstream.requests()] == ["/api/v1/avatars/bundle/lastcall"]


@pytest.mark.parametrize("policy,status", [("closed", 503), ("open", 200)])
def test_redis_stopped_mid_test_follows_the_failure_policy(standin, upstream, key, tmp_path, policy, status):
    server = Redis(tmp_path).start()
    mount = cgi(standin, key, ZEROWEIGHT_PROXY_RATE_LIMIT_STORE="redis",
                ZEROWEIGHT_PROXY_RATE_LIMIT_REDIS_URL=server.url,
                ZEROWEIGHT_PROXY_RATE_LIMIT_ON_STORE_FAILURE=policy)
    assert mount.request("GET", "/api/avatars/bundle/before").status == 200
    server.stop()
    started = time.monotonic()
    answer = mount.request("GET", "/api/avatars/bundle/after")
    assert time.monotonic() - started < 3
    assert answer.status == status
    line = json.loads(mount.logs().splitlines()[-1])
    assert line["rate_limit"] == f"store_failed_{policy}"
    if policy == "closed":
        assert answer.json()["error"]["code"] == "rate_limit_unavailable"
        assert [r["path"] for r in upstream.requests()] == ["/api/v1/avatars/bundle/before"]


def test_a_locked_sqlite_file_fails_closed_within_the_busy_timeout(standin, upstream, key, tmp_path):
    path = tmp_path / "state.db"
    mount = cgi(standin, key, ZEROWEIGHT_PROXY_RATE_LIMIT_STORE="sqlite",
                ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH=str(path))
    assert mount.request("GET", "/api/avatars/bundle/first").status == 200
    locker = sqlite3.connect(str(path), isolation_level=None, timeout=0)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        assert_error(mount.request("GET", "/api/avatars/bundle/locked"), 503, "rate_limit_unavailable")
        assert time.monotonic() - started < 5
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert mount.request("GET", "/api/avatars/bundle/unlocked").status == 200


def test_an_unwritable_sqlite_path_fails_closed(standin, upstream, key, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    mount = cgi(standin, key, ZEROWEIGHT_PROXY_RATE_LIMIT_STORE="sqlite",
                ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH=str(blocker / "state.db"))
    assert_error(mount.request("GET", "/api/avatars/bundle/abc"), 503, "rate_limit_unavailable")
    assert upstream.requests() == []


def test_a_corrupt_sqlite_file_is_recovered_not_a_crash_loop(standin, upstream, key, tmp_path):
    path = tmp_path / "state.db"
    mount = cgi(standin, key, ZEROWEIGHT_PROXY_RATE_LIMIT_STORE="sqlite",
                ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH=str(path))
    assert mount.request("GET", "/api/avatars/bundle/one").status == 200
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"state.db{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a database " * 400)
    assert mount.request("GET", "/api/avatars/bundle/two").status == 200
    assert mount.request("GET", "/api/avatars/bundle/three").status == 200
    assert len(list(tmp_path.glob("state.db.corrupt-*"))) == 1


def test_a_password_protected_redis_is_reached_with_the_password_file(standin, upstream, key, tmp_path):
    password = "redis-" + key[-12:]
    port = zwlocal.free_port()
    server = subprocess.Popen(
        [zwlocal.tool("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path), "--requirepass", password], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        zwlocal.wait_for(lambda: zwlocal.can_connect(("127.0.0.1", port)), what="redis")
        secret = tmp_path / "redis-password"
        secret.write_text(password + "\n")
        base = {"ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": "redis",
                "ZEROWEIGHT_PROXY_RATE_LIMIT_REDIS_URL": f"redis://127.0.0.1:{port}/0",
                "ZEROWEIGHT_PROXY_RATE_LIMIT_BUNDLE_IP": "2/minute"}
        mount = cgi(standin, key, **base, ZEROWEIGHT_PROXY_RATE_LIMIT_REDIS_PASSWORD_FILE=str(secret))
        assert [mount.request("GET", "/api/avatars/bundle/auth").status for _ in range(3)] == [200, 200, 429]
        without = cgi(standin, key, **base)
        assert_error(without.request("GET", "/api/avatars/bundle/auth"), 503, "rate_limit_unavailable")
        assert password.encode() not in mount.logs() + without.logs()
    finally:
        server.kill()
        server.wait(10)
