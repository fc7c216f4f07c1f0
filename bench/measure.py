"""The measuring instruments of `make bench`: wrk runs, timed process invocations, RSS readings."""

import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WRK_SCRIPT = HERE / "wrk_report.lua"


def median(values):
    return statistics.median(values) if values else None


def run_wrk(url, connections, seconds, threads=None):
    """One wrk run: requests/s, latency percentiles (µs) and error counts, from bench/wrk_report.lua.

    The "Non-2xx or 3xx responses" line wrk prints is read too, and must agree with the script.
    """
    threads = threads or min(connections, 2)
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
            "-s", str(WRK_SCRIPT), url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, stdin=subprocess.DEVNULL)
    match = re.search(r"^WRK_JSON (\{.*\})$", done.stdout, flags=re.M)
    if done.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-800:]} {done.stderr[-800:]}")
    result = json.loads(match.group(1))
    printed = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", done.stdout)
    result["non2xx"] = max(result["non2xx"], int(printed.group(1)) if printed else 0)
    result["socket_errors"] = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["connections"] = connections
    return result


def summarize_runs(runs):
    """Medians over rounds (each round is one wrk run), with the spread of requests/s."""
    rps = [run["rps"] for run in runs]
    return {
        "rounds": len(runs),
        "rps": median(rps),
        "rps_min": min(rps),
        "rps_max": max(rps),
        "mean_us": median([run["mean_us"] for run in runs]),
        "p50_us": median([run["p50_us"] for run in runs]),
        "p99_us": median([run["p99_us"] for run in runs]),
        "requests": sum(run["requests"] for run in runs),
        "non2xx": sum(run["non2xx"] for run in runs),
        "socket_errors": sum(run["socket_errors"] for run in runs),
    }


# One process making one request: the CGI handler against curl

def time_commands(commands, env, rounds, runs):
    """Wall time of each command, `runs` times per round, the order alternating between rounds.

    `commands` maps a name to an argv. Uses hyperfine (-N, no shell) when installed, else a loop
    alternating the commands one invocation at a time. Returns {name: [seconds, ...]}.
    """
    names = list(commands)
    times = {name: [] for name in names}
    for round_index in range(rounds):
        order = names if round_index % 2 == 0 else names[::-1]
        if shutil.which("hyperfine"):
            measured = hyperfine({name: commands[name] for name in order}, env, runs)
        else:
            measured = loop_timer({name: commands[name] for name in order}, env, runs)
        for name in names:
            times[name] += measured[name]
    return times


def hyperfine(commands, env, runs):
    with tempfile.NamedTemporaryFile(suffix=".json") as export:
        argv = ["hyperfine", "-N", "--style", "none", "--warmup", "5", "--runs", str(runs),
                "--export-json", export.name]
        for name, command in commands.items():
            argv += ["-n", name, shlex.join(command)]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            # Not echoed as is: hyperfine repeats the command lines; ours name a key file, never the key.
            raise RuntimeError(f"hyperfine failed: {done.stderr[-800:]}")
        results = json.loads(Path(export.name).read_text())["results"]
    return {result["command"]: result["times"] for result in results}


def loop_timer(commands, env, runs):
    times = {name: [] for name in commands}
    for warmup in range(3):
        for command in commands.values():
            subprocess.run(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - start)
    return times


# Memory

def process_memory(pid):
    """VmRSS and VmHWM (peak RSS) of a process, in KiB, from /proc/<pid>/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return {"rss_kib": fields["VmRSS"], "hwm_kib": fields["VmHWM"]}


def max_rss_kib(argv, env, times=5):
    """The largest maximum RSS (KiB) of `times` runs of `argv`: GNU time's %M, else wait4's ru_maxrss."""
    peaks = []
    for _ in range(times):
        if Path("/usr/bin/time").exists():
            with tempfile.NamedTemporaryFile("r", suffix=".txt") as out:
                subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *argv], env=env, check=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
                peaks.append(int(out.read().split()[-1]))
        else:
            pid = os.posix_spawn(argv[0], argv, env, file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
            _, status, usage = os.wait4(pid, 0)
            peaks.append(usage.ru_maxrss)
    return max(peaks)
