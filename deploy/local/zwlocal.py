"""Bring up zeroweight-proxy locally with real servers: the stand-in API, nginx, fcgiwrap, spawn-fcgi.

Shared by `make run` (deploy/local/run.py) and the end-to-end tests (Tests/EndToEnd), so what a
newcomer runs is what the tests check. Every process started here is tracked and stopped by
`Stack.stop()`.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def tool(name):
    """The absolute path of a server program, looking in the sbin folders too."""
    found = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin")
    if not found:
        raise FileNotFoundError(f"{name} is not installed (make deps installs it)")
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise TimeoutError(f"timed out waiting for {what}")


def can_connect(address):
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family) as s:
        try:
            s.connect(address)
            return True
        except OSError:
            return False


class Stack:
    """A set of processes started together and stopped together, with their files in `root`."""

    def __init__(self, root, binaries):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.binaries = Path(binaries)
        self.processes = []
        self.cleanups = []

    def spawn(self, name, argv, env=None, stdout=None):
        log = open(self.root / f"{name}.log", "ab")
        process = subprocess.Popen(
            argv, env=env if env is not None else os.environ.copy(), stdin=subprocess.DEVNULL,
            stdout=stdout or log, stderr=log, start_new_session=True)
        self.processes.append((name, process))
        return process

    def stop(self):
        for cleanup in reversed(self.cleanups):
            cleanup()
        self.cleanups.clear()
        for name, process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name, process in reversed(self.processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    # The stand-in API

    def start_standin(self, key):
        key_file = self.root / "standin-key"
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)
        process = self.spawn(
            "standin", [sys.executable, str(HERE / "standin.py"), "--key-file", str(key_file)],
            stdout=subprocess.PIPE)
        port = int(process.stdout.readline())
        return f"http://127.0.0.1:{port}"

    # FastCGI processes

    def start_spawn_fcgi(self, route, env, socket_path=None):
        """`zw-<route>` as a persistent FastCGI process under spawn-fcgi, listening on a Unix socket."""
        path = socket_path or str(self.root / f"{route}.sock")
        process = self.spawn(
            f"spawn-fcgi-{route}",
            [tool("spawn-fcgi"), "-n", "-s", path, "-M", "0660", "--", str(self.binaries / f"zw-{route}")], env=env)
        self.wait_listening(f"spawn-fcgi-{route}", process)
        return path, process

    def start_listening(self, route, env, socket_path=None):
        """`zw-<route> --listen PATH`: the process binds its own socket."""
        path = socket_path or str(self.root / f"{route}.sock")
        process = self.spawn(
            f"listen-{route}", [str(self.binaries / f"zw-{route}"), "--listen", path, "--socket-mode", "660"], env=env)
        self.wait_listening(f"listen-{route}", process)
        return path, process

    def wait_listening(self, name, process):
        """Waits for the handler's `listening` log event: from then on it serves and drains on SIGTERM."""
        log = self.root / f"{name}.log"

        def ready():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited: {log.read_text()[-2000:]}")
            return b'"event":"listening"' in log.read_bytes()

        wait_for(ready, what=f"{name} to listen")

    def start_fcgiwrap(self):
        """fcgiwrap on a Unix socket, with an empty environment so settings can only come from nginx."""
        path = str(self.root / "fcgiwrap.sock")
        self.spawn("fcgiwrap", [tool("fcgiwrap"), "-f", "-c", "4", "-s", f"unix:{path}"], env={"PATH": "/usr/bin:/bin"})
        wait_for(lambda: can_connect(path), what="fcgiwrap socket")
        return path

    # Apache

    def start_apache(self, port, snippets, runtime):
        """Apache httpd in the foreground on 127.0.0.1:`port`, with the given config files included.

        Its workers run as www-data and talk to the cgid daemon through a socket in `runtime`, so that
        folder (and the path to it) must be reachable by www-data.
        """
        runtime = Path(runtime)
        (runtime / "fcgid").mkdir(parents=True, exist_ok=True)
        os.chown(runtime / "fcgid", *www_data())
        conf = runtime / "apache.conf"
        conf.write_text(render_apache(runtime, port, snippets))
        process = self.spawn("apache", [tool("apache2"), "-DFOREGROUND", "-f", str(conf)],
                             env={"PATH": "/usr/bin:/bin:/usr/sbin", "LANG": "C"})
        wait_for(lambda: can_connect(("127.0.0.1", port)), what="apache")
        return process

    # nginx

    def start_nginx(self, port, bundle, token, settings=None):
        """nginx on 127.0.0.1:`port`, routing the two paths to `bundle` and `token`.

        Each is ("fastcgi", socket path) for a persistent process, or ("cgi", fcgiwrap socket) to run the
        executable per request; `settings` become `fastcgi_param` lines for the CGI case.
        """
        conf = self.root / "nginx.conf"
        conf.write_text(render_nginx(self.root, port, self.binaries, bundle, token, settings or {}))
        process = self.spawn("nginx", [tool("nginx"), "-e", str(self.root / "nginx-error.log"), "-c", str(conf)])
        wait_for(lambda: can_connect(("127.0.0.1", port)), what="nginx")
        return process


