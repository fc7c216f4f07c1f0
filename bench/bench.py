#!/usr/bin/env python3
"""`make bench`: what zw-bundle costs per request, next to nginx doing the same proxying itself.

Not a test: `make test` never runs it, and a MISS does not fail it (it exits 1 only when it
could not measure). Everything runs on loopback in a temporary folder and is stopped at the end,
also on Ctrl-C: a fast upstream (nginx serving a ~40 KB bundle JSON, checking X-ZW-Api-Key with a
random key per run), a slow one (bench/slow_upstream.py, +100 ms), redis-server, fcgiwrap, one
`zw-bundle --listen` FastCGI process per configuration, and a front nginx with one location per
way of serving the bundle route. The proxy runs with auth = none, avatars = * and its log in a file.

What is measured, interleaved (each round runs every scenario once, the order reversing between
rounds, and the median of the rounds is reported, because a shared 2-core machine is noisy):

  1. nginx proxy_pass to the upstream with the key header added: the ceiling;
  2. zw-bundle as one persistent FastCGI process behind nginx fastcgi_pass;
  3. zw-bundle as CGI under fcgiwrap behind nginx (a process per request);
  4. one CGI invocation of the binary (no web server) against the curl command line making the same
     upstream request: the cost of "a process that makes one HTTP request" (hyperfine -N when
     installed, else a timing loop; the commands alternate between rounds);
  5. the FastCGI process with 64 connections over the +100 ms upstream, against the ideal
     64 / 0.1 s = 640 req/s;
  and the rate-limit store cost: FastCGI with store off, memory, sqlite and redis, CGI with off,
  sqlite and redis (limits set far above the load, so nothing may be refused), each with one
  connection (latency: the added µs per request against `off`) and 16 (throughput).
  When Sources/ knows `bundle_cache_seconds`, the cache is set to 0 everywhere (every request goes
  upstream) and one more scenario runs FastCGI + redis with a 60 s cache (all hits).
  Memory: VmRSS/VmHWM of a FastCGI process at start, after warm-up and after 100k requests, and
  the max RSS of one CGI process (GNU time %M).

Reading the output, top to bottom: the header says how busy the machine was with other work
(sampled before and after; above 25% the numbers are noisy). The first table has one row per
scenario: req/s is the median over rounds with the min-max of the rounds, p50/p99 are wrk's latency
percentiles (medians over rounds), "vs ceiling" divides by nginx proxy_pass at the same connection
count. The store table gives, per store, the µs it adds to one request at one connection (mean and
p50, against `off` in the same mode) and the req/s at 16. Then the CGI-vs-curl timings, the
FastCGI process's RSS as requests accumulate, and the handlers' own logs: every non-200 answer
(wrk does not see the requests still in flight when a run ends) and the slowest one. Last, the
targets, PASS or MISS: FastCGI c16 >= 0.25 x nginx proxy_pass; one CGI run <= 1.3 x one curl run
(mean wall time); FastCGI c64 over the +100 ms upstream >= 0.9 x 640 req/s; no failed request
(wrk non-2xx, socket errors, non-200 in the logs). Memory growth is reported, not judged.
wrk, nginx, the proxy and the upstreams share the same cores, so absolute numbers are for this
machine only; the ratios are what the targets are about. Results go to bench/results/: bench.txt
(this report), bench.json (every run, the machine, the tool versions, the commit), bench.svg (and
bench.png when rsvg-convert is installed).

Environment: BIN_DIR (binaries, default .build/release), BENCH_QUICK=1 (a short run, about a
minute), BENCH_ROUNDS, BENCH_SECONDS, BENCH_REQUESTS (memory run), BENCH_KEEP=1 (keep
the temporary folder and its logs; it holds the key).
"""

import http.client
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import measure  # noqa: E402
import report  # noqa: E402
import servers as servers_module  # noqa: E402
from servers import AVATAR, Mount, Servers  # noqa: E402

