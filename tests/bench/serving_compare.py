#!/usr/bin/env python3
"""movierec-server against the floor of a unary gRPC call, side by side in
one run, each server in a process of its own.

Two servers (three with --payload), started once and pinned to the same
core (taskset), and movierec-loadgen in a third process on another core:

  empty     build/bin/empty_server: a plain gRPC server (callback API) that
            finishes every call inline on gRPC's thread with an empty
            response: what a unary call costs gRPC alone;
  payload   (--payload) the same server answering a fixed ten-movie
            response: what carrying movierec's messages costs;
  movierec  movierec-server on --model_base, one worker thread per core of
            --server_cpus; --server NAME=PATH, repeated, runs several
            builds side by side (e.g. main=... and new=...).

For each repetition, for each method (Recommend, SimilarMovies,
RecommendBatch of --batch_size requests), movierec-loadgen sends the same
requests to each server in a closed loop, the concurrency doubling from 1;
at each level the servers take turns, so that a change of the machine's
load touches them alike. A server stops rising once two levels in a row
fail to beat its best OK calls/s by --min_rise (3%). At each level: OK
calls/s, p50, p99 and the server's CPU time per OK call, read from
/proc/PID/stat (utime + stime of all its threads) before and after the
level, over every call of the level (warm-up included; calls that failed
are charged to those that succeeded).

Per server and method the result keeps the level of most OK calls/s; the
medians over the repetitions are what report.py compare tabulates, with the
ratios to the empty server's call of the same method. The BLAS each server
process loaded (from /proc/PID/maps) is recorded. Standard library only:

  serving_compare.py --empty_server build/bin/empty_server \\
      --server build/bin/movierec-server \\
      --loadgen build/bin/movierec-loadgen --model_base MODELS \\
      --json results/compare.json --work /tmp/compare
"""

import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (  # noqa: E402
    add_run_arguments, write_result,
    build_info, cpu_list, cpu_seconds, free_port, loaded_blas, start_logged,
    stop)

METHODS = ("Recommend", "SimilarMovies", "RecommendBatch")


def log(message):
    print(f"serving_compare: {message}", file=sys.stderr, flush=True)


class Server:
    """One server process: its name, pid and port."""

    def __init__(self, name, proc, port):
        self.name, self.proc, self.port = name, proc, port


