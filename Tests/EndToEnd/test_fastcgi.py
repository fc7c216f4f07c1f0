"""The persistent FastCGI process: concurrency, graceful SIGTERM, socket hand-over, hostile peers."""

import os
import signal
import socket
import subprocess
import threading
import time

import pytest
import zwlocal
from conftest import BIN_DIR, OPEN_ACCESS, TRANSCRIPT, HTTPMount
from test_contract import assert_error


def fastcgi_env(standin, key, **extra):
    env = {"PATH": "/usr/bin:/bin", "ZEROWEIGHT_API_KEY": key, "ZEROWEIGHT_API_BASE": standin.base,
           "ZEROWEIGHT_TIMEOUT_SECONDS": "5", **OPEN_ACCESS}
    env.update(extra)
    return env


@pytest.fixture
def stack(tmp_path):
    stack = zwlocal.Stack(tmp_path, BIN_DIR)
    yield stack
    stack.stop()
    for log in tmp_path.glob("*.log"):
        TRANSCRIPT.add(log.read_bytes())


def front(stack, bundle_socket, token_socket=None):
    port = zwlocal.free_port()
    stack.start_nginx(port, ("fastcgi", bundle_socket), ("fastcgi", token_socket or bundle_socket))
    return HTTPMount("nginx", port, stack)


def parallel(count, call):
    results = [None] * count

    def run(index):
        try:
            results[index] = call(index)
        except Exception as error:  # noqa: BLE001 - reported through the results
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_one_process_serves_64_slow_requests_at_once(stack, upstream, key):
    path, process = stack.start_spawn_fcgi("bundle", fastcgi_env(upstream, key))
    http = front(stack, path)
    assert http.request("GET", "/api/avatars/bundle/warm").status == 200
    upstream.clear()
    started = time.monotonic()
    answers = parallel(64, lambda i: http.request("GET", "/api/avatars/bundle/slow-300"))
    elapsed = time.monotonic() - started
    assert [a.status for a in answers] == [200] * 64
    assert all(a.body == b'{"payload": "encrypted-bundle-for-slow-300"}' for a in answers)
    assert len(upstream.requests()) == 64
    # Serially this is 64 x 0.3 s = 19 s; concurrently one upstream round trip plus overhead.
    print(f"64 x 300 ms upstream: {elapsed:.2f} s")
    assert elapsed < 2.0, elapsed
    assert process.poll() is None


def test_upstream_connections_outlive_a_lull_between_bursts(stack, upstream, key):
    """libcurl, left to URLSession, keeps idle only four connections per transfer still running: a
    burst of 16, a lull, and the next burst would open most of its connections anew (against the real
    API, a TLS handshake each). The process keeps them (CLibcurlFixes), so both bursts and the lone
    request between them share the first burst's connections."""
    path, process = stack.start_spawn_fcgi("bundle", fastcgi_env(upstream, key))
    http = front(stack, path)
    assert http.request("GET", "/api/avatars/bundle/warm").status == 200
    upstream.clear()
    first = parallel(16, lambda i: http.request("GET", "/api/avatars/bundle/slow-300"))
    time.sleep(0.3)
    lone = http.request("GET", "/api/avatars/bundle/between")
    second = parallel(16, lambda i: http.request("GET", "/api/avatars/bundle/slow-300"))
    assert [a.status for a in first + [lone] + second] == [200] * 33
    records = upstream.requests()
    assert len(records) == 33
    ports = {record["peer_port"] for record in records}
    print(f"33 upstream requests over {len(ports)} connections")
    # The first burst needs 16 (one more when the warm-up's connection was still busy); none after.
    assert len(ports) <= 17, sorted(ports)
    assert process.poll() is None