REPO = HERE.parent
RESULTS = HERE / "results"
FASTCGI_STORES = ["off", "memory", "sqlite", "redis"]
CGI_STORES = ["off", "sqlite", "redis"]  # memory is per process: it counts nothing across CGI runs
SLOW_MS = 100
SLOW_CONNECTIONS = 64
IDEAL_SLOW_RPS = SLOW_CONNECTIONS / (SLOW_MS / 1000)  # every connection busy with one 100 ms request
MEMORY_RUN_CAP_SECONDS = 180  # keeps `make bench` under 10 minutes on a busy day; the report says so
TARGET_FASTCGI_VS_CEILING = 0.25
TARGET_CGI_VS_CURL = 1.3
TARGET_TOLERANCE = 0.9


@dataclass
class Plan:
    quick: bool
    rounds: int
    seconds: int
    warmup_seconds: int
    memory_requests: int
    cgi_runs: int


def plan_from_environment():
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    return Plan(
        quick=quick,
        rounds=int(os.environ.get("BENCH_ROUNDS", 1 if quick else 3)),
        seconds=int(os.environ.get("BENCH_SECONDS", 2 if quick else 5)),
        warmup_seconds=1,
        memory_requests=int(os.environ.get("BENCH_REQUESTS", 10_000 if quick else 100_000)),
        cgi_runs=30 if quick else 100,
    )


# Bringing everything up

def start_mounts(servers, upstream):
    """Every way of serving the bundle route, plus the front nginx routing /<mount>/ to each."""
    slow = servers.start_slow_upstream(SLOW_MS)
    redis_url = servers.start_redis()
    # The cache off everywhere but in its own scenario: every other request goes to the upstream.
    def fastcgi(name, label, base, store, cache_seconds=0):
        return servers.start_fastcgi(name, label, servers.settings(name, base, store, redis_url=redis_url,
                                                                   cache_seconds=cache_seconds))

    def cgi(name, label, store):
        return servers.cgi_mount(name, label, servers.settings(name, upstream, store, redis_url=redis_url,
                                                               cache_seconds=0))

    mounts = [Mount("ceiling", "proxy", "nginx proxy_pass (ceiling)")]
    mounts += [fastcgi(f"fcgi-{store}", f"FastCGI, store {store}", upstream, store) for store in FASTCGI_STORES]
    mounts += [cgi(f"cgi-{store}", f"CGI (fcgiwrap), store {store}", store) for store in CGI_STORES]
    mounts.append(fastcgi("fcgi-redis-cache", "FastCGI, store redis, bundle cache 60 s", upstream, "redis", 60))
    # Every request a cache hit in the process itself: all the proxy does but the upstream call.
    mounts.append(fastcgi("fcgi-memory-cache", "FastCGI, store memory, bundle cache 60 s", upstream, "memory", 60))
    mounts.append(fastcgi("fcgi-slow", f"FastCGI, upstream +{SLOW_MS} ms", slow, "off"))
    mounts.append(fastcgi("fcgi-mem", "FastCGI, store off (memory run)", upstream, "off"))
    servers.start_front(mounts, upstream)
    return {mount.name: mount for mount in mounts}


def scenario_list(mounts):
    """The interleaved wrk scenarios: every mount at 16 and 1 connections, the slow one at 64."""
    scenarios = []
    for connections in (16, 1):
        for mount in mounts.values():
            if mount.name not in ("fcgi-slow", "fcgi-mem"):
                scenarios.append({"key": f"{mount.name}@{connections}", "mount": mount.name, "label": mount.label,
                                  "kind": mount.kind, "connections": connections})
    slow = mounts["fcgi-slow"]
    scenarios.append({"key": f"fcgi-slow@{SLOW_CONNECTIONS}", "mount": slow.name, "label": slow.label,
                      "kind": slow.kind, "connections": SLOW_CONNECTIONS})
    return scenarios


def fetch(url):
    """(status, body) of one GET, straight to loopback (no proxy variables consulted)."""
    host_port, path = url.removeprefix("http://").split("/", 1)
    host, port = host_port.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", "/" + path)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def precheck(servers, mounts, upstream, cgi_env):
    """Every mount answers 200 with the upstream bundle byte for byte, and the upstream wants the key."""
    status, _ = fetch(f"{upstream}/api/v1/avatars/bundle/{AVATAR}")
    if status != 401:
        raise RuntimeError(f"the upstream answered {status} without the key, not 401")
    for mount in mounts.values():
        status, body = fetch(servers.url(mount.name))
        if status != 200 or body != servers.body:
            raise RuntimeError(f"{mount.label}: answered {status} ({len(body)} bytes), not the bundle "
                               f"({len(servers.body)} bytes). Its log ends with:\n{servers.log_tail(mount.name)}"
                               f"\n(a stale build? `make bench` builds first)")
    done = subprocess.run([str(servers.binary)], env=cgi_env, capture_output=True, stdin=subprocess.DEVNULL)
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    if done.returncode != 0 or body != servers.body or b"Status: 200" not in head:
        raise RuntimeError(f"the CGI program did not answer the bundle: {head[:300]!r} {done.stderr[-500:]!r}")


