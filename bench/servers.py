"""The servers `make bench` measures through, all on loopback in one temporary folder.

- a fast upstream: nginx serving a realistic bundle file, checking `X-ZW-Api-Key` (401 otherwise);
- a slow upstream: bench/slow_upstream.py, the same file after 100 ms;
- redis-server on a free port, no persistence;
- `zw-bundle --listen` FastCGI processes, one per configuration (settings are read once at start);
- fcgiwrap, running `zw-bundle` as CGI with settings from `fastcgi_param` lines;
- the front nginx, one location prefix per "mount": `/<mount>/api/avatars/bundle/<id>`.

Everything is started through deploy/local/zwlocal.py's `Stack`, so `Servers.stop()` stops it all.
The key lives in files under the temporary folder (mode 0700) and in the two nginx configs there;
it is never printed.
"""

import json
import random
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "deploy" / "local"))
import zwlocal  # noqa: E402

AVATAR = "bench-avatar"
# High enough that nothing is refused, low enough for the setting's parser (at most 1,000,000).
HIGH_LIMIT = "1000000/second burst 1000000"
LIMITED_SETTINGS = ["BUNDLE_IP", "BUNDLE_SUBJECT", "BUNDLE_TENANT", "UPSTREAM"]


def bundle_json(seed=7):
    """A deterministic avatar bundle of about 40 KB: ids, asset URLs and arrays of numbers."""
    rng = random.Random(seed)

    def hexid(n):
        return "".join(rng.choice("0123456789abcdef") for _ in range(n))

    def numbers(n, digits=5):
        return [round(rng.uniform(-1, 1), digits) for _ in range(n)]

    kinds = [("mesh", "glb"), ("texture", "ktx2"), ("audio", "opus"), ("animation", "anim")]
    bundle = {
        "id": AVATAR,
        "version": 12,
        "name": "Bench Avatar",
        "created_at": "2025-01-01T00:00:00Z",
        "format": "zw-bundle-v2",
        "assets": [{"id": hexid(24), "kind": kind, "bytes": rng.randint(10_000, 5_000_000), "sha256": hexid(64),
                    "url": f"https://cdn.zeroweight.ai/avatars/{AVATAR}/{kind}/{hexid(16)}.{ext}"}
                   for kind, ext in kinds * 16],
        "skeleton": [{"bone": f"bone_{i:02d}", "parent": i - 1, "rest": numbers(12)} for i in range(96)],
        "blendshapes": {"names": [f"shape_{i:02d}" for i in range(52)], "neutral": numbers(52, 4)},
        "visemes": [{"id": v, "weights": numbers(52, 4)} for v in range(22)],
        "voice": {"id": hexid(12), "sample_rate": 24000, "pitch": numbers(16)},
    }
    return json.dumps(bundle, separators=(",", ":")).encode()


@dataclass
class Mount:
    """One way of serving the bundle route under `/<name>/` on the front nginx."""
    name: str
    kind: str                # "proxy" (nginx proxy_pass), "fastcgi" or "cgi" (fcgiwrap)
    label: str
    settings: dict = field(default_factory=dict)
    socket: str = ""
    process: subprocess.Popen = None


