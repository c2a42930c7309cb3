#!/usr/bin/env python3
"""Training at scale: movierec-train's default preset end to end on
synthetic data sets shaped like MovieLens 100K, 1M and 25M (the generic
format, written by synthetic_dataset), then the largest version served.

For each shape: the data set is written once (into --data_cache), the
trainer runs on it with --stage_report (each stage's wall time and peak
resident memory, each training stage's examples/s) into a fresh model base,
and its wall time is measured here. Then movierec-server loads the version
of the last shape, and movierec-client asks it for a user's top 10: the
seconds until the server serves, its resident memory, and the answer.

Writes one JSON document (--json) for report.py scale. Standard library
only.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

from bench_common import (free_port, read_rss_mb, start_logged, stop,
                          synthetic_data, write_result)


def log(message):
    print(f"scale_bench: {message}", file=sys.stderr, flush=True)


def ensure_data(args, shape):
    """The synthetic data set of `shape`, written once into the cache."""
    return synthetic_data(args.synthetic_dataset,
                          os.path.join(args.data_cache, shape),
                          ["--shape", shape], f"the synthetic {shape} data set")


def train(args, shape, data):
    """movierec-train on `data`: its stage report and wall time."""
    model_base = os.path.join(args.work, f"models-{shape}")
    shutil.rmtree(model_base, ignore_errors=True)
    report = os.path.join(args.work, f"stages-{shape}.json")
    log_path = os.path.join(args.work, f"train-{shape}.log")
    log(f"movierec-train on {shape} ({data})")
    start = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as logf:
        done = subprocess.run(
            [args.train, "--data_dir", data, "--model_base", model_base,
             "--stage_report", report],
            stdout=logf, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            sys.exit(f"movierec-train failed on {shape}:\n{f.read()[-4000:]}")
    with open(report, encoding="utf-8") as f:
        stages = json.load(f)
    with open(os.path.join(model_base, "1", "metrics.json"),
              encoding="utf-8") as f:
        metrics = json.load(f)
    return model_base, {
        "shape": shape, "wall_seconds": seconds, "report": stages,
        "pipeline": metrics.get("pipeline"),
        "protocol_b": metrics.get("protocol_b"),
        "rmse": metrics.get("ranking", {}).get("rmse")}


def serve(args, model_base, data):
    """movierec-server on `model_base`: seconds until it serves, its RSS,
    and a user's top 10 from movierec-client."""
    with open(os.path.join(data, "interactions.csv"), encoding="utf-8") as f:
        f.readline()
        user = f.readline().split(",")[0]
    port = free_port()
    start = time.monotonic()
    server = start_logged(
        [args.server, "--model_base", model_base, "--port", str(port),
         "--http_port", "-1", "--metrics_port", "-1", "--poll_interval", "0",
         "--grace_period", "1s"],
        os.path.join(args.work, "server.log"), "serving model version",
        args.server, timeout_s=600)
    ready = time.monotonic() - start
    try:
        rss = read_rss_mb(server.pid)
        call = time.monotonic()
        answer = subprocess.run(
            [args.client, "--target", f"127.0.0.1:{port}", "--user", user],
            capture_output=True, text=True, check=False)
        call_ms = (time.monotonic() - call) * 1000
    finally:
        stop(server)
    if answer.returncode != 0:
        sys.exit(f"movierec-client --user {user} failed:\n{answer.stderr}")
    lines = [line for line in answer.stdout.splitlines() if line.strip()]
    log(f"the server answered user {user} with {len(lines)} lines")
    return {"user": user, "seconds_to_serve": ready, "rss_mb": rss,
            "client_ms": call_ms, "answer": lines}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="the build's bin/")
    parser.add_argument("--shapes", default="ml-100k,ml-1m,ml-25m")
    parser.add_argument("--data_cache", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    args.train = os.path.join(args.bin, "movierec-train")
    args.server = os.path.join(args.bin, "movierec-server")
    args.client = os.path.join(args.bin, "movierec-client")
    args.synthetic_dataset = os.path.join(args.bin, "synthetic_dataset")
    os.makedirs(args.work, exist_ok=True)
    runs = []
    model_base = data = None
    for shape in args.shapes.split(","):
        data = ensure_data(args, shape)
        model_base, run = train(args, shape, data)
        runs.append(run)
    served = serve(args, model_base, data)
    served["shape"] = runs[-1]["shape"]
    write_result(args.json, {"runs": runs, "served": served,
                             "cores": os.cpu_count()})


if __name__ == "__main__":
    main()
