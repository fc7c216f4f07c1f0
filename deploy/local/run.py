#!/usr/bin/env python3
"""`make run`: both routes on http://127.0.0.1:8080 through a real nginx, until Ctrl-C.

MODE=fastcgi (default): each handler is one persistent FastCGI process under spawn-fcgi.
MODE=cgi: nginx + fcgiwrap runs the handler once per request.
With no ZEROWEIGHT_API_KEY / ZEROWEIGHT_API_KEY_FILE set, a local stand-in of the ZeroWeight API
is started and used, so everything works offline.
"""

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import zwlocal  # noqa: E402


def main():
    mode = os.environ.get("MODE", "fastcgi")
    if mode not in ("fastcgi", "cgi"):
        sys.exit("MODE must be fastcgi or cgi")
    port = int(os.environ.get("PORT", "8080"))
    binaries = Path(os.environ.get("BIN_DIR", zwlocal.REPO / ".build" / "release"))
    stack = zwlocal.Stack(zwlocal.REPO / ".build" / "local", binaries)
    for stale in stack.root.glob("*.sock"):
        stale.unlink()

    settings = {k: v for k, v in os.environ.items() if k.startswith("ZEROWEIGHT_")}
    if "ZEROWEIGHT_PROXY_AUTH" not in settings:
        settings["ZEROWEIGHT_PROXY_AUTH"] = "none"
        settings.setdefault("ZEROWEIGHT_PROXY_AVATARS", "*")
        print("ZEROWEIGHT_PROXY_AUTH=none: anyone may call these routes, for every avatar (local use only; "
              "set ZEROWEIGHT_PROXY_AUTH=jwt or remote-user to try sign-in).")
    if not settings.get("ZEROWEIGHT_API_KEY") and not settings.get("ZEROWEIGHT_API_KEY_FILE"):
        key = zwlocal.new_key()
        settings["ZEROWEIGHT_API_BASE"] = stack.start_standin(key)
        settings["ZEROWEIGHT_API_KEY_FILE"] = str(stack.root / "standin-key")
        print(f"No ZEROWEIGHT_API_KEY set: using a local stand-in of the ZeroWeight API at "
              f"{settings['ZEROWEIGHT_API_BASE']} (fake avatars, fake tokens).")
    else:
        print(f"Using the ZeroWeight API at {settings.get('ZEROWEIGHT_API_BASE', 'https://api.zeroweight.ai')}.")

    try:
        if mode == "fastcgi":
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **settings}
            bundle = ("fastcgi", stack.start_spawn_fcgi("bundle", env)[0])
            token = ("fastcgi", stack.start_spawn_fcgi("token", env)[0])
        else:
            wrap = stack.start_fcgiwrap()
            bundle, token = ("cgi", wrap), ("cgi", wrap)
        stack.start_nginx(port, bundle, token, settings)
    except Exception as error:
        stack.stop()
        sys.exit(f"could not start: {error} (logs in {stack.root})")

    print(f"""
zeroweight-proxy is serving on http://127.0.0.1:{port} ({mode}; logs in {stack.root}). Try:

  curl -i http://127.0.0.1:{port}/api/avatars/bundle/demo-avatar
  curl -i 'http://127.0.0.1:{port}/api/livekit/token?avatar_id=demo-avatar&name=Ada'
  curl -i 'http://127.0.0.1:{port}/api/livekit/token?avatar_id=../../etc'   # 400, never proxied

Ctrl-C stops everything.""", flush=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(process.poll() is None for _, process in stack.processes):
            time.sleep(0.5)
        print("a server exited; stopping (see the logs)", file=sys.stderr)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        stack.stop()
        print("stopped.")


if __name__ == "__main__":
    main()