# Measuring

def measure_cgi_against_curl(servers, upstream, cgi_env, plan):
    """Scenario 4: one CGI run of zw-bundle against one curl run, same upstream request."""
    commands = {"zw-bundle (CGI)": [str(servers.binary)], "curl": servers.curl_command(upstream)}
    times = measure.time_commands(commands, cgi_env, plan.rounds, plan.cgi_runs)
    stats = {name: {"runs": len(values), "mean_ms": statistics.mean(values) * 1000,
                    "median_ms": statistics.median(values) * 1000, "stdev_ms": statistics.stdev(values) * 1000}
             for name, values in times.items()}
    cgi, curl = stats["zw-bundle (CGI)"], stats["curl"]
    return {"timer": "hyperfine -N" if shutil.which("hyperfine") else "perf_counter loop", "commands": stats,
            "ratio_mean": cgi["mean_ms"] / curl["mean_ms"], "ratio_median": cgi["median_ms"] / curl["median_ms"],
            "cgi_max_rss_kib": measure.max_rss_kib([str(servers.binary)], cgi_env),
            "curl_max_rss_kib": measure.max_rss_kib(servers.curl_command(upstream), cgi_env)}


def warm_up(servers, scenarios, plan):
    for mount in dict.fromkeys(s["mount"] for s in scenarios):
        connections = SLOW_CONNECTIONS if mount == "fcgi-slow" else 16
        measure.run_wrk(servers.url(mount), connections, plan.warmup_seconds)


def run_rounds(servers, scenarios, plan):
    """Every scenario once per round, the order reversed every other round; {key: [wrk result, ...]}."""
    runs = {scenario["key"]: [] for scenario in scenarios}
    for round_index in range(plan.rounds):
        order = scenarios if round_index % 2 == 0 else scenarios[::-1]
        for scenario in order:
            result = measure.run_wrk(servers.url(scenario["mount"]), scenario["connections"], plan.seconds)
            runs[scenario["key"]].append(result)
            flag = "" if result["non2xx"] + result["socket_errors"] == 0 else "  (non-2xx or socket errors!)"
            print(f"  round {round_index + 1}/{plan.rounds}  {scenario['label']:<42} c{scenario['connections']:<3}"
                  f"{result['rps']:>10,.0f} req/s{flag}", flush=True)
    return runs


def memory_run(servers, mount, start, plan):
    """RSS of one FastCGI process: at start, after a warm-up, then every ~10% of
    `plan.memory_requests` requests (16 connections) until they are served."""
    pid = mount.process.pid
    url = servers.url(mount.name)
    warm = measure.run_wrk(url, 16, 2)
    served = 1 + warm["requests"]  # the precheck's request, then the warm-up's
    after_warmup = measure.process_memory(pid)
    samples = [{"requests": served, **after_warmup}]
    failures = warm["non2xx"] + warm["socket_errors"]
    deadline = time.monotonic() + MEMORY_RUN_CAP_SECONDS
    rps = warm["rps"]
    while served < plan.memory_requests:
        if time.monotonic() > deadline and served < 0.95 * plan.memory_requests:
            break  # a slow day: report what was served (the last 5% always finish)
        chunk = min(plan.memory_requests - served, math.ceil(plan.memory_requests / 10))
        result = measure.run_wrk(url, 16, max(1, math.ceil(chunk / max(rps, 1))))
        served += result["requests"]
        failures += result["non2xx"] + result["socket_errors"]
        rps = result["rps"]
        samples.append({"requests": served, **measure.process_memory(pid)})
    after = samples[-1]
    return {"pid": pid, "requests": served, "capped": served < plan.memory_requests, "failed": failures,
            "start": start, "after_warmup": after_warmup, "after_run": after, "samples": samples,
            "growth_kib": after["rss_kib"] - after_warmup["rss_kib"]}