APACHE_MODULES = ["mpm_event", "authz_core", "alias", "cgid", "env", "setenvif", "proxy", "proxy_fcgi",
                  "fcgid", "headers"]


def render_apache(root, port, snippets):
    """A self-contained httpd.conf for Apache on 127.0.0.1:`port` including the `snippets` files."""
    modules = "\n".join(f"LoadModule {name}_module /usr/lib/apache2/modules/mod_{name}.so" for name in APACHE_MODULES)
    includes = "\n".join(f"Include {path}" for path in snippets)
    return f"""
ServerRoot {root}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {root}/apache.pid
DefaultRuntimeDir {root}
Mutex file:{root} default
ScriptSock {root}/cgid.sock
User www-data
Group www-data
ErrorLog {root}/apache-error.log
LogLevel warn
LogFormat "%h %r %>s" plain
CustomLog {root}/apache-access.log plain
{modules}
<IfModule fcgid_module>
    FcgidIPCDir {root}/fcgid
    FcgidProcessTableFile {root}/fcgid-shm
</IfModule>
<Directory />
    AllowOverride None
    Require all denied
</Directory>
{includes}
"""


def nginx_main(root, http_body):
    """A whole nginx.conf keeping every file under `root`, with `http_body` inside its http block."""
    user = "user root root;" if os.geteuid() == 0 else ""
    return f"""
{user}
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {root}/nginx-access.log;
    client_body_temp_path {root}/nginx-body;
    fastcgi_temp_path {root}/nginx-fastcgi;
    proxy_temp_path {root}/nginx-proxy;
    scgi_temp_path {root}/nginx-scgi;
    uwsgi_temp_path {root}/nginx-uwsgi;
{http_body}
}}
"""


def render_nginx(root, port, binaries, bundle, token, settings):
    def location(route, target, extra):
        kind, path = target
        lines = [f"fastcgi_pass unix:{path};", "include /etc/nginx/fastcgi_params;"] + extra
        if kind == "cgi":
            lines.append(f"fastcgi_param SCRIPT_FILENAME {binaries}/zw-{route};")
            lines += [f"fastcgi_param {name} \"{value}\";" for name, value in settings.items()]
        return "\n            ".join(lines)

    return nginx_main(root, f"""
    server {{
        listen 127.0.0.1:{port};
        location ~ ^/api/avatars/bundle(?<zw_path_info>/.*)?$ {{
            {location("bundle", bundle, ["fastcgi_param PATH_INFO $zw_path_info;", "fastcgi_read_timeout 30s;"])}
        }}
        location = /api/livekit/token {{
            {location("token", token, ["fastcgi_read_timeout 30s;"])}
        }}
    }}
""")


def www_data():
    import pwd
    entry = pwd.getpwnam("www-data")
    return entry.pw_uid, entry.pw_gid


def new_key():
    return "zwk_test_" + secrets.token_hex(16)
