"""The bundle cache: one upstream call per cold avatar however many ask at once, in one process,
across CGI processes and across hosts; browsers revalidate with ETag; errors and tokens are never cached."""

import json
import os

import pytest
import zwlocal
import zwsite
from conftest import BIN_DIR, CGIMount, HTTPMount, OPEN_ACCESS
from test_contract import assert_error
from test_rate_limits import burst  # noqa: F401  (the redis fixture comes with it)
from test_rate_limits import redis  # noqa: F401

GENEROUS = {"ZEROWEIGHT_PROXY_RATE_LIMIT_BUNDLE_IP": "1000/minute", "ZEROWEIGHT_PROXY_RATE_LIMIT_UPSTREAM": "off"}


def cgi(standin, key, tmp_path, **settings):
    store = {"ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": "sqlite",
             "ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH": str(tmp_path / "state.db")}
    return CGIMount({"ZEROWEIGHT_API_BASE": standin.base, "ZEROWEIGHT_API_KEY": key, **OPEN_ACCESS, **store,
                     **GENEROUS, **settings})


def cache_sources(logs):
    """The `cache` field of every proxy log line (not nginx's, nor the start-up lines)."""
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith(b"{")]
    return sorted(line.get("cache", repr(line)) for line in lines if "status" in line)


def upstream_paths(upstream):
    return [r["path"] for r in upstream.requests()]


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_parallel_cgi_processes_for_a_cold_avatar_make_one_upstream_call(standin, upstream, key, tmp_path, redis,
                                                                         store):
    settings = {"ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": store}
    if store == "redis":
        settings["ZEROWEIGHT_PROXY_RATE_LIMIT_REDIS_URL"] = redis.url
    mount = cgi(standin, key, tmp_path, **settings)
    avatar = {"sqlite": "slow-401", "redis": "slow-402"}[store]  # the stand-in waits 0.4 s
    answers = burst(12, lambda i: mount.request("GET", f"/api/avatars/bundle/{avatar}"))
    assert [a.status for a in answers] == [200] * 12
    assert len({a.body for a in answers}) == 1
    assert len({a.headers["etag"] for a in answers}) == 1
    assert upstream_paths(upstream) == [f"/api/v1/avatars/bundle/{avatar}"]
    sources = cache_sources(mount.logs())
    # One process called; the others waited on its claim, or (started late) found the value.
    assert sources.count("miss") == 1
    assert sources.count("waited") >= 1
    assert set(sources) <= {"miss", "waited", "hit"} and len(sources) == 12


def fastcgi_site(tmp_path_factory, standin, key, name, access):
    stack = zwlocal.Stack(tmp_path_factory.mktemp(name), BIN_DIR)
    site = zwsite.Site(stack, key, standin.base, access=access)
    zwsite.start_spawned(site)
    return stack, HTTPMount(name, zwsite.start_nginx_example(site, "fastcgi"), stack, site)


def test_concurrent_requests_in_one_fastcgi_process_share_one_upstream_call(standin, upstream, key,
                                                                            tmp_path_factory):
    access = ("auth = none\navatars = *\nrate_limit.store = memory\nrate_limit.bundle.ip = 1000/minute\n"
              "rate_limit.upstream = off\n")
    stack, http = fastcgi_site(tmp_path_factory, standin, key, "cache-fastcgi", access)
    try:
        answers = burst(16, lambda i: http.request("GET", "/api/avatars/bundle/slow-403"))
        assert [a.status for a in answers] == [200] * 16
        assert len({a.body for a in answers}) == 1
        assert upstream_paths(upstream) == ["/api/v1/avatars/bundle/slow-403"]
        again = http.request("GET", "/api/avatars/bundle/slow-403")
        assert again.status == 200 and again.body == answers[0].body
        assert len(upstream.requests()) == 1
        sources = cache_sources(http.logs())
        assert sources.count("miss") == 1 and sources.count("shared") >= 1
        assert set(sources) == {"miss", "shared", "hit"} and len(sources) == 17
    finally:
        stack.stop()