def proxy_logs(servers, names):
    """Per handler log: the requests it answered, the non-200 answers by status and error code, and
    the slowest. wrk cannot tell these: a request still in flight when a run ends is not counted."""
    logs = {}
    for name in names:
        path = servers.root / f"{name}.log"
        answered, failures, slowest = 0, Counter(), 0.0
        for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if "status" not in entry:
                continue
            answered += 1
            slowest = max(slowest, entry.get("duration_ms", 0))
            if entry["status"] != 200:
                failures[f"{entry['status']} {entry.get('error', '')}".strip()] += 1
        logs[name] = {"answered": answered, "not_200": dict(failures), "slowest_ms": slowest}
    return logs


# Summaries

def store_rows(summaries):
    """Per store and mode: c1 latency, the µs it adds per request against `off`, c16 throughput."""
    rows = []
    entries = [("fcgi", "FastCGI", store) for store in FASTCGI_STORES] + [("cgi", "CGI", s) for s in CGI_STORES]
    entries += [("fcgi", "FastCGI", "redis-cache"), ("fcgi", "FastCGI", "memory-cache")]
    for prefix, mode, store in entries:
        one, sixteen = summaries[f"{prefix}-{store}@1"], summaries[f"{prefix}-{store}@16"]
        base = summaries[f"{prefix}-off@1"]
        label = f"{mode}, {store.replace('-cache', ' + bundle cache 60 s')}"
        rows.append({"label": label, "mode": mode, "store": store, "c1_rps": one["rps"], "c1_mean_us": one["mean_us"],
                     "c1_p50_us": one["p50_us"], "c1_p99_us": one["p99_us"],
                     "added_mean_us": None if store == "off" else one["mean_us"] - base["mean_us"],
                     "added_p50_us": None if store == "off" else one["p50_us"] - base["p50_us"],
                     "c16_rps": sixteen["rps"], "c16_p99_us": sixteen["p99_us"],
                     "non2xx": one["non2xx"] + one["socket_errors"] + sixteen["non2xx"] + sixteen["socket_errors"]})
    return rows


def evaluate_targets(summaries, cgi_vs_curl, logs):
    ceiling = summaries["ceiling@16"]["rps"]
    fastcgi = summaries["fcgi-off@16"]["rps"]
    slow = summaries[f"fcgi-slow@{SLOW_CONNECTIONS}"]["rps"]
    ideal = IDEAL_SLOW_RPS
    problems = sum(s["non2xx"] + s["socket_errors"] for s in summaries.values())
    problems += sum(sum(log["not_200"].values()) for log in logs.values())
    return [
        report.target("FastCGI req/s ÷ nginx proxy_pass (c16)", fastcgi / ceiling, ">=", TARGET_FASTCGI_VS_CEILING),
        report.target("one CGI run ÷ one curl run (mean)", cgi_vs_curl["ratio_mean"], "<=", TARGET_CGI_VS_CURL),
        report.target(f"FastCGI c{SLOW_CONNECTIONS}, +{SLOW_MS} ms upstream: req/s ÷ {ideal:.0f}",
                      slow / ideal, ">=", TARGET_TOLERANCE, f" ({slow:.0f} req/s)"),
        report.target("failed requests (wrk non-2xx, socket errors, non-200 in the logs)", problems, "<=", 0),
    ]


def machine_info(binary):
    def first_line(argv):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (done.stdout + done.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return None

    def git(*args):
        done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else None

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), None)
    stat = binary.stat()
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "uname": " ".join(os.uname()),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "loadavg_at_start": os.getloadavg(),
        "binary": {"bytes": stat.st_size,
                   "modified": datetime.fromtimestamp(stat.st_mtime, timezone.utc).isoformat(timespec="seconds")},
        "tools": {"nginx": first_line([servers_module.zwlocal.tool("nginx"), "-v"]), "wrk": first_line(["wrk", "-v"]),
                  "redis": first_line([servers_module.zwlocal.tool("redis-server"), "--version"]),
                  "hyperfine": first_line(["hyperfine", "--version"]) if shutil.which("hyperfine") else None,
                  "curl": first_line(["curl", "--version"])},
    }


