"""The local CGI harness that users run by hand and from their own scripts."""

import subprocess

from conftest import BIN_DIR, OPEN_ACCESS, REPO, TRANSCRIPT, parse_cgi


def run(args, settings):
    done = subprocess.run([str(REPO / "deploy" / "local" / "cgi-request"), *args],
                          env={"PATH": "/usr/bin:/bin", "BIN_DIR": str(BIN_DIR), "UNRELATED": "x", **settings},
                          capture_output=True, timeout=30)
    TRANSCRIPT.add(done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr
    return done


def test_harness_prints_the_raw_cgi_answer(upstream, session_root):
    settings = {"ZEROWEIGHT_API_BASE": upstream.base,
                "ZEROWEIGHT_API_KEY_FILE": str(session_root / "standin" / "standin-key"), **OPEN_ACCESS}
    done = run(["token", "avatar_id=harness&name=Ada Lovelace"], settings)
    assert done.stdout.startswith(b"Status: 200 OK\r\nContent-Type: application/json\r\n")
    assert parse_cgi(done.stdout).json()["name"] == "Ada Lovelace"
    assert b'"route":"token"' in done.stderr and b'"status":200' in done.stderr
    [seen] = upstream.requests()
    assert seen["raw_query"] == "avatar_id=harness&name=Ada%20Lovelace"


def test_harness_sends_method_and_headers(upstream, session_root):
    settings = {"ZEROWEIGHT_API_BASE": upstream.base,
                "ZEROWEIGHT_API_KEY_FILE": str(session_root / "standin" / "standin-key"), **OPEN_ACCESS}
    done = run(["-X", "HEAD", "-H", "X-Request-ID: abc", "bundle", "/harness"], settings)
    answer = parse_cgi(done.stdout)
    assert answer.status == 200 and answer.body == b""
    done = run(["-X", "DELETE", "bundle", "/harness"], settings)
    assert parse_cgi(done.stdout).status == 405


def test_harness_passes_only_zeroweight_settings(upstream):
    done = run(["bundle", "/harness"], {})
    answer = parse_cgi(done.stdout)
    assert answer.status == 500 and answer.json()["error"]["code"] == "proxy_misconfigured"
    assert upstream.requests() == []
