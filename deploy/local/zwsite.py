"""The shipped deployment files, rendered into a temporary install and brought up for real.

A `Site` is what `make install` plus an operator would produce, under one temporary root instead of
/usr/local, /etc and /run: bin/ (the binaries), etc/ (the config skeleton and the key file), run/
(sockets). Each `start_*` function brings up one mounting from the files in deploy/ and the top-level
nginx.conf.example, changing only paths and ports.
"""

import grp
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import zwlocal

REPO = zwlocal.REPO
DEPLOY = REPO / "deploy"


SITES = []  # every site made in this process, for log scans; `remove_all()` deletes them


FOLDERS = []  # other temporary folders to remove with the sites


def shared_folder(prefix):
    """A temporary folder readable by www-data, removed by `remove_all()`."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    FOLDERS.append(folder)
    return folder


def remove_all():
    for folder in [site.root for site in SITES] + FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)
    SITES.clear()
    FOLDERS.clear()


class Site:
    def __init__(self, stack, key, api_base, timeout="1.5", access="auth = none\navatars = *\nrate_limit.store = off\n"):
        self.stack = stack
        self.root = Path(tempfile.mkdtemp(prefix="zw-site-"))
        self.root.chmod(0o755)  # Apache's and spawn-fcgi's www-data workers reach in here
        SITES.append(self)
        self.key = key
        self.bin = self.root / "bin"
        self.etc = self.root / "etc"
        self.run = self.root / "run"
        for folder in (self.bin, self.etc, self.run):
            folder.mkdir(mode=0o755)
        for route in ("bundle", "token"):
            shutil.copy2(stack.binaries / f"zw-{route}", self.bin / f"zw-{route}")
        www = grp.getgrnam("www-data").gr_gid
        key_file = self.etc / "api-key"
        key_file.write_text(key + "\n")
        os.chown(key_file, 0, www)
        key_file.chmod(0o640)
        config = self.render((DEPLOY / "config" / "zeroweight-proxy.conf").read_text())
        config += f"\napi_base = {api_base}\ntimeout_seconds = {timeout}\n{access}"
        self.config = self.etc / "zeroweight-proxy.conf"
        self.config.write_text(config)

    def render(self, text):
        """Shipped text with the install paths moved under this site's root."""
        return (text.replace("/run/fcgiwrap.socket", f"{self.run}/fcgiwrap.socket")
                .replace("/run/zeroweight-proxy", str(self.run))
                .replace("/usr/local/bin", str(self.bin))
                .replace("/etc/zeroweight-proxy", str(self.etc)))

    def logs(self):
        return b"".join(path.read_bytes() for path in list(self.stack.root.glob("*.log"))
                        + list(self.root.rglob("*.log")))


def render_nginx_example(site, port, variant, relax_rate=True, auth_service=None):
    """nginx.conf.example as a whole nginx.conf: `variant` "fastcgi" (as shipped) or "cgi" (fcgiwrap).

    With `auth_service` (an http://host:port/path URL), the commented auth_request lines are switched on
    and point there.
    """
    text = site.render((REPO / "nginx.conf.example").read_text())
    if auth_service:
        text = re.sub(r"^(\s*)# (auth_request.*|fastcgi_param REMOTE_USER .*|fastcgi_param ZW_TENANT .*)$", r"\1\2",
                      text, flags=re.M)
        block = re.search(r"^\s*# location = /_zeroweight_auth \{\n(?:\s*#.*\n)*?\s*# \}\n", text, flags=re.M)
        text = text.replace(block.group(0), re.sub(r"^(\s*)# ", r"\1", block.group(0), flags=re.M))
        text = text.replace("proxy_pass http://127.0.0.1:9000/auth;", f"proxy_pass {auth_service};")
    text = text.replace("listen 80;", f"listen 127.0.0.1:{port};").replace("listen [::]:80;", "")
    text = text.replace("include fastcgi_params;", "include /etc/nginx/fastcgi_params;")
    if variant == "cgi":
        text = re.sub(rf"^(\s*)(fastcgi_pass unix:{re.escape(str(site.run))}/\w+\.sock;)", r"\1# \2", text, flags=re.M)
        text = re.sub(r"^(\s*)# (fastcgi_param SCRIPT_FILENAME .*|fastcgi_param ZEROWEIGHT_.*|fastcgi_pass unix:.*fcgiwrap.*)$",
                      r"\1\2", text, flags=re.M)
    if relax_rate:
        # The contract suite sends bursts from one address; the shipped limit has its own test.
        text = text.replace("rate=10r/s", "rate=100000r/s").replace("burst=20", "burst=100000")
    return zwlocal.nginx_main(site.stack.root, text)