# The report

def render_text(plan, machine, scenarios, summaries, stores, cgi_vs_curl, memory, logs, targets, bundle_bytes):
    ceilings = {s["connections"]: summaries[s["key"]]["rps"] for s in scenarios if s["mount"] == "ceiling"}
    cgi, curl = cgi_vs_curl["commands"]["zw-bundle (CGI)"], cgi_vs_curl["commands"]["curl"]
    kib = lambda value: f"{value / 1024:.1f} MiB"  # noqa: E731
    capped = f", stopped after {MEMORY_RUN_CAP_SECONDS} s short of {plan.memory_requests:,}" if memory["capped"] else ""
    lines = [
        "",
        f"zeroweight-proxy benchmark  {machine['date']}  commit {(machine['git_commit'] or '?')[:10]}"
        f"{' (dirty tree)' if machine['git_dirty'] else ''}  nproc {machine['nproc']}  "
        f"CPU busy with other work: {machine['busy_before']:.0%} before, {machine['busy_after']:.0%} after",
        *busy_warning(machine),
        f"wrk: {plan.rounds} round(s) x {plan.seconds} s per scenario, interleaved, medians shown; "
        f"bundle {bundle_bytes / 1024:.1f} KiB{'  [BENCH_QUICK]' if plan.quick else ''}",
        "",
        report.throughput_table(scenarios, summaries, ceilings, {f"fcgi-slow@{SLOW_CONNECTIONS}": IDEAL_SLOW_RPS}),
        "",
        "Rate-limit store cost (added = store's c1 latency minus `off` in the same mode):",
        report.store_table(stores),
        "",
        f"One process, one upstream request ({cgi_vs_curl['timer']}, {cgi['runs']} runs each):",
        f"  zw-bundle as CGI  mean {cgi['mean_ms']:.2f} ms  median {cgi['median_ms']:.2f} ms  "
        f"sd {cgi['stdev_ms']:.2f} ms  max RSS {kib(cgi_vs_curl['cgi_max_rss_kib'])}",
        f"  curl              mean {curl['mean_ms']:.2f} ms  median {curl['median_ms']:.2f} ms  "
        f"sd {curl['stdev_ms']:.2f} ms  max RSS {kib(cgi_vs_curl['curl_max_rss_kib'])}",
        f"  ratio CGI / curl: mean {cgi_vs_curl['ratio_mean']:.3f}, median {cgi_vs_curl['ratio_median']:.3f}",
        "",
        f"FastCGI memory (one process, {memory['requests']:,} requests, {memory['failed']} failed{capped}):",
        f"  VmRSS at start {kib(memory['start']['rss_kib'])}, after warm-up {kib(memory['after_warmup']['rss_kib'])}, "
        f"after the run {kib(memory['after_run']['rss_kib'])} (VmHWM {kib(memory['after_run']['hwm_kib'])}); "
        f"growth after warm-up {memory['growth_kib']:+,} KiB",
        "  VmRSS by requests served: " + ", ".join(f"{sample['requests'] / 1000:.1f}k {kib(sample['rss_kib'])}"
                                                  for sample in memory["samples"]),
        "",
        "Handler logs (every answer the handlers gave, wrk's cut-off requests included):",
        report.logs_table(logs),
        "",
        report.targets_table(targets),
        "",
    ]
    return "\n".join(lines)


def cpu_busy(seconds=2.0):
    """The fraction of all CPUs busy over `seconds` (from /proc/stat), sampled while the bench is idle."""
    def sample():
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return sum(values), values[3] + values[4]  # total, idle + iowait

    total_before, idle_before = sample()
    time.sleep(seconds)
    total_after, idle_after = sample()
    return 1 - (idle_after - idle_before) / max(total_after - total_before, 1)


def busy_warning(machine):
    """A line saying the numbers are unreliable when other work kept the machine busy."""
    busy = max(machine["busy_before"], machine["busy_after"])
    if busy < 0.25:
        return []
    return [f"WARNING: other work kept {busy:.0%} of the CPUs busy around this run: the numbers are noisy; "
            "run again on a quiet machine before drawing conclusions."]


