#!/usr/bin/env python3
"""Recommend through gRPC as the catalogue grows: the default pipeline
trained on synthetic catalogues of --sizes movies, each served and measured
against the empty call side by side (serving_compare.py), then at half of
its own maximum load (open loop).

For each size:
  1. a synthetic data set (synthetic_dataset, the generic format) of that
     many movies, with users and interactions in proportion (130 a user, as
     in MovieLens 25M), written once into --data_cache;
  2. movierec-train's default preset on it (its retrieval index as `auto`
     picks it: exact below the threshold, IVF above), into --data_cache,
     kept with the trainer's commit and retrained when that commit changes
     (or with --retrain);
  3. serving_compare.py --methods Recommend: the empty server and
     movierec-server pinned to --server_cpus, movierec-loadgen on
     --loadgen_cpus, the concurrency doubling until QPS stops rising,
     --repetitions repetitions, medians;
  4. movierec-server alone at half its median maximum OK calls/s, open loop
     for --half_load_seconds, --repetitions times: p50, p99 and the server's
     CPU time per call.

Writes one JSON document (--json) for report.py catalogue. Standard library
only.
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (build_info, cpu_seconds, free_port,  # noqa: E402
                          start_logged, stop, synthetic_data,
                          write_result)

INTERACTIONS_PER_USER = 130
MAX_USERS = 60000


def log(message):
    print(f"catalogue_bench: {message}", file=sys.stderr, flush=True)


def spec(movies):
    """Users and interactions of the data set of `movies` movies: a user
    per two movies, from MovieLens 100K's 943 up to MAX_USERS (the training
    time of the largest), 130 interactions each."""
    users = min(MAX_USERS, max(943, movies // 2))
    return {"movies": movies, "users": users,
            "interactions": users * INTERACTIONS_PER_USER}


def ensure_data(args, s):
    return synthetic_data(
        os.path.join(args.bin, "synthetic_dataset"),
        os.path.join(args.data_cache, f"data-{s['movies']}-{s['users']}-"
                     f"{s['interactions']}"),
        ["--users", str(s["users"]), "--items", str(s["movies"]),
         "--interactions", str(s["interactions"])],
        f"a synthetic data set of {s['movies']:,} movies")


def ensure_model(args, s, data):
    """The model base trained on `data`, and what trained it."""
    train = os.path.join(args.bin, "movierec-train")
    trainer = args.code or build_info(train).get("commit", "unknown")
    model_base = os.path.join(args.data_cache, f"models-{s['movies']}")
    stamp = os.path.join(model_base, "trained-by.json")
    if not args.retrain and os.path.exists(stamp):
        with open(stamp, encoding="utf-8") as f:
            kept = json.load(f)
        if kept.get("commit") == trainer and not trainer.endswith("-dirty"):
            return model_base, kept
    shutil.rmtree(model_base, ignore_errors=True)
    os.makedirs(args.work, exist_ok=True)
    log_path = os.path.join(args.work, f"train-{s['movies']}.log")
    log(f"movierec-train on {s['movies']:,} movies (log: {log_path})")
    start = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as logf:
        done = subprocess.run(
            [train, "--data_dir", data, "--model_base", model_base],
            stdout=logf, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            sys.exit(f"movierec-train failed on {s['movies']} movies:\n"
                     f"{f.read()[-4000:]}")
    with open(os.path.join(model_base, "1", "metrics.json"),
              encoding="utf-8") as f:
        metrics = json.load(f)
    kept = {"commit": trainer,
            "train_minutes": (time.monotonic() - start) / 60,
            "index": metrics.get("index"),
            "ndcg_at_10": (metrics.get("pipeline") or {}).get("ndcg_at_10")}
    with open(stamp, "w", encoding="utf-8") as f:
        json.dump(kept, f, indent=1)
    return model_base, kept


def compare(args, s, model_base):
    """serving_compare.py's Recommend sweep on `model_base`."""
    out = os.path.join(args.work, f"compare-{s['movies']}.json")
    subprocess.run(
        [sys.executable, os.path.join(os.path.dirname(__file__),
                                      "serving_compare.py"),
         "--empty_server", os.path.join(args.bin, "empty_server"),
         "--server", os.path.join(args.bin, "movierec-server"),
         "--loadgen", os.path.join(args.bin, "movierec-loadgen"),
         "--model_base", model_base, "--methods", "Recommend",
         "--server_cpus", args.server_cpus,
         "--loadgen_cpus", args.loadgen_cpus,
         "--repetitions", str(args.repetitions),
         "--level_seconds", str(args.level_seconds),
         "--concurrencies", args.concurrencies,
         "--server_flags", args.server_flags,
         "--json", out, "--work", os.path.join(args.work, "compare")],
        check=True)
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def half_load(args, s, model_base, qps):
    """movierec-server at `qps` calls/s, open loop: per repetition p50, p99
    and its CPU time per OK call."""
    port = free_port()
    server = start_logged(
        ["taskset", "-c", args.server_cpus,
         os.path.join(args.bin, "movierec-server"), "--model_base",
         model_base, "--port", str(port), "--http_port", "-1",
         "--metrics_port", "-1", "--poll_interval", "0",
         "--grace_period", "1s"] + args.server_flags.split(),
        os.path.join(args.work, f"half-{s['movies']}-server.log"),
        "serving model version", "movierec-server", timeout_s=600)
    with open(os.path.join(args.work, f"half-{s['movies']}-server.log"),
              encoding="utf-8", errors="replace") as f:
        served = [line for line in f if "serving model version" in line]
    # "... (N movies, index ivf(nlist=..., ...))": the index, without the
    # line's closing parenthesis.
    index = (served[-1].rstrip("\n").split(", index ", 1)[-1][:-1]
             if served else None)
    runs = []
    try:
        for rep in range(args.repetitions):
            out = os.path.join(args.work, f"half-{s['movies']}-{rep}.json")
            before = cpu_seconds(server.pid)
            with open(os.path.join(args.work,
                                   f"half-{s['movies']}-{rep}.txt"), "w",
                      encoding="utf-8") as report:
                subprocess.run(
                    ["taskset", "-c", args.loadgen_cpus,
                     os.path.join(args.bin, "movierec-loadgen"),
                     "--target", f"127.0.0.1:{port}", "--model_dir",
                     os.path.join(model_base, "1"), "--method", "Recommend",
                     "--rate", f"{qps:.0f}",
                     "--duration", f"{args.half_load_seconds}s",
                     "--warmup", "1s", "--timeout", "1s", "--json", out],
                    check=True, stdout=report, stderr=subprocess.STDOUT)
            cpu = cpu_seconds(server.pid) - before
            with open(out, encoding="utf-8") as f:
                r = json.load(f)
            calls = r["ok"] + r["warmup_calls"]
            runs.append({"qps": r["qps"], "ok_qps": r["ok_qps"],
                         "p50_ms": r["latency_ms"]["p50"],
                         "p99_ms": r["latency_ms"]["p99"],
                         "errors": r["errors"],
                         "server_cpu_us_per_call":
                             cpu / calls * 1e6 if calls else None})
            log(f"{s['movies']:,} movies at {qps:,.0f} calls/s: p50 "
                f"{runs[-1]['p50_ms']:.3f} ms, p99 {runs[-1]['p99_ms']:.3f}"
                f" ms, errors {r['errors']}")
    finally:
        stop(server)
    return {"offered_qps": qps, "runs": runs, "index": index,
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="the build's bin/")
    parser.add_argument("--sizes", default="1682,10000,100000,1000000")
    parser.add_argument("--data_cache", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--json", required=True)
    parser.add_argument("--code", help="the commit the binaries were built "
                        "from (default: the source tree's, read at the "
                        "start)")
    parser.add_argument("--retrain", action="store_true",
                        help="train every model again, even when the "
                        "cached one is from this trainer's commit")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--level_seconds", type=float, default=5)
    parser.add_argument("--half_load_seconds", type=float, default=10)
    parser.add_argument("--concurrencies", default="1,2,4,8,16,32,64,128")
    # Without the result cache: the load generator asks for the same known
    # users again and again, and this measures what computing a call costs
    # as the catalogue grows.
    parser.add_argument("--server_flags",
                        default="--max_queue_wait 1s --result_cache 0")
    parser.add_argument("--server_cpus", default="0")
    parser.add_argument("--loadgen_cpus", default="1")
    args = parser.parse_args()
    try:
        sizes = [int(x) for x in args.sizes.split(",")]
    except ValueError:
        sys.exit(f"--sizes {args.sizes}: give movie counts separated by "
                 "commas")
    if not sizes or min(sizes) < 200:
        sys.exit(f"--sizes {args.sizes}: every size must be >= 200 movies")
    if args.repetitions < 1:
        sys.exit("--repetitions must be >= 1")
    os.makedirs(args.data_cache, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)
    # The commit the binaries were built from, read now: the tree may change
    # during the run (run_benchmarks.sh passes what it saw with --code).
    build = build_info(os.path.join(args.bin, "movierec-server"))
    if args.code:
        build["commit"] = args.code
    args.code = args.code or build.get("commit")
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = list(os.getloadavg())
    rows = []
    for movies in sizes:
        s = spec(movies)
        data = ensure_data(args, s)
        model_base, trained = ensure_model(args, s, data)
        result = compare(args, s, model_base)
        summary = result["summary"]["Recommend"]
        half = half_load(args, s, model_base,
                         summary["movierec"]["max_qps"] / 2)
        rows.append({**s, "trained": trained, "compare": summary,
                     "compare_load_avg": [result["load_avg"],
                                          result["load_avg_after"]],
                     "blas": result.get("blas", {}).get("movierec"),
                     "half_load": half})
    write_result(args.json, {
        "date": started.isoformat(timespec="seconds"),
        "load_avg": load_before, "load_avg_after": list(os.getloadavg()),
        "server_cpus": args.server_cpus, "loadgen_cpus": args.loadgen_cpus,
        "repetitions": args.repetitions, "server_flags": args.server_flags,
        "build": build,
        "sizes": rows})


if __name__ == "__main__":
    main()