def start_nginx_example(site, variant, relax_rate=True, auth_service=None):
    port = zwlocal.free_port()
    conf = site.stack.root / "nginx.conf"
    conf.write_text(render_nginx_example(site, port, variant, relax_rate, auth_service))
    subprocess.run([zwlocal.tool("nginx"), "-t", "-q", "-e", str(site.stack.root / "nginx-test.log"),
                    "-c", str(conf)], check=True)
    site.stack.spawn("nginx", [zwlocal.tool("nginx"), "-e", str(site.stack.root / "nginx-error.log"), "-c", str(conf)])
    zwlocal.wait_for(lambda: zwlocal.can_connect(("127.0.0.1", port)), what="nginx")
    return port


def start_fcgiwrap(site):
    """fcgiwrap on the socket the example names, with an empty environment like Debian's unit."""
    path = str(site.run / "fcgiwrap.socket")
    site.stack.spawn("fcgiwrap", [zwlocal.tool("fcgiwrap"), "-f", "-c", "4", "-s", f"unix:{path}"],
                     env={"PATH": "/usr/bin:/bin"})
    zwlocal.wait_for(lambda: zwlocal.can_connect(path), what="fcgiwrap socket")


def spawn_script(site, action):
    """Runs deploy/spawn-fcgi/zeroweight-proxy-spawn with this site's paths."""
    env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "ZW_BIN": str(site.bin), "ZW_RUN": str(site.run),
           "ZW_CONFIG": str(site.config), "ZW_LOG_DIR": str(site.root / "log")}
    return subprocess.run([str(DEPLOY / "spawn-fcgi" / "zeroweight-proxy-spawn"), action], env=env,
                          capture_output=True, timeout=60)


def start_spawned(site):
    """Both handlers started by the shipped spawn-fcgi script (as www-data when run as root)."""
    done = spawn_script(site, "start")
    assert done.returncode == 0, done.stderr
    site.stack.cleanups.append(lambda: spawn_script(site, "stop"))
    for route in ("bundle", "token"):
        zwlocal.wait_for(lambda: zwlocal.can_connect(str(site.run / f"{route}.sock")), what=f"{route} socket")


def unit_settings(path):
    """The [Section] key=value lines of a systemd unit, as a list of (key, value)."""
    return [tuple(line.split("=", 1)) for line in Path(path).read_text().splitlines()
            if "=" in line and not line.lstrip().startswith("#")]


def start_socket_activated(site):
    """Each handler as its shipped systemd socket + service pair would run it.

    systemd-socket-activate stands in for PID 1: it listens where the .socket says, passes the
    socket as fd 3 with LISTEN_FDS/LISTEN_PID, and sets the .service's Environment= lines. The
    LoadCredential= file is copied to a private credentials folder, which is what %d names.
    """
    credentials = site.root / "credentials"
    credentials.mkdir(mode=0o700)
    for route in ("bundle", "token"):
        socket_unit = dict(unit_settings(DEPLOY / "systemd" / f"zw-{route}.socket"))
        service = unit_settings(DEPLOY / "systemd" / f"zw-{route}.service")
        listen = site.render(socket_unit["ListenStream"])
        args = [zwlocal.tool("systemd-socket-activate"), "-l", listen]
        env = {"PATH": "/usr/bin:/bin"}
        for key, value in service:
            if key == "LoadCredential":
                name, source = value.split(":", 1)
                shutil.copy(site.render(source), credentials / name)
            elif key == "Environment":
                name, setting = value.split("=", 1)
                env[name] = site.render(setting.replace("%d", str(credentials)))
            elif key == "ExecStart":
                exec_start = site.render(value).split()
        args += [f"-E{name}={value}" for name, value in env.items()] + exec_start
        site.stack.spawn(f"activate-{route}", args, env=env)
        zwlocal.wait_for(lambda: os.path.exists(listen), what=f"{listen}")


def start_apache(site, conf_name, extra=()):
    """Apache with one shipped conf from deploy/apache, its Define paths moved into the site."""
    text = site.render((DEPLOY / "apache" / conf_name).read_text())
    runtime = site.root / "apache"
    runtime.mkdir(mode=0o755, exist_ok=True)
    snippet = runtime / conf_name
    snippet.write_text(text)
    port = zwlocal.free_port()
    site.stack.start_apache(port, [*extra, snippet], runtime)
    return port