def plot(scenarios, summaries, targets, machine):
    bars = [(s["label"] + (f" (c{s['connections']})" if s["connections"] != 16 else ""),
             summaries[s["key"]]["rps"], s["kind"])
            for s in scenarios if s["connections"] in (16, SLOW_CONNECTIONS)]
    ratios = [t for t in targets if isinstance(t["value"], float)]
    title = f"zeroweight-proxy bench, {machine['date']}, {machine['nproc']} CPUs, 16 connections unless noted"
    return report.svg_plot(bars, ratios, title)


def main():
    plan = plan_from_environment()
    binaries = Path(os.environ.get("BIN_DIR", REPO / ".build" / "release"))
    if not shutil.which("wrk"):
        print("wrk is missing: installing it (apt-get install -y wrk)", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    if not (binaries / "zw-bundle").is_file():
        print(f"no zw-bundle in {binaries}: `make bench` builds it, or set BIN_DIR", file=sys.stderr)
        return 1
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # even when started with SIGINT ignored
        signal.signal(number, signal.default_int_handler)
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="zw-bench-"))
    servers = None
    try:
        servers = Servers(root, binaries)
        machine = machine_info(servers.binary)
        machine["busy_before"] = cpu_busy()
        print(f"bringing up the servers in {root} ...", flush=True)
        upstream = servers.start_upstream()
        mounts = start_mounts(servers, upstream)
        memory_start = measure.process_memory(mounts["fcgi-mem"].process.pid)
        cgi_env = servers.cgi_environment(servers.settings("cgi-direct", upstream, "off",
                                                           cache_seconds=0))
        precheck(servers, mounts, upstream, cgi_env)
        scenarios = scenario_list(mounts)

        print("one CGI run against one curl run ...", flush=True)
        cgi_vs_curl = measure_cgi_against_curl(servers, upstream, cgi_env, plan)
        print("warming up every mount ...", flush=True)
        warm_up(servers, scenarios, plan)
        print(f"{len(scenarios)} scenarios x {plan.rounds} round(s) x {plan.seconds} s:", flush=True)
        runs = run_rounds(servers, scenarios, plan)
        print(f"memory run: {plan.memory_requests:,} requests on one FastCGI process ...", flush=True)
        memory = memory_run(servers, mounts["fcgi-mem"], memory_start, plan)
        fastcgi_memory = {name: measure.process_memory(mount.process.pid)
                          for name, mount in mounts.items() if mount.kind == "fastcgi"}
        logs = proxy_logs(servers, [name for name, mount in mounts.items() if mount.kind != "proxy"] + ["cgi-direct"])
    except KeyboardInterrupt:
        print("interrupted: stopping everything", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - any failure: report it, stop everything
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    finally:
        if servers:
            servers.stop()
        if os.environ.get("BENCH_KEEP", "") in ("", "0"):
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root} (it holds this run's key)", file=sys.stderr)

    summaries = {key: measure.summarize_runs(values) for key, values in runs.items()}
    stores = store_rows(summaries)
    targets = evaluate_targets(summaries, cgi_vs_curl, logs)
    machine["loadavg_at_end"] = os.getloadavg()
    machine["busy_after"] = cpu_busy()
    machine["seconds"] = round(time.monotonic() - started, 1)
    text = render_text(plan, machine, scenarios, summaries, stores, cgi_vs_curl, memory, logs, targets,
                       len(servers.body))
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench.txt").write_text(text)
    report.write_json(RESULTS / "bench.json", {
        "machine": machine, "plan": plan.__dict__, "bundle_bytes": len(servers.body),
        "targets": targets,
        "scenarios": [{**s, "summary": summaries[s["key"]], "runs": runs[s["key"]]} for s in scenarios],
        "stores": stores, "cgi_vs_curl": cgi_vs_curl, "memory": memory, "fastcgi_memory_at_end": fastcgi_memory,
        "handler_logs": logs})
    written = report.write_svg(RESULTS / "bench.svg", plot(scenarios, summaries, targets, machine))
    print("wrote " + ", ".join(str(path.relative_to(REPO)) for path in [RESULTS / "bench.json", RESULTS / "bench.txt",
                                                                         *written]))
    print(f"({machine['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
