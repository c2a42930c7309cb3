#!/usr/bin/env python3
"""gRPC against HTTP/JSON: the same Recommend requests over each transport of
one server, side by side in one run.

One movierec-server, pinned to one core (taskset), answers both its gRPC
port and its HTTP port; movierec-loadgen, pinned to another core, drives
each in a closed loop (--transport grpc: gRPC's callback API on one channel;
--transport http: one keep-alive connection per call in flight). The
concurrency doubles level by level, the two transports taking turns at
each level so that a change of the machine's load touches both alike; a
transport stops once two levels in a row fail to raise its best OK calls/s
by --min_rise (5%): its throughput has stopped rising. At each level:
calls/s, p50 and p99, and the server's CPU time per call, read from
/proc/PID/stat (utime + stime of all its threads) before and after the
level, over every call of the level (warm-up calls included).

The server gets --http_threads as large as the largest concurrency, so
that HTTP connections never wait for a thread, and --worker_threads 1 (its
one core). Standard library only. Writes one JSON file (report.py transport
turns it into the table of BENCHMARKS.md):

  transport_bench.py --server build/bin/movierec-server \\
      --loadgen build/bin/movierec-loadgen --model_base MODELS \\
      --json results/transport.json --work /tmp/transport
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (  # noqa: E402
    add_run_arguments, write_result,
    build_info, cpu_list, cpu_seconds, free_port, start_logged, stop)

TRANSPORTS = ("grpc", "http")


def log(message):
    print(f"transport_bench: {message}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.model_dir = os.path.join(args.model_base, str(args.version))

    def start_server(self):
        args = self.args
        self.grpc_port, self.http_port = free_port(), free_port()
        log_path = os.path.join(args.work, "server.log")
        return start_logged(
            ["taskset", "-c", args.server_cpus, args.server,
             "--model_base", args.model_base,
             "--port", str(self.grpc_port),
             "--http_port", str(self.http_port),
             "--http_threads", str(max(args.concurrencies)),
             "--worker_threads", str(len(cpu_list(args.server_cpus))),
             "--metrics_port", "-1", "--poll_interval", "0",
             "--grace_period", "1s"],
            log_path, "serving model version", args.server)

    def level(self, pid, transport, concurrency):
        """One closed-loop run; its figures."""
        args = self.args
        name = f"{transport}-{concurrency}"
        out = os.path.join(args.work, f"{name}.json")
        port = self.grpc_port if transport == "grpc" else self.http_port
        cmd = ["taskset", "-c", args.loadgen_cpus, args.loadgen,
               "--transport", transport, "--target", f"127.0.0.1:{port}",
               "--model_dir", self.model_dir, "--method", "Recommend",
               "--concurrency", str(concurrency),
               "--duration", f"{args.level_seconds}s",
               "--warmup", f"{args.warmup_seconds}s",
               "--timeout", f"{args.timeout}s", "--json", out]
        cpu_before = cpu_seconds(pid)
        wall_before = time.monotonic()
        with open(os.path.join(args.work, f"{name}.txt"), "w",
                  encoding="utf-8") as report:
            subprocess.run(cmd, check=True, stdout=report,
                           stderr=subprocess.STDOUT)
        wall = time.monotonic() - wall_before
        cpu = cpu_seconds(pid) - cpu_before
        with open(out, encoding="utf-8") as f:
            r = json.load(f)
        calls = r["sent"] + r["warmup_calls"]
        return {
            "transport": transport, "concurrency": concurrency,
            "qps": r["qps"], "ok_qps": r["ok_qps"],
            "p50_ms": r["latency_ms"]["p50"], "p99_ms": r["latency_ms"]["p99"],
            "errors": r["errors"], "error_messages": r["error_messages"],
            "calls": calls, "server_cpu_s": cpu, "wall_s": wall,
            "server_cpu_us_per_call": cpu / calls * 1e6 if calls else None,
            "server_cpu_share": cpu / wall if wall > 0 else None,
        }

    def run(self):
        args = self.args
        proc = self.start_server()
        log(f"server on core(s) {args.server_cpus}: gRPC {self.grpc_port}, "
            f"HTTP {self.http_port}; loadgen on {args.loadgen_cpus}")
        levels = []
        best = {t: 0.0 for t in TRANSPORTS}
        flat = {t: 0 for t in TRANSPORTS}
        active = list(TRANSPORTS)
        try:
            time.sleep(1)
            for concurrency in args.concurrencies:
                for transport in list(active):
                    level = self.level(proc.pid, transport, concurrency)
                    levels.append(level)
                    log(f"{transport}, {concurrency} in flight: "
                        f"{level['ok_qps']:,.0f} OK calls/s, p50 "
                        f"{level['p50_ms']:.2f} ms, p99 "
                        f"{level['p99_ms']:.2f} ms, server "
                        f"{level['server_cpu_us_per_call'] or 0:.1f} "
                        f"CPU us/call, errors {level['errors']}")
                    if level["ok_qps"] > best[transport] * (1 + args.min_rise):
                        best[transport] = level["ok_qps"]
                        flat[transport] = 0
                    else:
                        flat[transport] += 1
                        if flat[transport] >= 2:
                            log(f"{transport}: no rise for two levels; done")
                            active.remove(transport)
                    time.sleep(0.5)
                if not active:
                    break
        finally:
            stop(proc)
        return levels


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    add_run_arguments(parser)
    parser.add_argument("--timeout", type=float, default=1.0,
                        help="deadline of every call, seconds")
    parser.add_argument("--concurrencies", default="1,2,4,8,16,32,64,128")
    parser.add_argument("--level_seconds", type=float, default=10)
    parser.add_argument("--warmup_seconds", type=float, default=1)
    parser.add_argument("--min_rise", type=float, default=0.05,
                        help="a level raises the best OK calls/s when it "
                        "beats it by this fraction")
    args = parser.parse_args()
    args.concurrencies = [int(c) for c in args.concurrencies.split(",")]
    for path in (args.server, args.loadgen):
        if not os.access(path, os.X_OK):
            sys.exit(f"{path} is not an executable")
    os.makedirs(args.work, exist_ok=True)
    # The harness stays off the server's core.
    os.sched_setaffinity(0, cpu_list(args.loadgen_cpus))
    bench = Bench(args)
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "load_avg": list(os.getloadavg()),
        "model": os.path.abspath(bench.model_dir),
        "server_cpus": args.server_cpus, "loadgen_cpus": args.loadgen_cpus,
        "timeout_seconds": args.timeout,
        "level_seconds": args.level_seconds,
        "warmup_seconds": args.warmup_seconds,
        "min_rise": args.min_rise,
        "server_build": build_info(args.server),
        "loadgen_build": build_info(args.loadgen),
        "levels": bench.run(),
    }
    write_result(args.json, result)


if __name__ == "__main__":
    main()
