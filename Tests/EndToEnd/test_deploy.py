"""The shipped deployment files themselves: install, lint, and the parts the contract suite leaves out."""

import json
import os
import subprocess
import threading

import pytest
import zwlocal
import zwsite
from conftest import BIN_DIR, REPO, TRANSCRIPT, HTTPMount


@pytest.fixture
def stack(tmp_path):
    stack = zwlocal.Stack(tmp_path / "stack", BIN_DIR)
    yield stack
    stack.stop()
    for log in list(stack.root.glob("*.log")):
        TRANSCRIPT.add(log.read_bytes())


def make(*args, **kwargs):
    return subprocess.run(["make", "--no-print-directory", "-C", str(REPO), *args], capture_output=True, text=True,
                          timeout=120, **kwargs)


def test_make_install_stages_every_file_and_keeps_an_existing_config(tmp_path):
    dest = tmp_path / "dest"
    done = make("install-files", f"DESTDIR={dest}", "PREFIX=/opt/zw", f"BIN_DIR={BIN_DIR}")
    assert done.returncode == 0, done.stderr
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == [
        "etc/systemd/system/zw-bundle.service", "etc/systemd/system/zw-bundle.socket",
        "etc/systemd/system/zw-token.service", "etc/systemd/system/zw-token.socket",
        "etc/zeroweight-proxy/zeroweight-proxy.conf",
        "opt/zw/bin/zw-bundle", "opt/zw/bin/zw-token", "opt/zw/sbin/zeroweight-proxy-spawn",
        "opt/zw/share/zeroweight-proxy/README.md",
        "opt/zw/share/zeroweight-proxy/apache/zeroweight-cgi.conf",
        "opt/zw/share/zeroweight-proxy/apache/zeroweight-fcgid.conf",
        "opt/zw/share/zeroweight-proxy/apache/zeroweight-proxy-fcgi.conf",
        "opt/zw/share/zeroweight-proxy/nginx.conf.example",
    ]
    service = (dest / "etc/systemd/system/zw-bundle.service").read_text()
    assert "ExecStart=/opt/zw/bin/zw-bundle\n" in service
    assert "/usr/local" not in service
    assert os.access(dest / "opt/zw/bin/zw-token", os.X_OK)
    assert "Define ZW_BIN /opt/zw/bin" in (dest / "opt/zw/share/zeroweight-proxy/apache/zeroweight-cgi.conf").read_text()

    config = dest / "etc/zeroweight-proxy/zeroweight-proxy.conf"
    config.write_text("api_key_file = /srv/mine\n")
    (dest / "etc/zeroweight-proxy/api-key").write_text("operator-key\n")
    done = make("install-files", f"DESTDIR={dest}", "PREFIX=/opt/zw", f"BIN_DIR={BIN_DIR}")
    assert done.returncode == 0, done.stderr
    assert "kept the existing" in done.stdout
    assert config.read_text() == "api_key_file = /srv/mine\n"
    assert (dest / "etc/zeroweight-proxy/api-key").read_text() == "operator-key\n"


def test_installed_units_pass_systemd_analyze_verify(tmp_path):
    done = make("install-files", f"PREFIX={tmp_path}/usr", f"SYSCONFDIR={tmp_path}/etc", f"UNITDIR={tmp_path}/units",
                f"BIN_DIR={BIN_DIR}")
    assert done.returncode == 0, done.stderr
    units = sorted(str(p) for p in (tmp_path / "units").iterdir())
    verify = subprocess.run([zwlocal.tool("systemd-analyze"), "verify", *units], capture_output=True, text=True)
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr


@pytest.mark.parametrize("variant", ["fastcgi", "cgi"])
def test_nginx_example_passes_nginx_t(stack, standin, key, variant):
    site = zwsite.Site(stack, key, standin.base)
    conf = stack.root / f"nginx-{variant}.conf"
    conf.write_text(zwsite.render_nginx_example(site, zwlocal.free_port(), variant, relax_rate=False))
    done = subprocess.run([zwlocal.tool("nginx"), "-t", "-e", str(stack.root / "t.log"), "-c", str(conf)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


@pytest.mark.parametrize("conf", ["zeroweight-cgi.conf", "zeroweight-proxy-fcgi.conf", "zeroweight-fcgid.conf"])
def test_apache_confs_pass_configtest(stack, standin, key, conf):
    site = zwsite.Site(stack, key, standin.base)
    snippet = stack.root / conf
    snippet.write_text(site.render((zwsite.DEPLOY / "apache" / conf).read_text()))
    main = stack.root / "apache.conf"
    main.write_text(zwlocal.render_apache(site.root, zwlocal.free_port(), [snippet]))
    done = subprocess.run([zwlocal.tool("apache2"), "-t", "-f", str(main)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Syntax OK" in done.stderr


def test_the_shipped_rate_limit_answers_json_429(stack, standin, key):
    site = zwsite.Site(stack, key, standin.base)
    zwsite.start_spawned(site)
    http = HTTPMount("nginx", zwsite.start_nginx_example(site, "fastcgi", relax_rate=False), stack, site)
    answers = []
    lock = threading.Lock()

    def burst():
        for _ in range(10):
            answer = http.request("GET", "/api/avatars/bundle/limited")
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=burst) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = sorted(a.status for a in answers)
    # 10 r/s with a burst of 20: at least 21 pass, and 60 requests within well under a second cannot all.
    assert statuses.count(200) >= 21 and statuses.count(429) >= 10, statuses
    assert set(statuses) == {200, 429}
    limited = next(a for a in answers if a.status == 429)
    assert limited.headers["content-type"] == "application/json"
    assert limited.headers["retry-after"] == "1"
    assert json.loads(limited.body) == {
        "error": {"code": "rate_limited", "message": "Too many requests; retry later."}}


def test_nginx_answers_json_when_the_handlers_are_down(stack, standin, key):
    site = zwsite.Site(stack, key, standin.base)
    http = HTTPMount("nginx", zwsite.start_nginx_example(site, "fastcgi"), stack, site)
    answer = http.request("GET", "/api/livekit/token?avatar_id=abc")
    assert answer.status == 502
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"]["code"] == "proxy_unavailable"


def test_spawn_script_starts_reports_and_stops_both_handlers(stack, standin, key):
    site = zwsite.Site(stack, key, standin.base)
    zwsite.start_spawned(site)
    status = zwsite.spawn_script(site, "status")
    assert (status.returncode, status.stdout) == (0, b"zw-bundle: running\nzw-token: running\n")
    owners = {path.name: path.stat().st_uid for path in site.run.glob("*.sock")}
    assert owners == {"bundle.sock": zwlocal.www_data()[0], "token.sock": zwlocal.www_data()[0]}
    assert zwsite.spawn_script(site, "stop").returncode == 0
    status = zwsite.spawn_script(site, "status")
    assert (status.returncode, status.stdout) == (3, b"zw-bundle: stopped\nzw-token: stopped\n")
    assert list(site.run.glob("*.sock")) == []
    logs = site.logs()
    assert logs.count(b'"event":"stopped"') == 2  # both drained and exited on SIGTERM