def test_two_hosts_sharing_redis_make_one_upstream_call(standin, upstream, key, tmp_path_factory, redis):
    access = (f"auth = none\navatars = *\nrate_limit.store = redis\nrate_limit.redis_url = {redis.url}\n"
              "rate_limit.bundle.ip = 1000/minute\nrate_limit.upstream = off\n")
    first = fastcgi_site(tmp_path_factory, standin, key, "cache-host-a", access)
    second = fastcgi_site(tmp_path_factory, standin, key, "cache-host-b", access)
    try:
        hosts = [first[1], second[1]]
        answers = burst(20, lambda i: hosts[i % 2].request("GET", "/api/avatars/bundle/slow-1000"))
        assert [a.status for a in answers] == [200] * 20
        assert len({a.body for a in answers}) == 1
        assert upstream_paths(upstream) == ["/api/v1/avatars/bundle/slow-1000"]
        waiting_host = first[1] if b'"cache":"miss"' in second[1].logs() else second[1]
        assert b'"cache":"waited"' in waiting_host.logs()
    finally:
        first[0].stop()
        second[0].stop()


def test_browsers_revalidate_for_free_and_tokens_stay_unstored(standin, upstream, key, tmp_path_factory):
    access = "auth = none\navatars = *\nrate_limit.store = memory\nrate_limit.upstream = off\n"
    stack, http = fastcgi_site(tmp_path_factory, standin, key, "cache-etag", access)
    try:
        first = http.request("GET", "/api/avatars/bundle/etag")
        assert first.status == 200
        assert first.headers["cache-control"] == "private, no-cache"
        tag = first.headers["etag"]
        assert len(tag) == 24 and tag.startswith('"') and tag.endswith('"')
        revalidated = http.request("GET", "/api/avatars/bundle/etag", headers={"If-None-Match": tag})
        assert revalidated.status == 304
        assert revalidated.body == b""
        assert revalidated.headers["etag"] == tag
        assert "content-type" not in revalidated.headers
        changed = http.request("GET", "/api/avatars/bundle/etag", headers={"If-None-Match": '"something-else"'})
        assert changed.status == 200 and changed.body == first.body
        assert upstream_paths(upstream) == ["/api/v1/avatars/bundle/etag"]

        for _ in range(2):
            token = http.request("GET", "/api/livekit/token?avatar_id=etag&name=Ann")
            assert token.status == 200
            assert token.headers["cache-control"] == "no-store"
            assert "etag" not in token.headers
        assert len(upstream.requests()) == 3
    finally:
        stack.stop()


@pytest.mark.parametrize("avatar,status,code", [("html500", 502, "upstream_error"),
                                                ("missing", 404, "avatar_not_found"),
                                                ("notjson", 502, "upstream_invalid_response")])
def test_errors_are_never_cached(standin, upstream, key, tmp_path, avatar, status, code):
    mount = cgi(standin, key, tmp_path)
    for _ in range(3):
        assert_error(mount.request("GET", f"/api/avatars/bundle/{avatar}"), status, code)
    assert len(upstream.requests()) == 3
    assert cache_sources(mount.logs()) == ["miss"] * 3


def test_entries_expire_after_bundle_cache_seconds_and_zero_disables(standin, upstream, key, tmp_path):
    import time

    mount = cgi(standin, key, tmp_path, ZEROWEIGHT_PROXY_BUNDLE_CACHE_SECONDS="1")
    assert mount.request("GET", "/api/avatars/bundle/ttl").status == 200
    assert mount.request("GET", "/api/avatars/bundle/ttl").status == 200
    assert len(upstream.requests()) == 1
    time.sleep(1.2)
    assert mount.request("GET", "/api/avatars/bundle/ttl").status == 200
    assert len(upstream.requests()) == 2
    assert cache_sources(mount.logs()) == ["hit", "miss", "miss"]

    off = cgi(standin, key, tmp_path, ZEROWEIGHT_PROXY_BUNDLE_CACHE_SECONDS="0")
    for _ in range(2):
        answer = off.request("GET", "/api/avatars/bundle/uncached")
        assert answer.status == 200 and answer.headers["etag"]
    assert len(upstream.requests()) == 4
    assert b'"cache"' not in off.logs()
