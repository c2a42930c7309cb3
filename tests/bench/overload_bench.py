#!/usr/bin/env python3
"""The overload curve: servers driven past their maximum, side by side.

For each server binary (e.g. a baseline and this tree's), one after the
other, on the same model:

  1. start it pinned to one core (taskset), the load generator pinned to
     another; sample the server's VmRSS from /proc every 100 ms throughout;
  2. idle latency: a single call on an idle server (the median of three
     probes of three calls each);
  3. closed-loop maximum: movierec-loadgen at each concurrency of the sweep,
     the best successful calls/s;
  4. open loop at each fraction of that maximum (0.5x ... 3x): what the
     generator really sent (a call it cannot send within --max_send_lag_ms
     of its schedule, its core being full, is skipped rather than sent
     late, so that its own lag stays out of the latencies and each level
     lasts its duration), goodput (OK calls/s), refusals
     (RESOURCE_EXHAUSTED/s), other errors/s, p99 of admitted and of refused
     calls, peak RSS during the level, and a single call's latency about
     1 s after the level's load stopped (the median of three calls).

With --server_cpu_quota F, each server also runs under a CPU quota of F of
its core (a cgroup, as a Kubernetes CPU limit of F cores would set), so
that the generator's whole core can offer 3x the maximum of a server whose
calls cost the generator about what they cost the server.

A run may also name flags of the load generator (--loadgen_flags), e.g. the
same server driven by callers that throttle themselves (--throttle_k): its
refusals then split into the server's and the callers' own ("throttled").

Every call has the same deadline (--timeout, 1 s). Standard library only.
Writes one JSON file (report.py overload turns it into tables and plots):

  overload_bench.py --server baseline=/path/movierec-server \\
      --server new=build/bin/movierec-server \\
      [--server new+throttle=build/bin/movierec-server] \\
      [--server_flags "new=--max_queue_wait 20ms"] \\
      [--loadgen_flags "new+throttle=--throttle_k 1.1"] \\
      --loadgen build/bin/movierec-loadgen --model_base MODELS \\
      --json results/overload.json --work /tmp/overload
"""

import argparse
import datetime
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (  # noqa: E402
    CpuQuota, add_run_arguments, write_result,
    build_info, cpu_list, free_port, read_rss_mb, start_logged)

RSS_INTERVAL_S = 0.1


def log(message):
    print(f"overload_bench: {message}", file=sys.stderr, flush=True)


class RssSampler(threading.Thread):
    """Samples a process' VmRSS every 100 ms: (seconds since t0, MB)."""

    def __init__(self, pid, t0):
        super().__init__(daemon=True)
        self.pid = pid
        self.t0 = t0
        self.samples = []
        self.stopping = threading.Event()

    def run(self):
        next_at = time.monotonic()
        while not self.stopping.is_set():
            rss = read_rss_mb(self.pid)
            if rss is None:
                return
            self.samples.append((time.monotonic() - self.t0, rss))
            next_at += RSS_INTERVAL_S
            self.stopping.wait(max(0.0, next_at - time.monotonic()))

    def peak(self, start, end):
        """The largest sample taken between start and end (seconds)."""
        inside = [mb for t, mb in self.samples if start <= t <= end]
        return max(inside) if inside else None

    def stop(self):
        self.stopping.set()
        self.join()