def test_sigterm_drains_in_flight_requests_then_exits_0(stack, upstream, key):
    path, process = stack.start_listening("bundle", fastcgi_env(upstream, key))
    http = front(stack, path)
    results = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(
        i, http.request("GET", "/api/avatars/bundle/slow-1000"))) for i in range(8)]
    for thread in threads:
        thread.start()
    zwlocal.wait_for(lambda: len(upstream.requests()) == 8, what="8 upstream calls in flight")
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert process.wait(timeout=5) == 0
    assert time.monotonic() - started < 2.0
    for thread in threads:
        thread.join(10)
    assert [results[i].status for i in range(8)] == [200] * 8
    assert not os.path.exists(path)  # the socket it bound is removed
    assert http.request("GET", "/api/avatars/bundle/abc").status == 502  # nginx: nothing listens any more


def test_sigterm_when_idle_exits_at_once(stack, upstream, key):
    path, process = stack.start_spawn_fcgi("token", fastcgi_env(upstream, key))
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=2) == 0


def test_systemd_socket_activation_hands_over_fd_3(stack, upstream, key, tmp_path):
    path = str(tmp_path / "activated.sock")
    env = fastcgi_env(upstream, key)
    process = stack.spawn("activate", [zwlocal.tool("systemd-socket-activate"), "-l", path,
                                       *[f"-E{k}={v}" for k, v in env.items()], str(BIN_DIR / "zw-token")], env=env)
    zwlocal.wait_for(lambda: os.path.exists(path), what="activation socket")
    http = front(stack, path, path)
    for _ in range(3):
        answer = http.request("GET", "/api/livekit/token?avatar_id=sock&name=Ada")
        assert answer.status == 200 and answer.json()["name"] == "Ada"
    assert len(upstream.requests()) == 3
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=5) == 0


def test_clients_that_hang_up_do_not_hurt_the_process(stack, upstream, key):
    path, process = stack.start_spawn_fcgi("bundle", fastcgi_env(upstream, key))
    http = front(stack, path)

    def hang_up(_):
        with socket.create_connection(("127.0.0.1", http.port)) as s:
            s.sendall(b"GET /api/avatars/bundle/slow-400 HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.1)
        return True

    assert parallel(20, hang_up) == [True] * 20
    time.sleep(0.6)  # the upstream answers arrive after nginx closed the FastCGI connections
    assert http.request("GET", "/api/avatars/bundle/after").status == 200
    assert process.poll() is None


def test_garbage_on_the_fastcgi_socket_does_not_hurt_the_process(stack, upstream, key):
    path, process = stack.start_spawn_fcgi("bundle", fastcgi_env(upstream, key))
    for payload in (b"", b"GET / HTTP/1.0\r\n\r\n", os.urandom(4096), b"\x01\x01\x00\x01\x00\x08\x00\x00" * 3,
                    b"\x01\x04\x00\x01\xff\xff\x00\x00" + b"\x7f" * 100):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
            s.sendall(payload)
            s.settimeout(3)
            try:
                s.recv(100)
            except (socket.timeout, ConnectionResetError):
                pass
    http = front(stack, path)
    assert http.request("GET", "/api/avatars/bundle/fine").status == 200
    assert process.poll() is None


def test_a_process_without_a_key_answers_500_and_says_why(stack, upstream, key):
    env = fastcgi_env(upstream, key)
    del env["ZEROWEIGHT_API_KEY"]
    path, process = stack.start_spawn_fcgi("bundle", env)
    http = front(stack, path)
    assert_error(http.request("GET", "/api/avatars/bundle/abc"), 500, "proxy_misconfigured")
    assert upstream.requests() == []
    log = (stack.root / "spawn-fcgi-bundle.log").read_text()
    assert '"event":"misconfigured"' in log and "ZEROWEIGHT_API_KEY" in log


@pytest.mark.parametrize("address", ["/nonexistent-dir/zw.sock", "127.0.0.1:{busy}", "nonsense"])
def test_listen_failures_are_reported_not_crashed(upstream, key, address):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        address = address.format(busy=busy.getsockname()[1])
        done = subprocess.run([str(BIN_DIR / "zw-bundle"), "--listen", address],
                              env=fastcgi_env(upstream, key), capture_output=True, timeout=10)
    TRANSCRIPT.add(done.stdout, done.stderr)
    assert done.returncode in (1, 2), done
    assert done.stdout == b""
    assert b'"event":"listen_failed"' in done.stderr or b'"event":"usage_error"' in done.stderr