class Bench:
    def __init__(self, args):
        self.args = args
        self.model_dir = os.path.join(args.model_base, str(args.version))

    def start(self):
        args = self.args
        pin = ["taskset", "-c", args.server_cpus]
        servers = []
        modes = ["empty"] + (["payload"] if args.payload else [])
        for mode in modes:
            port = free_port()
            proc = start_logged(
                pin + [args.empty_server, "--port", str(port),
                       "--response", mode],
                os.path.join(args.work, f"{mode}-server.log"),
                "empty_server listening", args.empty_server)
            servers.append(Server(mode, proc, port))
        for name, path, flags in args.servers:
            port = free_port()
            proc = start_logged(
                pin + [path, "--model_base", args.model_base,
                       "--port", str(port), "--http_port", "-1",
                       "--metrics_port", "-1", "--poll_interval", "0",
                       "--worker_threads",
                       str(len(cpu_list(args.server_cpus))),
                       "--grace_period", "1s"] + args.server_flags.split() +
                flags,
                os.path.join(args.work, f"{name}-server.log"),
                "serving model version", path)
            servers.append(Server(name, proc, port))
        return servers

    def level(self, server, method, concurrency, tag):
        """One closed-loop run of `method` against `server`; its figures."""
        args = self.args
        name = f"{tag}-{server.name}-{method}-{concurrency}"
        out = os.path.join(args.work, f"{name}.json")
        cmd = ["taskset", "-c", args.loadgen_cpus, args.loadgen,
               "--target", f"127.0.0.1:{server.port}",
               "--model_dir", self.model_dir, "--method", method,
               "--batch_size", str(args.batch_size),
               "--concurrency", str(concurrency),
               "--duration", f"{args.level_seconds}s",
               "--warmup", f"{args.warmup_seconds}s",
               "--timeout", f"{args.timeout}s", "--json", out]
        cpu_before = cpu_seconds(server.proc.pid)
        wall_before = time.monotonic()
        with open(os.path.join(args.work, f"{name}.txt"), "w",
                  encoding="utf-8") as report:
            subprocess.run(cmd, check=True, stdout=report,
                           stderr=subprocess.STDOUT)
        wall = time.monotonic() - wall_before
        cpu = cpu_seconds(server.proc.pid) - cpu_before
        with open(out, encoding="utf-8") as f:
            r = json.load(f)
        # Warm-up calls are not sorted by status: count them as OK unless
        # the measured calls failed too.
        ok_calls = r["ok"] + (r["warmup_calls"] if r["ok"] else 0)
        return {
            "concurrency": concurrency, "qps": r["qps"],
            "ok_qps": r["ok_qps"], "p50_ms": r["latency_ms"]["p50"],
            "p99_ms": r["latency_ms"]["p99"], "errors": r["errors"],
            "error_messages": r["error_messages"], "ok_calls": ok_calls,
            "server_cpu_s": cpu, "wall_s": wall,
            "server_cpu_us_per_call": (cpu / ok_calls * 1e6 if ok_calls
                                       else None),
            "server_cpu_share": cpu / wall if wall > 0 else None,
        }

    def sweep(self, servers, method, tag):
        """Every server's closed-loop levels for `method`, taking turns,
        until each stops rising: {server name: [level, ...]}."""
        args = self.args
        levels = {s.name: [] for s in servers}
        best = {s.name: 0.0 for s in servers}
        flat = {s.name: 0 for s in servers}
        active = list(servers)
        for concurrency in args.concurrencies:
            for server in list(active):
                lv = self.level(server, method, concurrency, tag)
                levels[server.name].append(lv)
                log(f"{tag} {method} {server.name}, {concurrency} in flight:"
                    f" {lv['ok_qps']:,.0f} OK calls/s, p50 "
                    f"{lv['p50_ms']:.3f} ms, p99 {lv['p99_ms']:.3f} ms, "
                    f"server {lv['server_cpu_us_per_call'] or 0:.1f} CPU "
                    f"us/call, errors {lv['errors']}")
                if lv["ok_qps"] > best[server.name] * (1 + args.min_rise):
                    best[server.name] = lv["ok_qps"]
                    flat[server.name] = 0
                else:
                    flat[server.name] += 1
                    if flat[server.name] >= args.flat_levels:
                        active.remove(server)
            if not active:
                break
        return levels

    def run(self):
        args = self.args
        servers = self.start()
        runs = []
        try:
            blas = {s.name: loaded_blas(s.proc.pid) for s in servers}
            time.sleep(1)
            for rep in range(args.repetitions):
                for method in args.methods:
                    levels = self.sweep(servers, method, f"rep{rep}")
                    runs.append({"repetition": rep, "method": method,
                                 "levels": levels})
        finally:
            for server in servers:
                stop(server.proc)
        return [s.name for s in servers], blas, runs


