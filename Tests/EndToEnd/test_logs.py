"""Request logs: one whole JSON line per request, where the configuration sends them."""

import json
import threading

import zwlocal
import zwsite
from conftest import BIN_DIR, TRANSCRIPT, HTTPMount


def test_concurrent_cgi_processes_append_whole_lines_to_one_log_file(standin, upstream, key, tmp_path):
    stack = zwlocal.Stack(tmp_path, BIN_DIR)
    log = None
    try:
        site = zwsite.Site(stack, key, standin.base, access="auth = none\navatars = *\n")
        log = site.root / "log" / "requests.log"
        log.parent.mkdir(mode=0o755, exist_ok=True)
        with open(site.config, "a") as config:
            config.write(f"log = {log}\n")
        zwsite.start_fcgiwrap(site)
        http = HTTPMount("nginx-fcgiwrap", zwsite.start_nginx_example(site, "cgi"), stack, site)
        ids = [f"req-{i:03d}" for i in range(48)]

        def call(request_id):
            answer = http.request("GET", f"/api/livekit/token?avatar_id=log-{request_id}&name=Ada",
                                  headers={"X-Request-ID": request_id})
            assert answer.status == 200 and answer.headers["x-request-id"] == request_id

        threads = [threading.Thread(target=call, args=(i,)) for i in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        lines = log.read_bytes().splitlines()
        TRANSCRIPT.add(log.read_bytes())
        records = [json.loads(line) for line in lines]  # a torn line would not parse
        assert sorted(r["request_id"] for r in records) == ids
        assert {(r["route"], r["status"], r["auth"]) for r in records} == {("token", 200, "none")}
        assert b'"route":"token"' not in (stack.root / "nginx-error.log").read_bytes()  # not on stderr too
    finally:
        stack.stop()


def test_an_invalid_request_id_is_replaced_and_echoed(standin, upstream, key, tmp_path):
    stack = zwlocal.Stack(tmp_path, BIN_DIR)
    try:
        site = zwsite.Site(stack, key, standin.base)
        zwsite.start_spawned(site)
        http = HTTPMount("nginx", zwsite.start_nginx_example(site, "fastcgi"), stack, site)
        answer = http.request("GET", "/api/avatars/bundle/a.b", headers={"X-Request-ID": "bad id\twith spaces"})
        generated = answer.headers["x-request-id"]
        assert len(generated) == 32 and all(c in "0123456789abcdef" for c in generated)
        assert answer.json()["error"]["request_id"] == generated
        zwlocal.wait_for(lambda: f'"request_id":"{generated}"'.encode() in site.logs(), what="the log line")
    finally:
        stack.stop()