class Servers:
    def __init__(self, root, binaries):
        self.root = Path(root)
        self.root.chmod(0o700)
        bin_dir = self.root / "bin"
        bin_dir.mkdir()
        # A private copy: the build may replace the binaries while the benchmark runs.
        shutil.copy2(Path(binaries) / "zw-bundle", bin_dir / "zw-bundle")
        self.binary = bin_dir / "zw-bundle"
        self.stack = zwlocal.Stack(self.root, bin_dir)
        self.key = "zwk_bench_" + secrets.token_hex(16)
        self.key_file = self.write_private("api-key", self.key + "\n")
        self.curl_header_file = self.write_private("curl-header", f"X-ZW-Api-Key: {self.key}\n")
        self.config_file = self.write_private("zeroweight-proxy.conf", "# settings come from the environment\n")
        self.body = bundle_json()
        self.body_file = self.root / "www" / "bundle.json"
        self.body_file.parent.mkdir()
        self.body_file.write_bytes(self.body)
        self.fcgiwrap = None
        self.front_port = None

    def write_private(self, name, text):
        path = self.root / name
        path.write_text(text)
        path.chmod(0o600)
        return path

    def stop(self):
        self.stack.stop()

    # Upstreams and redis

    def start_upstream(self):
        """The fast upstream: nginx serving the bundle file; returns its base URL."""
        port = zwlocal.free_port()
        check = f'if ($http_x_zw_api_key != "{self.key}") {{ return 401 \'{{"detail":"Invalid API key"}}\'; }}'
        self.start_nginx("upstream", port, f"""
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        access_log off;
        keepalive_requests 1000000;
        types {{ application/json json; }}
        default_type application/json;
        location ~ ^/api/v1/avatars/bundle/[A-Za-z0-9_-]+$ {{
            {check}
            root {self.body_file.parent};
            try_files /bundle.json =404;
        }}
        location ~ ^/api/v1/livekit/(getToken|token)$ {{
            {check}
            return 200 '{{"token":"lk.bench","url":"wss://livekit.example.test","room":"bench-room","name":"bench"}}';
        }}
        location / {{
            return 404 '{{"detail":"Not Found"}}';
        }}
    }}
""")
        return f"http://127.0.0.1:{port}"

    def start_slow_upstream(self, delay_ms):
        process = self.stack.spawn(
            "slow-upstream",
            [sys.executable, str(HERE / "slow_upstream.py"), "--key-file", str(self.key_file),
             "--body-file", str(self.body_file), "--delay-ms", str(delay_ms)],
            stdout=subprocess.PIPE)
        return f"http://127.0.0.1:{int(process.stdout.readline())}"

    def start_redis(self):
        port = zwlocal.free_port()
        data = self.root / "redis"
        data.mkdir()
        self.stack.spawn("redis", [zwlocal.tool("redis-server"), "--bind", "127.0.0.1", "--port", str(port),
                                   "--save", "", "--appendonly", "no", "--dir", str(data)])
        zwlocal.wait_for(lambda: zwlocal.can_connect(("127.0.0.1", port)), what="redis-server")
        return f"redis://127.0.0.1:{port}/0"

    # The proxy

    def settings(self, name, api_base, store="off", sqlite=None, redis_url=None, cache_seconds=None):
        """The ZEROWEIGHT_* settings of one proxy configuration: no sign-in, every avatar."""
        settings = {
            "ZEROWEIGHT_PROXY_CONFIG": str(self.config_file),
            "ZEROWEIGHT_API_KEY_FILE": str(self.key_file),
            "ZEROWEIGHT_API_BASE": api_base,
            "ZEROWEIGHT_PROXY_AUTH": "none",
            "ZEROWEIGHT_PROXY_AVATARS": "*",
            "ZEROWEIGHT_PROXY_LOG": str(self.root / f"{name}.log"),
            "ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": store,
        }
        if store != "off":
            settings.update({f"ZEROWEIGHT_PROXY_RATE_LIMIT_{limit}": HIGH_LIMIT for limit in LIMITED_SETTINGS})
        if store == "sqlite":
            settings["ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH"] = str(self.root / f"{name}.db")
        if store == "redis":
            settings["ZEROWEIGHT_PROXY_RATE_LIMIT_REDIS_URL"] = redis_url
        if cache_seconds is not None:
            settings["ZEROWEIGHT_PROXY_BUNDLE_CACHE_SECONDS"] = str(cache_seconds)
        return settings

    def start_fastcgi(self, name, label, settings):
        """One persistent `zw-bundle --listen` process on its own socket, its log in <name>.log."""
        path = str(self.root / f"{name}.sock")
        env = {"PATH": "/usr/bin:/bin", **settings}
        process = self.stack.spawn(name, [str(self.binary), "--listen", path, "--socket-mode", "600"], env=env)
        self.stack.wait_listening(name, process)
        return Mount(name, "fastcgi", label, settings, socket=path, process=process)

    def cgi_mount(self, name, label, settings):
        """`zw-bundle` run per request by fcgiwrap, with `settings` as fastcgi_param lines."""
        if self.fcgiwrap is None:
            self.fcgiwrap = self.stack.start_fcgiwrap()
        return Mount(name, "cgi", label, settings, socket=self.fcgiwrap)

    # The front nginx

    def start_front(self, mounts, upstream_base):
        self.front_port = zwlocal.free_port()
        locations = "".join(self.location(mount, upstream_base) for mount in mounts)
        self.start_nginx("front", self.front_port, f"""
    upstream zw_api {{
        server {upstream_base.removeprefix("http://")};
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{self.front_port} backlog=1024;
        keepalive_requests 1000000;
{locations}
    }}
""")

    def location(self, mount, upstream_base):
        if mount.kind == "proxy":
            # The ceiling: nginx itself adds the key and proxies, reusing upstream connections.
            return f"""
        location ~ ^/{mount.name}/api/avatars/bundle/(?<zw_id>[A-Za-z0-9_-]+)$ {{
            proxy_pass http://zw_api/api/v1/avatars/bundle/$zw_id;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-ZW-Api-Key "{self.key}";
        }}
"""
        lines = [f"fastcgi_pass unix:{mount.socket};", "include /etc/nginx/fastcgi_params;",
                 "fastcgi_param PATH_INFO $zw_path_info;", "fastcgi_read_timeout 30s;"]
        if mount.kind == "cgi":
            lines.append(f"fastcgi_param SCRIPT_FILENAME {self.binary};")
            lines += [f'fastcgi_param {name} "{value}";' for name, value in mount.settings.items()]
        body = "\n            ".join(lines)
        return f"""
        location ~ ^/{mount.name}/api/avatars/bundle(?<zw_path_info>/.*)?$ {{
            {body}
        }}
"""

    def url(self, mount_name, avatar=AVATAR):
        return f"http://127.0.0.1:{self.front_port}/{mount_name}/api/avatars/bundle/{avatar}"

    def start_nginx(self, name, port, http_body):
        folder = self.root / name
        folder.mkdir()
        conf = folder / "nginx.conf"
        conf.write_text(zwlocal.nginx_main(folder, http_body))
        conf.chmod(0o600)
        error_log = str(folder / "nginx-error.log")
        test = subprocess.run([zwlocal.tool("nginx"), "-t", "-q", "-e", error_log, "-c", str(conf)],
                              capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx ({name}) config refused: {test.stderr.strip()}")
        self.stack.spawn(f"nginx-{name}", [zwlocal.tool("nginx"), "-e", error_log, "-c", str(conf)])
        zwlocal.wait_for(lambda: zwlocal.can_connect(("127.0.0.1", port)), what=f"nginx ({name})")

    # Running the handler directly as a CGI program

    def cgi_environment(self, settings):
        """What deploy/local/cgi-request gives the handler: a GET of the bundle route, and `settings`."""
        return {"PATH": "/usr/bin:/bin", "REQUEST_METHOD": "GET", "PATH_INFO": f"/{AVATAR}", "QUERY_STRING": "",
                "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1",
                **settings}

    def curl_command(self, upstream_base):
        """The curl command line making the same upstream request (the key header read from a file)."""
        return [zwlocal.tool("curl"), "-s", "-H", f"@{self.curl_header_file}", "-o", "/dev/null",
                f"{upstream_base}/api/v1/avatars/bundle/{AVATAR}"]

    def log_tail(self, name, size=1500):
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else "(no log)"