class Bench:
    def __init__(self, args):
        self.args = args
        self.model_dir = os.path.join(args.model_base, str(args.version))

    def loadgen(self, port, flags, name):
        """Runs movierec-loadgen pinned to the load generator's core and
        returns its JSON result."""
        out = os.path.join(self.args.work, f"{name}.json")
        cmd = ["taskset", "-c", self.args.loadgen_cpus, self.args.loadgen,
               "--target", f"127.0.0.1:{port}", "--model_dir", self.model_dir,
               "--timeout", f"{self.args.timeout}s", "--json", out] + flags
        with open(os.path.join(self.args.work, f"{name}.txt"), "w",
                  encoding="utf-8") as report:
            subprocess.run(cmd, check=True, stdout=report,
                           stderr=subprocess.DEVNULL)
        with open(out, encoding="utf-8") as f:
            return json.load(f)

    def probe(self, port, name):
        """A single call's latency (ms), the median of three, and how the
        slowest ended: a 10/s schedule whose first five calls, 0.5 s, are
        the warm-up (the connection is made), so the three counted calls go
        out about 0.5, 0.6 and 0.7 s after the probe starts."""
        result = self.loadgen(port, ["--rate", "10", "--warmup", "500ms",
                                     "--duration", "300ms"], name)
        if result["sent"] != 3:
            sys.exit(f"probe {name}: {result['sent']} calls counted, not 3")
        status = "OK" if result["ok"] == 3 else next(iter(result["errors"]))
        return result["latency_ms"]["p50"], status

    def start_server(self, name, binary, port):
        log_path = os.path.join(self.args.work, f"{name}-server.log")
        # An older server (the baseline) has no HTTP port to turn off.
        helped = subprocess.run([binary, "--helpfull"], capture_output=True,
                                text=True, check=False)
        help_text = helped.stdout + helped.stderr
        http = (["--http_port", "-1"] if "--http_port" in help_text
                else [])
        extra = shlex.split(self.args.server_flags.get(name, ""))
        return start_logged(
            ["taskset", "-c", self.args.server_cpus, binary,
             "--model_base", self.args.model_base, "--port", str(port),
             "--metrics_port", "-1", *http, "--poll_interval", "0",
             "--grace_period", "1s", *extra],
            log_path, "serving model version", binary)

    def run_server(self, name, binary, reference_max_qps=None):
        args = self.args
        # Read before the run: the tree may change under it (serving_compare).
        build = build_info(binary)
        port = free_port()
        log(f"{name}: starting {binary} on core(s) {args.server_cpus}")
        t0 = time.monotonic()
        proc = self.start_server(name, binary, port)
        quota = None
        if args.server_cpu_quota:
            quota = CpuQuota(args.server_cpu_quota,
                             round(args.cpu_quota_period_ms * 1000))
            quota.add(proc.pid)
            log(f"{name}: CPU quota {quota.fraction:g} of a core "
                f"(period {args.cpu_quota_period_ms:g} ms)")
        callers = shlex.split(args.loadgen_flags.get(name, ""))
        sampler = RssSampler(proc.pid, t0)
        sampler.start()
        phases = []

        def phase(label, start):
            phases.append({"phase": label, "start_s": start,
                           "end_s": time.monotonic() - t0})

        try:
            time.sleep(1)
            start = time.monotonic() - t0
            idle = [self.probe(port, f"{name}-idle-{i}")[0]
                    for i in range(3)]
            phase("idle", start)
            idle_ms = statistics.median(idle)
            log(f"{name}: idle call {idle_ms:.3f} ms")

            sweep = []
            for c in args.concurrencies:
                start = time.monotonic() - t0
                r = self.loadgen(port, [
                    "--concurrency", str(c), "--duration",
                    f"{args.closed_seconds}s", "--warmup",
                    f"{args.warmup_seconds}s", *callers],
                    f"{name}-closed-{c}")
                phase(f"closed {c}", start)
                sweep.append({
                    "concurrency": c, "qps": r["qps"], "ok_qps": r["ok_qps"],
                    "p50_ms": r["latency_ms"]["p50"],
                    "p99_ms": r["latency_ms"]["p99"], "errors": r["errors"],
                    "peak_rss_MB": sampler.peak(start, phases[-1]["end_s"])})
                log(f"{name}: closed loop, {c} in flight: "
                    f"{r['ok_qps']:,.0f} OK calls/s")
            best = max(sweep, key=lambda p: p["ok_qps"])
            own_max_qps = best["ok_qps"]
            if own_max_qps <= 0:
                sys.exit(f"{name}: no call succeeded in the closed loop")
            # The levels' base: this server's maximum, or the reference
            # server's (run before it), so that both get the same load.
            max_qps = reference_max_qps or own_max_qps
            time.sleep(1)

            levels = []
            for fraction in args.fractions:
                rate = fraction * max_qps
                start = time.monotonic() - t0
                throttled_before = quota.throttled_seconds() if quota else 0
                r = self.loadgen(port, [
                    "--rate", f"{rate:.1f}", "--duration",
                    f"{args.level_seconds}s", "--warmup",
                    f"{args.warmup_seconds}s", "--max_send_lag",
                    f"{args.max_send_lag_ms}ms", *callers],
                    f"{name}-open-{fraction:g}")
                stopped = time.monotonic()
                end = stopped - t0
                quota_throttled_s = (quota.throttled_seconds() -
                                     throttled_before if quota else None)
                phase(f"{fraction:g}x", start)
                # The single call: 0.5 s of sleep, then the probe's 0.5 s
                # warm-up (and its start-up): about 1 s after the load's end.
                time.sleep(0.5)
                after_ms, after_status = self.probe(
                    port, f"{name}-after-{fraction:g}")
                after_s = time.monotonic() - stopped
                # Rates over the time the calls were really sent in (longer
                # than the duration when the generator fell behind), so
                # that goodput + refusals + errors = offered.
                offered = r.get("send_qps", r["qps"])
                seconds = (r["sent"] / offered if offered > 0 else
                           r["duration_seconds"])
                errors = dict(r["errors"])
                # The caller's refusals: the server's and, with a throttle,
                # its own (never sent).
                refused = errors.pop("RESOURCE_EXHAUSTED", 0)
                throttled = r.get("throttled", 0)
                by_status = r.get("latency_ms_by_status", {})
                ok_lat = by_status.get("OK", {})
                refused_lat = by_status.get("RESOURCE_EXHAUSTED", {})
                throttled_lat = by_status.get("THROTTLED", {})
                level = {
                    "fraction": fraction, "rate": rate,
                    "offered_qps": offered,
                    "goodput_qps": r["ok"] / seconds,
                    "refused_qps": refused / seconds,
                    "throttled_qps": throttled / seconds,
                    "throttled_p99_ms": throttled_lat.get("p99"),
                    "other_error_qps": sum(errors.values()) / seconds,
                    "other_errors": errors,
                    "ok_p50_ms": ok_lat.get("p50"),
                    "ok_p99_ms": ok_lat.get("p99"),
                    "refused_p99_ms": refused_lat.get("p99"),
                    "all_p99_ms": r["latency_ms"]["p99"],
                    "max_send_lag_ms": r["max_send_lag_ms"],
                    "skipped_qps": r["skipped"] / r["duration_seconds"],
                    "peak_rss_MB": sampler.peak(start, end),
                    "after_ms": after_ms, "after_status": after_status,
                    "after_probe_s": after_s,
                    "quota_throttled_s": quota_throttled_s,
                    "start_s": start, "end_s": end,
                    "loadgen": r,
                }
                levels.append(level)
                log(f"{name}: {fraction:g}x ({rate:,.0f}/s): offered "
                    f"{level['offered_qps']:,.0f}/s, goodput "
                    f"{level['goodput_qps']:,.0f}/s, refused "
                    f"{level['refused_qps']:,.0f}/s, other errors "
                    f"{level['other_error_qps']:,.0f}/s, p99 OK "
                    f"{level['ok_p99_ms'] or 0:.1f} ms, peak RSS "
                    f"{level['peak_rss_MB'] or 0:.0f} MB, a call after: "
                    f"{after_ms:.2f} ms")
                time.sleep(1)
        finally:
            sampler.stop()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if quota:
                quota.remove()
        return {
            "name": name, "build": build,
            "flags": args.server_flags.get(name, ""),
            "loadgen_flags": args.loadgen_flags.get(name, ""),
            "max_qps": max_qps,
            "own_max_qps": own_max_qps,
            "best_concurrency": best["concurrency"], "sweep": sweep,
            "idle_ms": idle_ms, "idle_probes_ms": idle, "levels": levels,
            "phases": phases,
            "rss_MB": [[round(t, 3), round(mb, 1)] for t, mb in
                       sampler.samples],
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", action="append", required=True,
                        help="NAME=PATH of a movierec-server binary; "
                        "repeated, run in this order")
    parser.add_argument("--server_flags", action="append", default=[],
                        help="NAME=FLAGS: more flags for the server NAME "
                        "(e.g. new='--max_queue_wait 20ms'); repeated")
    parser.add_argument("--loadgen_flags", action="append", default=[],
                        help="NAME=FLAGS: more flags of movierec-loadgen "
                        "when it drives the server NAME (e.g. "
                        "'new+throttle=--throttle_k 1.1'); repeated")
    parser.add_argument("--levels_from", default="",
                        help="NAME of a --server (run first): every server's "
                        "open-loop levels are fractions of that one's "
                        "closed-loop maximum (default: each its own)")
    add_run_arguments(parser)
    parser.add_argument("--timeout", type=float, default=1.0,
                        help="deadline of every call, seconds")
    parser.add_argument("--concurrencies", default="8,16,32,64,128")
    parser.add_argument("--fractions", default="0.5,1,1.5,2,3")
    parser.add_argument("--closed_seconds", type=float, default=10)
    parser.add_argument("--level_seconds", type=float, default=30)
    parser.add_argument("--warmup_seconds", type=float, default=1)
    parser.add_argument("--server_cpu_quota", type=float, default=0,
                        help="run each server under a CPU quota of this "
                        "fraction of its core (a cgroup; needs root); 0: "
                        "none")
    parser.add_argument("--cpu_quota_period_ms", type=float, default=5,
                        help="the quota's period: the longest the quota "
                        "holds a server back is (1 - fraction) of it")
    parser.add_argument("--max_send_lag_ms", type=float, default=1,
                        help="open loop: calls the generator cannot send "
                        "within this of their schedule are skipped")
    args = parser.parse_args()
    args.concurrencies = [int(c) for c in args.concurrencies.split(",")]
    args.fractions = [float(f) for f in args.fractions.split(",")]
    servers = []
    for spec in args.server:
        name, sep, path = spec.partition("=")
        if not sep or not os.access(path, os.X_OK):
            sys.exit(f"--server {spec}: give NAME=PATH of an executable")
        servers.append((name, path))
    flags = {}
    for spec in args.server_flags:
        name, sep, value = spec.partition("=")
        if not sep or name not in {n for n, _ in servers}:
            sys.exit(f"--server_flags {spec}: give NAME=FLAGS of a --server")
        flags[name] = value
    args.server_flags = flags
    callers = {}
    for spec in args.loadgen_flags:
        name, sep, value = spec.partition("=")
        if not sep or name not in {n for n, _ in servers}:
            sys.exit(f"--loadgen_flags {spec}: give NAME=FLAGS of a --server")
        callers[name] = value
    args.loadgen_flags = callers
    os.makedirs(args.work, exist_ok=True)
    # The harness (its RSS sampler, the probes' start-up) stays off the
    # server's core.
    os.sched_setaffinity(0, cpu_list(args.loadgen_cpus))
    loadgen_build = build_info(args.loadgen)
    bench = Bench(args)
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "load_avg": list(os.getloadavg()),
        "model": os.path.abspath(bench.model_dir),
        "server_cpus": args.server_cpus, "loadgen_cpus": args.loadgen_cpus,
        "timeout_seconds": args.timeout,
        "closed_seconds": args.closed_seconds,
        "level_seconds": args.level_seconds,
        "warmup_seconds": args.warmup_seconds,
        "max_send_lag_ms": args.max_send_lag_ms,
        "server_cpu_quota": args.server_cpu_quota,
        "cpu_quota_period_ms": args.cpu_quota_period_ms,
        "concurrencies": args.concurrencies, "fractions": args.fractions,
        "loadgen_build": loadgen_build,
        "levels_from": args.levels_from,
        "servers": [],
    }
    if args.levels_from:
        names = [name for name, _ in servers]
        if args.levels_from not in names:
            sys.exit(f"--levels_from {args.levels_from}: not a --server")
        servers.sort(key=lambda s: s[0] != args.levels_from)
    reference = None
    for name, path in servers:
        run = bench.run_server(name, path, reference)
        if name == args.levels_from:
            reference = run["max_qps"]
        result["servers"].append(run)
    write_result(args.json, result)


if __name__ == "__main__":
    main()