def summarize(names, runs, batch_size, movierec=("movierec",)):
    """Per method and server: the medians over the repetitions of the best
    level's figures, and the ratios to the empty server's; for each
    movierec server (`movierec`), a batch's CPU per request over its own
    single Recommend's."""
    summary = {}
    for method in dict.fromkeys(r["method"] for r in runs):
        rows = {}
        for name in names:
            bests = []
            for run in runs:
                if run["method"] != method or not run["levels"][name]:
                    continue
                bests.append(max(run["levels"][name],
                                 key=lambda lv: lv["ok_qps"]))
            if not bests:
                continue
            one = [lv for run in runs if run["method"] == method
                   for lv in run["levels"][name] if lv["concurrency"] == 1]

            def med(key, levels=bests):
                values = [lv[key] for lv in levels if lv[key] is not None]
                return statistics.median(values) if values else None
            rows[name] = {
                "max_qps": med("ok_qps"),
                "max_qps_range": [min(b["ok_qps"] for b in bests),
                                  max(b["ok_qps"] for b in bests)],
                "concurrency": [b["concurrency"] for b in bests],
                "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"),
                "cpu_us_per_call": med("server_cpu_us_per_call"),
                "cpu_us_per_call_range": [
                    min(b["server_cpu_us_per_call"] or 0 for b in bests),
                    max(b["server_cpu_us_per_call"] or 0 for b in bests)],
                "p50_ms_at_1": med("p50_ms", one) if one else None,
                "errors": sum(sum(b["errors"].values()) for b in bests),
            }
        empty = rows.get("empty")
        for row in rows.values():
            if empty and empty["max_qps"]:
                row["qps_over_empty"] = row["max_qps"] / empty["max_qps"]
            if empty and empty["cpu_us_per_call"] and row["cpu_us_per_call"]:
                row["cpu_over_empty"] = (row["cpu_us_per_call"] /
                                         empty["cpu_us_per_call"])
        if method == "RecommendBatch":
            for row in rows.values():
                if row["cpu_us_per_call"] is not None:
                    row["cpu_us_per_request"] = (row["cpu_us_per_call"] /
                                                 batch_size)
        summary[method] = rows
    for name in movierec:
        single = summary.get("Recommend", {}).get(name)
        batch = summary.get("RecommendBatch", {}).get(name)
        if single and batch and single["cpu_us_per_call"]:
            batch["cpu_per_request_over_recommend"] = (
                batch["cpu_us_per_request"] / single["cpu_us_per_call"])
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--empty_server", required=True)
    parser.add_argument("--server", action="append", required=True,
                        help="a movierec-server binary, PATH (named "
                        "movierec) or NAME=PATH, then this server's own "
                        "flags after spaces (\"uncached=bin/movierec-server "
                        "--result_cache 0\"); repeated, several run side by "
                        "side")
    add_run_arguments(parser)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--batch_size", type=int, default=100,
                        help="RecommendBatch: requests per batch")
    parser.add_argument("--payload", action="store_true",
                        help="also the empty server answering a fixed "
                        "ten-movie response")
    parser.add_argument("--server_flags", default="",
                        help="more flags for movierec-server")
    parser.add_argument("--timeout", type=float, default=1.0,
                        help="deadline of every call, seconds")
    parser.add_argument("--concurrencies",
                        default="1,2,4,8,16,32,64,128,256")
    parser.add_argument("--level_seconds", type=float, default=5)
    parser.add_argument("--warmup_seconds", type=float, default=1)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--min_rise", type=float, default=0.03,
                        help="a level raises the best OK calls/s when it "
                        "beats it by this fraction")
    parser.add_argument("--flat_levels", type=int, default=2,
                        help="levels in a row without a rise that end a "
                        "server's sweep")
    args = parser.parse_args()
    try:
        args.concurrencies = [int(c) for c in args.concurrencies.split(",")]
    except ValueError:
        sys.exit(f"--concurrencies {args.concurrencies}: give positive "
                 "integers separated by commas")
    if min(args.concurrencies) < 1:
        sys.exit(f"--concurrencies: {min(args.concurrencies)} is not >= 1")
    args.methods = [m for m in args.methods.split(",") if m]
    for m in args.methods:
        if m not in METHODS:
            sys.exit(f"--methods: {m} is none of {', '.join(METHODS)}")
    args.servers = []
    for spec in args.server:
        name, sep, command = spec.partition("=")
        if not sep or " " in name:
            name, command = "movierec", spec
        words = shlex.split(command)
        if not words:
            sys.exit(f"--server {spec}: no binary")
        if name in ("empty", "payload", "loadgen") or not name or name in (
                n for n, _, _ in args.servers):
            sys.exit(f"--server {spec}: give distinct names other than "
                     "empty, payload and loadgen")
        args.servers.append((name, words[0], words[1:]))
    for path in [args.empty_server, args.loadgen] + [
            p for _, p, _ in args.servers]:
        if not os.access(path, os.X_OK):
            sys.exit(f"{path} is not an executable")
    if not os.path.isdir(os.path.join(args.model_base, str(args.version))):
        sys.exit(f"--model_base {args.model_base}: no version "
                 f"{args.version} in it")
    if args.repetitions < 1 or not 1 <= args.batch_size <= 100:
        sys.exit("--repetitions must be >= 1, --batch_size 1 to 100")
    os.makedirs(args.work, exist_ok=True)
    # The harness stays off the servers' core.
    os.sched_setaffinity(0, cpu_list(args.loadgen_cpus))
    bench = Bench(args)
    # Read before the run, which takes a while: the tree may change under it
    # while the binaries stay what they were built from.
    builds = {"empty": build_info(args.empty_server),
              "loadgen": build_info(args.loadgen),
              **{name: build_info(path) for name, path, _ in args.servers}}
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = list(os.getloadavg())
    names, blas, runs = bench.run()
    result = {
        "date": started.isoformat(timespec="seconds"),
        "load_avg": load_before,
        "load_avg_after": list(os.getloadavg()),
        "model": os.path.abspath(bench.model_dir),
        "server_cpus": args.server_cpus, "loadgen_cpus": args.loadgen_cpus,
        "timeout_seconds": args.timeout,
        "level_seconds": args.level_seconds,
        "warmup_seconds": args.warmup_seconds,
        "repetitions": args.repetitions, "min_rise": args.min_rise,
        "flat_levels": args.flat_levels, "batch_size": args.batch_size,
        "server_flags": args.server_flags,
        "own_server_flags": {name: " ".join(flags)
                             for name, _, flags in args.servers if flags},
        "builds": builds,
        "blas": blas, "servers": names,
        "movierec_servers": [name for name, _, _ in args.servers],
        "runs": runs,
        "summary": summarize(names, runs, args.batch_size,
                             [name for name, _, _ in args.servers]),
    }
    write_result(args.json, result)


if __name__ == "__main__":
    main()
