#!/usr/bin/env python3
"""Turns benchmark results into the tables of BENCHMARKS.md and PNG plots.

Each subcommand fills the block of BENCHMARKS.md between
  <!-- BEGIN GENERATED name -->  and  <!-- END GENERATED name -->
and leaves every other line alone, so sections written by hand (and other
benchmarks' sections) survive regeneration. Standard library only; plots
are drawn by gnuplot. Called by run_benchmarks.sh:

  report.py machine --doc BENCHMARKS.md --build_dir build
                    --blas_binary build/bin/index_bench
  report.py index   --doc BENCHMARKS.md --json index_bench.json --plots DIR
  report.py startup --doc BENCHMARKS.md --runs startup.jsonl
  report.py train   --doc BENCHMARKS.md --json train_bench.json
                    --scale_json train_scale.json --metrics metrics.json
  report.py overload --doc BENCHMARKS.md --json overload.json --plots DIR
                     --work DIR
  report.py transport --doc BENCHMARKS.md --json transport.json
  report.py compare --doc BENCHMARKS.md --json compare.json

Every subcommand also takes --code (the tree's `git describe`), --dirty (the
tree had uncommitted changes: the block opens with a bold warning) and
--load_before / --load_after (/proc/loadavg's first three fields around the
section's benchmarks), which every generated block states first.
"""

import argparse
import collections
import json
import os
import platform
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import build_flags, cmake_cache  # noqa: E402

NAME = re.compile(r"^index/n:(\d+)/d:(\d+)/(flat|hnsw/ef:\d+|ivf/nprobe:\d+)"
                  r"/excl:([\w-]+)$")
REQUIRED_RECALL = 0.95
REQUIRED_SPEEDUP = 10.0


# The line(s) every generated block opens with (run_stamp), set by main()
# from the common flags.
STAMP = ""


def run_stamp(code=None, dirty=False, load_before=None, load_after=None,
              cpu=None):
    """What every block states first: the code it ran, in bold when the tree
    was dirty, the CPU it ran on (blocks of one document may come from
    different machines: the machine block describes the last run's), and
    the load average before and after its benchmarks."""
    lines = []
    if dirty:
        lines.append(f"**Run from a dirty tree ({code or 'code unknown'}): "
                     "uncommitted changes, so these figures belong to no "
                     "commit.**")
        lines.append("")
    parts = []
    if code and not dirty:
        parts.append(f"Code {code}" + (f" on {cpu}" if cpu else ""))
    elif cpu:
        parts.append(f"on {cpu}")
    if load_before or load_after:
        parts.append("load average (1, 5, 15 min) "
                     f"{load_before or '?'} before this section's "
                     f"benchmarks, {load_after or '?'} after")
    if parts:
        text = "; ".join(parts)
        lines.append(text[0].upper() + text[1:] + ".")
    return "\n".join(lines)


def splice(doc_path, name, text):
    """Replaces the generated block `name` of the document with `text`,
    preceded by STAMP."""
    if STAMP:
        text = STAMP + "\n\n" + text
    with open(doc_path, encoding="utf-8") as f:
        doc = f.read()
    begin = f"<!-- BEGIN GENERATED {name} -->"
    end = f"<!-- END GENERATED {name} -->"
    start = doc.find(begin)
    stop = doc.find(end)
    if start < 0 or stop < start:
        sys.exit(f"{doc_path}: no block {begin} ... {end}")
    doc = doc[:start + len(begin)] + "\n" + text.rstrip() + "\n" + doc[stop:]
    with open(doc_path, "w", encoding="utf-8") as f:
        f.write(doc)


# The terminal line of the plots (the index plot widens it per size).
PNG_TERMINAL = "set terminal pngcairo noenhanced size 720,440 font ',10'"


def make_dirs(*dirs):
    for d in dirs:
        os.makedirs(d, exist_ok=True)


def gnuplot(commands, script):
    """Writes the gnuplot `commands` (lines) to the file `script` and runs
    gnuplot on it."""
    with open(script, "w", encoding="utf-8") as f:
        f.write("\n".join(commands) + "\n")
    subprocess.run(["gnuplot", script], check=True)


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt_us(value):
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


# ---------------------------------------------------------------- machine


def cpu_fields(cpuinfo):
    """The first processor's fields of /proc/cpuinfo's text."""
    fields = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


def theoretical_peak(cpuinfo, cores, max_mhz=None):
    """The CPU's single-precision peak from its clock and vector units:
    {"per_core": GFLOP/s, "total": GFLOP/s, "how": the computation}.

    clock x FMA pipes x lanes x 2 (an FMA is two FLOPs). The clock is
    lscpu's "CPU max MHz" when known (`max_mhz`), else /proc/cpuinfo's "cpu
    MHz" (in a VM the nominal clock: boost can exceed it). Two FMA pipes per
    core (every x86 core with FMA since Haswell and Zen), each as wide as
    the vectors the core executes at full rate: 512 bits with AVX-512
    (16 floats), except on Zen 4 (AMD family 25, 256-bit units executing
    AVX-512 in halves) and Zen 1 (family 23 below model 0x30, 128-bit
    units); else 256 bits with AVX2 and FMA, 128 bits with SSE only.
    Cores: as many as the process may use (with SMT, a logical core shares
    its physical core's pipes, so this overstates)."""
    f = cpu_fields(cpuinfo)
    flags = set(f.get("flags", "").split())
    vendor = f.get("vendor_id", "")
    family = int(f.get("cpu family", "0") or 0)
    model = int(f.get("model", "0") or 0)
    amd = vendor == "AuthenticAMD"
    if "avx512f" in flags and not (amd and family == 25):
        bits = 512
    elif "avx2" in flags or "avx512f" in flags:
        bits = 256
    else:
        bits = 128
    note = ""
    if amd and family == 23 and model < 0x30:
        bits, note = 128, " (Zen 1: 128-bit units)"
    elif amd and family == 25 and "avx512f" in flags:
        note = " (Zen 4: AVX-512 in two 256-bit halves)"
    lanes = bits // 32
    pipes = 2 if "fma" in flags else 1
    mhz = max_mhz or float(f.get("cpu MHz", "0") or 0)
    clock_from = ("lscpu's CPU max MHz" if max_mhz else
                  "/proc/cpuinfo's cpu MHz")
    per_cycle = pipes * lanes * 2
    per_core = mhz / 1000.0 * per_cycle
    how = (f"{mhz / 1000:.2f} GHz ({clock_from}) x {pipes} FMA pipe"
           f"{'s' if pipes > 1 else ''} x {lanes} floats ({bits}-bit"
           f"{note}) x 2 FLOPs per FMA = {per_core:.1f} GFLOP/s per core,"
           f" x {cores} cores = {per_core * cores:.0f} GFLOP/s")
    return {"per_core": per_core, "total": per_core * cores, "how": how,
            "ghz": mhz / 1000.0, "lanes": lanes, "pipes": pipes}


def lscpu_max_mhz():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    m = re.search(r"^CPU max MHz:\s*([0-9.]+)", out, re.M)
    return float(m.group(1)) if m else None


def read_text(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def command_output(cmd):
    """The first line of `cmd`'s output, or "?"."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True,
                             check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return out.splitlines()[0] if out else "?"


def package_version(package):
    return command_output(["dpkg-query", "-W", "-f=${Version}", package])


def blas_from_ldd(ldd_output):
    """The path libblas.so.3 resolves to in `ldd` output, or None."""
    for line in ldd_output.splitlines():
        m = re.match(r"\s*libblas\.so\.3 => (\S+)", line)
        if m:
            return m.group(1)
    return None


def blas_name(real_path):
    """Which BLAS a libblas.so.3 (its real path) is."""
    if "openblas" in real_path:
        return "OpenBLAS"
    if "blis" in real_path:
        return "BLIS"
    if "mkl" in real_path:
        return "MKL"
    if "/blas/" in real_path:
        return "reference BLAS (Netlib)"
    return "unknown BLAS"


def describe_blas(binary):
    """The BLAS `binary` loads (ldd, then the real path through Debian's
    alternatives), its package and version, and its threads."""
    try:
        ldd = subprocess.run(["ldd", binary], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return f"? (ldd {binary} failed)"
    path = blas_from_ldd(ldd)
    if path is None:
        return f"none ({os.path.basename(binary)} loads no libblas.so.3)"
    real = os.path.realpath(path)
    owner = command_output(["dpkg", "-S", real]).split(":")[0]
    text = (f"{blas_name(real)}, {real} ({owner} "
            f"{package_version(owner) if owner != '?' else '?'})")
    if "openblas" in real:
        # OpenBLAS says at load which kernels it picked for this CPU.
        try:
            loaded = subprocess.run(
                [binary, "--benchmark_list_tests=true", "--smoke"],
                capture_output=True, text=True, timeout=60,
                env=dict(os.environ, OPENBLAS_VERBOSE="2"))
            core = re.search(r"^Core: (\S+)", loaded.stdout + loaded.stderr,
                             re.M)
        except (OSError, subprocess.TimeoutExpired):
            core = None
        text += f", {core.group(1) if core else '?'} kernels"
        if os.environ.get("OPENBLAS_CORETYPE"):
            text += f" (OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']})"
        threads = os.environ.get("OPENBLAS_NUM_THREADS")
        text += (f"; OPENBLAS_NUM_THREADS={threads}" if threads else
                 "; one thread per core in the benchmarks, 1 in "
                 "movierec-server (util/blas.h)")
    return text


def compile_flags(build_dir):
    """The C++ flags of the build's compile lines: from CMake's flags.make
    of the server library (what the compiler really got), else from
    CMakeCache.txt."""
    flags_make = os.path.join(build_dir, "server", "CMakeFiles",
                              "movierec_server.dir", "flags.make")
    if os.path.exists(flags_make):
        m = re.search(r"^CXX_FLAGS = (.*)$", read_text(flags_make), re.M)
        if m:
            return m.group(1).strip()
    return build_flags(cmake_cache(build_dir))


def cpu_name():
    """This machine's CPU model and the cores this process may run on, as
    the blocks' stamps name them ("Intel(R) Xeon(R) Processor, 2 cores")."""
    fields = cpu_fields(read_text("/proc/cpuinfo"))
    return (f"{fields.get('model name', 'an unknown CPU')}, "
            f"{len(os.sched_getaffinity(0))} cores")


def machine_text(build_dir, blas_binary, code):
    """The machine block: what the benchmarks ran on and were built with."""
    cpuinfo = read_text("/proc/cpuinfo")
    fields = cpu_fields(cpuinfo)
    flags = set(fields.get("flags", "").split())
    cores = len(os.sched_getaffinity(0))
    peak = theoretical_peak(cpuinfo, cores, lscpu_max_mhz())
    values = cmake_cache(build_dir)
    compiler = values.get("CMAKE_CXX_COMPILER", "c++")
    mem_kb = int(re.search(r"^MemTotal:\s*(\d+)",
                           read_text("/proc/meminfo"), re.M).group(1))
    os_name = re.search(r'^PRETTY_NAME="?(.*?)"?$',
                        read_text("/etc/os-release"), re.M)

    def yes(flag):
        return "yes" if flag in flags else "no"
    lines = [
        f"CPU:       {fields.get('model name', '?')}, {cores} cores, "
        f"{peak['ghz']:.2f} GHz",
        f"           AVX2: {yes('avx2')}, FMA: {yes('fma')}, AVX-512: "
        f"{yes('avx512f')}",
        f"Peak:      {peak['how']} (single precision, theoretical)",
        f"Memory:    {mem_kb / 1024 / 1024:.0f} GB",
        f"OS:        {os_name.group(1) if os_name else '?'}, kernel "
        f"{platform.release()}",
        f"Compiler:  {compiler}: {command_output([compiler, '--version'])}",
        f"Flags:     {values.get('CMAKE_BUILD_TYPE', '?')}: "
        f"{compile_flags(build_dir)} ({build_dir})",
        f"FAISS:     libfaiss-dev {package_version('libfaiss-dev')} (static, "
        "generic x86-64 build)",
        f"BLAS:      {describe_blas(blas_binary)}",
        f"Benchmark: libbenchmark-dev {package_version('libbenchmark-dev')}",
        f"Code:      {code or '?'}",
    ]
    return "\n".join(lines)


def cmd_machine(args):
    splice(args.doc, "machine", "```\n" +
           machine_text(args.build_dir, args.blas_binary, args.code) +
           "\n```")


# ---------------------------------------------------------------- index


def load_index_runs(path):
    """run name -> the medians and counters of that benchmark."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    runs = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b["aggregate_name"] != "median":
            continue
        if b.get("error_occurred"):
            sys.exit(f"{b['name']}: {b.get('error_message')}")
        name = b["run_name"].removesuffix("/real_time")
        m = NAME.match(name)
        if not m:
            continue
        n, d, setting, excl = m.groups()
        kind, _, param = setting.partition("/")
        runs[name] = {
            "n": int(n), "d": int(d), "kind": kind,
            "param": param.replace(":", "="), "excl": excl,
            "setting": setting,
            "wall": b["real_time"], "cpu": b["cpu_time"],
            "r10": b["recall@10"], "r100": b["recall@100"],
            "build_s": b["build_s"], "mb": b["index_MB"],
            "label": b.get("label", ""),
        }
    return data["context"], runs


def setting_order(run):
    kinds = {"flat": 0, "hnsw": 1, "ivf": 2}
    value = int(run["param"].split("=")[1]) if run["param"] else 0
    return (run["n"], run["d"], kinds[run["kind"]], value)


def speedups(runs):
    """Adds each run's speed-up over exact search with the same exclusion."""
    for run in runs.values():
        flat = runs.get(f"index/n:{run['n']}/d:{run['d']}/flat/excl:"
                        f"{run['excl']}")
        run["speedup_cpu"] = flat["cpu"] / run["cpu"] if flat else float("nan")
        run["speedup_wall"] = (flat["wall"] / run["wall"] if flat
                               else float("nan"))


def setting_name(run):
    return run["kind"] + (f" {run['param']}" if run["param"] else "")


def main_table(runs):
    rows = []
    for run in sorted((r for r in runs.values() if r["excl"] == "none"),
                      key=setting_order):
        rows.append([
            f"{run['n']:,}", run["d"], setting_name(run),
            fmt_us(run["cpu"]), fmt_us(run["wall"]),
            f"{run['speedup_cpu']:.1f}x", f"{run['speedup_wall']:.1f}x",
            f"{run['r10']:.3f}", f"{run['r100']:.3f}",
            f"{run['build_s']:.1f}" if run["kind"] != "flat" else "-",
            f"{run['mb']:.0f}"])
    return table(["movies", "dim", "index", "CPU us/query", "wall us/query",
                  "speed-up (CPU)", "speed-up (wall)", "recall@10",
                  "recall@100", "build s", "index MB"], rows)


def exclusion_table(runs):
    by_setting = collections.defaultdict(dict)
    for run in runs.values():
        by_setting[(run["n"], run["d"], run["setting"])][run["excl"]] = run
    modes = sorted({r["excl"] for r in runs.values()} - {"none"})
    rows = []
    for key in sorted(by_setting,
                      key=lambda k: setting_order(next(iter(
                          by_setting[k].values())))):
        variants = by_setting[key]
        if "none" not in variants or len(variants) < 2:
            continue
        base = variants["none"]
        row = [f"{key[0]:,}", key[1], setting_name(base), fmt_us(base["cpu"])]
        for mode in modes:
            v = variants.get(mode)
            row.append(f"{fmt_us(v['cpu'])} / {v['r100']:.3f}" if v else "-")
        rows.append(row)
    return table(["movies", "dim", "index", "no exclusion: CPU us"] +
                 [f"{m}: CPU us / recall@100" for m in modes], rows)


def best_table(runs):
    """The fastest setting of each kind reaching the required recall."""
    groups = collections.defaultdict(list)
    for run in runs.values():
        groups[(run["n"], run["d"], run["excl"])].append(run)
    rows = []
    for (n, d, excl) in sorted(groups):
        for kind in ("hnsw", "ivf"):
            ok = [r for r in groups[(n, d, excl)]
                  if r["kind"] == kind and r["r100"] >= REQUIRED_RECALL]
            if not ok:
                rows.append([f"{n:,}", d, excl, kind, "none reaches "
                             f"{REQUIRED_RECALL}", "", "", ""])
                continue
            best = min(ok, key=lambda r: r["cpu"])
            rows.append([f"{n:,}", d, excl, setting_name(best),
                         fmt_us(best["cpu"]), f"{best['r100']:.3f}",
                         f"{best['speedup_cpu']:.1f}x",
                         f"{best['speedup_wall']:.1f}x"])
    return table(["movies", "dim", "exclusion", "fastest setting with "
                  f"recall@100 >= {REQUIRED_RECALL}", "CPU us/query",
                  "recall@100", "speed-up (CPU)", "speed-up (wall)"], rows)


def requirement(runs):
    lines = []
    for d in sorted({r["d"] for r in runs.values() if r["n"] == 1000000}):
        for excl in sorted({r["excl"] for r in runs.values()}):
            ok = [r for r in runs.values()
                  if r["n"] == 1000000 and r["d"] == d and r["excl"] == excl
                  and r["kind"] != "flat" and r["r100"] >= REQUIRED_RECALL]
            if not ok:
                lines.append(f"- 1,000,000 movies, dim {d}, exclusion {excl}:"
                             f" **not met** (no setting reaches recall@100 "
                             f"{REQUIRED_RECALL})")
                continue
            best = max(ok, key=lambda r: r["speedup_cpu"])
            met = (best["speedup_cpu"] >= REQUIRED_SPEEDUP and
                   best["speedup_wall"] >= REQUIRED_SPEEDUP)
            lines.append(
                f"- 1,000,000 movies, dim {d}, exclusion {excl}: "
                f"{'**met**' if met else '**not met**'} by "
                f"{setting_name(best)}: recall@100 {best['r100']:.3f}, "
                f"{best['speedup_cpu']:.1f}x exact search's speed in CPU "
                f"time, {best['speedup_wall']:.1f}x in wall time")
    return "\n".join(lines) if lines else "- no 1,000,000-movie results"


def plot(runs, plots_dir, work_dir):
    """recall@100 against CPU time per query, one panel per catalogue size."""
    make_dirs(plots_dir, work_dir)
    sizes = sorted({r["n"] for r in runs.values()})
    series = []
    for n in sizes:
        for kind in ("flat", "hnsw", "ivf"):
            for d in sorted({r["d"] for r in runs.values()}):
                pts = sorted(((r["r100"], r["cpu"]) for r in runs.values()
                              if r["n"] == n and r["d"] == d and
                              r["kind"] == kind and r["excl"] == "none"),
                             key=lambda p: p[1])
                if not pts:
                    continue
                path = os.path.join(work_dir, f"{n}-{kind}-{d}.dat")
                with open(path, "w", encoding="utf-8") as f:
                    f.writelines(f"{x} {y}\n" for x, y in pts)
                series.append((n, kind, d, path))
    png = os.path.join(plots_dir, "index_recall_vs_latency.png")
    styles = {"flat": "pt 7 ps 1.5", "hnsw": "lw 2 pt 5", "ivf": "lw 2 pt 9"}
    colours = {32: "#1f77b4", 64: "#d62728"}
    gp = [f"set terminal pngcairo noenhanced size {480 * len(sizes)},440 "
          "font ',10'",
          f"set output '{png}'",
          f"set multiplot layout 1,{len(sizes)} title "
          "'recall@100 vs CPU time per query (k=100, one query per call)'",
          "set logscale y", "set grid", "set key bottom right",
          "set xlabel 'recall@100 (vs exact)'",
          "set ylabel 'CPU microseconds per query (log)'",
          "set xrange [0.6:1.005]"]
    for n in sizes:
        gp.append(f"set title '{n:,} movies'")
        parts = []
        for (sn, kind, d, path) in series:
            if sn != n:
                continue
            how = "points" if kind == "flat" else "linespoints"
            parts.append(f"'{path}' using 1:2 with {how} {styles[kind]} "
                         f"lc rgb '{colours.get(d, 'black')}' "
                         f"title '{kind} d={d}'")
        gp.append("plot " + ", ".join(parts))
    gp.append("unset multiplot")
    gnuplot(gp, os.path.join(work_dir, "index.gp"))
    return png


def cmd_index(args):
    context, runs = load_index_runs(args.json)
    if not runs:
        sys.exit(f"{args.json}: no index benchmarks")
    speedups(runs)
    png = plot(runs, args.plots, args.work)
    rel = os.path.relpath(png, os.path.dirname(os.path.abspath(args.doc)))
    load = ", ".join(f"{x:.1f}" for x in context.get("load_avg", []))
    text = [
        f"Run of {context.get('date', '?')}; load average at the start "
        f"{load} (the 2 cores are shared with other work: wall times include "
        "waiting for a core, CPU times do not). Medians of "
        f"{args.repetitions} repetitions. BLAS: "
        f"{context.get('blas', 'not recorded')}.",
        "",
        "**The 1M-movie requirement** (recall@100 >= 0.95 at >= 10x exact "
        "search's speed, same run):",
        "",
        requirement(runs),
        "",
        f"![recall vs latency]({rel})",
        "",
        "#### Fastest setting reaching recall@100 >= 0.95",
        "",
        best_table(runs),
        "",
        "#### Every setting, no exclusion",
        "",
        main_table(runs),
        "",
        "#### Exclusion of the seen movies (20-300 per user)",
        "",
        "CPU us per query / recall@100 against exact search with the same "
        "exclusion.",
        "",
        exclusion_table(runs),
    ]
    batch = batch_table(args.json)
    if batch:
        text += [
            "",
            "#### FAISS' search of a batch of queries in one call",
            "",
            "Computed through the BLAS (named above), one OpenMP thread, no "
            "exclusion: what a batch of requests could cost per query.",
            "",
            batch]
    splice(args.doc, "index", "\n".join(text))


BATCH_NAME = re.compile(r"^batch/n:(\d+)/d:(\d+)/(flat|ivf/nprobe:\d+)"
                        r"/q:(\d+)$")


def batch_table(path):
    """The batch/ benchmarks of index_bench's JSON as a table ("" if
    none): CPU and wall time per query."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    rows = []
    for b in data["benchmarks"]:
        if (b.get("run_type") == "aggregate" and
                b["aggregate_name"] != "median"):
            continue
        m = BATCH_NAME.match(b["run_name"].removesuffix("/real_time"))
        if not m or b.get("error_occurred"):
            continue
        n, d, setting, queries = m.groups()
        q = int(queries)
        rows.append((int(n), int(d), setting.replace("/", " ").replace(
            ":", "="), q, b["cpu_time"] / q, b["real_time"] / q))
    if not rows:
        return ""
    return table(["movies", "dim", "index", "queries per call",
                  "CPU us/query", "wall us/query"],
                 [[f"{n:,}", d, setting, q, fmt_us(cpu), fmt_us(wall)]
                  for n, d, setting, q, cpu, wall in sorted(rows)])


# ---------------------------------------------------------------- startup


def cmd_startup(args):
    runs = collections.defaultdict(list)
    with open(args.runs, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                record = json.loads(line)
                runs[record["name"]].append(record)
    rows = []
    for name, records in runs.items():
        def med(key, records=records):
            return statistics.median(r[key] for r in records)
        first = records[0]
        rows.append([
            name, f"{first['movies']:,}", f"{first['users']:,}", first["dim"],
            first["index"], f"{first['bundle_MB']:.0f}",
            f"{first['index_MB']:.0f}", f"{med('read_model_s'):.2f}",
            f"{med('load_index_s'):.2f}", f"{med('snapshot_s'):.2f}",
            f"{med('total_s'):.2f}", f"{med('rss_after_MB'):.0f}",
            f"{med('hwm_MB'):.0f}"])
    text = table(["model", "movies", "users", "dim", "index", "model.bin MB",
                  "index file MB", "read bundle s", "load index s",
                  "snapshot s", "total s", "RSS MB", "peak RSS MB"], rows)
    n = min(len(r) for r in runs.values()) if runs else 0
    splice(args.doc, "startup",
           f"Medians of {n} runs, each in a fresh process.\n\n" + text)


# ---------------------------------------------------------------- serving

REQUIRED_SERVING_RATIO = 0.50
AIM_SERVING_RATIO = 0.80


def serving_plot(result, plots_dir, work_dir):
    """p50 and p99 latency against achieved QPS, open loop, both methods."""
    make_dirs(plots_dir, work_dir)
    colours = {"Empty": "#7f7f7f", "Payload": "#ff7f0e",
               "Recommend": "#1f77b4"}
    parts = []
    for name, method in sorted(result["methods"].items()):
        points = sorted(method.get("open_loop", []), key=lambda p: p["qps"])
        if not points:
            continue
        path = os.path.join(work_dir, f"serving-{name}.dat")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(f"{p['qps']} {p['p50_ms']} {p['p99_ms']}\n"
                         for p in points)
        colour = colours.get(name, "black")
        parts.append(f"'{path}' using 1:3 with linespoints lw 2 pt 7 "
                     f"lc rgb '{colour}' title '{name} p99'")
        parts.append(f"'{path}' using 1:2 with linespoints lw 1 dt 2 pt 6 "
                     f"lc rgb '{colour}' title '{name} p50'")
    png = os.path.join(plots_dir, "serving_latency_vs_qps.png")
    gp = [PNG_TERMINAL,
          f"set output '{png}'",
          "set title 'latency vs offered load (open loop, loopback, "
          "2 worker threads)'",
          "set grid", "set key top left", "set logscale y",
          "set xlabel 'achieved QPS'", "set ylabel 'latency, ms (log)'",
          "plot " + ", ".join(parts)]
    gnuplot(gp, os.path.join(work_dir, "serving.gp"))
    return png


def cmd_serving(args):
    with open(args.json, encoding="utf-8") as f:
        result = json.load(f)
    methods = result["methods"]
    names = sorted(methods)
    ratio = result["recommend_over_empty"]
    verdict = ("**met**" if ratio >= REQUIRED_SERVING_RATIO else
               "**not met**")
    aim = ("met" if ratio >= AIM_SERVING_RATIO else "not met")
    png = serving_plot(result, args.plots, args.work)
    rel = os.path.relpath(png, os.path.dirname(os.path.abspath(args.doc)))
    concurrencies = sorted({p["concurrency"] for m in methods.values()
                            for p in m["sweep"]})
    sweep_rows = []
    for c in concurrencies:
        row = [c]
        for name in names:
            point = next((p for p in methods[name]["sweep"]
                          if p["concurrency"] == c), None)
            row += ([f"{point['qps']:,.0f}", f"{point['p99_ms']:.2f}",
                     f"{point['cpu_us']:.0f}"] if point else ["-"] * 3)
        sweep_rows.append(row)
    header = ["concurrency"]
    for name in names:
        header += [f"{name} QPS", f"{name} p99 ms", f"{name} CPU us/call"]
    open_rows = []
    for name in names:
        for p in methods[name].get("open_loop", []):
            open_rows.append([name, f"{p['fraction']:.2f}", f"{p['rate']:,.0f}",
                              f"{p['qps']:,.0f}", f"{p['p50_ms']:.3f}",
                              f"{p['p99_ms']:.3f}", f"{p['p99.9_ms']:.3f}",
                              p["errors"]])
    cpu = result.get("cpu_us_per_call", {})
    payload = result.get("payload_over_empty")
    payload_text = (
        [f"The Payload RPC (Recommend's requests answered with a fixed, real "
         f"ten-movie response: Recommend's messages without its work) "
         f"reaches **{payload:.2f}** of the empty RPC's max QPS: the "
         "ceiling for any Recommend that answers with these messages.", ""]
        if payload is not None else [])
    text = [
        f"Run of {args.date}; model `{result['model']}`; "
        f"{result['worker_threads']} worker threads; closed-loop runs of "
        f"{result['duration_seconds']:g} s, medians of "
        f"{result['repetitions']} repetitions, the methods interleaved.",
        "",
        f"**Recommend max QPS / empty RPC max QPS = {ratio:.2f}**: required "
        f">= {REQUIRED_SERVING_RATIO:.2f} {verdict}; aim >= "
        f"{AIM_SERVING_RATIO:.2f} {aim}. Max QPS: "
        + ", ".join(f"{n} {methods[n]['max_qps']:,.0f}" for n in names)
        + ". Recommend's own work, called without gRPC on one thread: "
        f"{result['direct_recommend_us']:.1f} us per call. CPU per call "
        "(server and client, median over the sweep): "
        + ", ".join(f"{n} {cpu[n]:.0f} us" for n in names if n in cpu) + ".",
        "",
        *payload_text,
        f"![latency vs QPS]({rel})",
        "",
        "#### Closed loop (max QPS)",
        "",
        table(header, sweep_rows),
        "",
        "#### Open loop at fractions of each method's max QPS",
        "",
        table(["method", "fraction", "offered QPS", "achieved QPS", "p50 ms",
               "p99 ms", "p99.9 ms", "errors"], open_rows),
    ]
    splice(args.doc, "serving", "\n".join(text))


# ---------------------------------------------------------------- overload

REQUIRED_GOODPUT_SHARE = 0.80
REQUIRED_REFUSED_P99_MS = 5.0
REQUIRED_ADMITTED_P99_GROWTH = 4.0
REQUIRED_PEAK_RSS_MB = 1024.0
AIM_PEAK_RSS_MB = 300.0
# A call after the load is back to the idle level: within 2x the idle call
# or 1 ms more than it, whichever is larger.
RECOVERED_FACTOR = 2.0
RECOVERED_SLACK_MS = 1.0


def ms(value, digits=2):
    return "-" if value is None else f"{value:,.{digits}f}"


def overload_checks(server):
    """(requirement, verdict, detail) of each requirement for one server."""
    levels = server["levels"]
    max_qps = server["max_qps"]
    checks = []

    over = [lv for lv in levels if lv["fraction"] > 1]
    shares = [(lv["goodput_qps"] / min(max_qps, lv["offered_qps"]), lv)
              for lv in over if min(max_qps, lv["offered_qps"]) > 0]
    if shares:
        worst, lv = min(shares, key=lambda x: x[0])
        checks.append((
            f"OK calls/s >= {REQUIRED_GOODPUT_SHARE:.0%} of min(max QPS, "
            "offered) at every overload level",
            worst >= REQUIRED_GOODPUT_SHARE,
            f"worst {worst:.0%} at {lv['fraction']:g}x"))
    else:
        checks.append(("OK calls/s under overload", None, "no level > 1x"))

    # The caller's refusals: the server's, and its own throttle's if any
    # (the slower of the two p99s).
    refused = [(max(p for p in (lv["refused_p99_ms"],
                                lv.get("throttled_p99_ms")) if p is not None),
                lv) for lv in levels
               if lv["refused_p99_ms"] is not None or
               lv.get("throttled_p99_ms") is not None]
    if refused:
        worst, lv = max(refused, key=lambda x: x[0])
        checks.append((f"p99 of refused calls <= {REQUIRED_REFUSED_P99_MS:g}"
                       " ms", worst <= REQUIRED_REFUSED_P99_MS,
                       f"worst {worst:.2f} ms at {lv['fraction']:g}x"))
    else:
        checks.append((f"p99 of refused calls <= {REQUIRED_REFUSED_P99_MS:g}"
                       " ms", None, "no call refused"))

    base = next((lv for lv in levels if lv["fraction"] == 0.5), None)
    name = (f"p99 of admitted calls <= {REQUIRED_ADMITTED_P99_GROWTH:g}x its "
            "value at 0.5x")
    if base and base["ok_p99_ms"]:
        growth = [(lv["ok_p99_ms"] / base["ok_p99_ms"], lv) for lv in levels
                  if lv["ok_p99_ms"] is not None]
        worst, lv = max(growth, key=lambda x: x[0])
        # A level that admitted no call at all does not meet it either.
        none = [f"{lv['fraction']:g}x" for lv in levels
                if lv["ok_p99_ms"] is None]
        checks.append((
            name, worst <= REQUIRED_ADMITTED_P99_GROWTH and not none,
            f"worst {worst:.1f}x ({lv['ok_p99_ms']:.2f} ms at "
            f"{lv['fraction']:g}x; {base['ok_p99_ms']:.2f} ms at 0.5x)" +
            (f"; no call admitted at {', '.join(none)}" if none else "")))
    else:
        checks.append((name, None, "no call admitted at 0.5x"))

    peaks = [(lv["peak_rss_MB"], lv) for lv in levels
             if lv["peak_rss_MB"] is not None]
    if peaks:
        worst, lv = max(peaks, key=lambda x: x[0])
        aim = "met" if worst <= AIM_PEAK_RSS_MB else "not met"
        checks.append((
            f"peak RSS <= 1 GiB (aim {AIM_PEAK_RSS_MB:.0f} MB)",
            worst <= REQUIRED_PEAK_RSS_MB,
            f"{worst:,.0f} MB at {lv['fraction']:g}x; aim {aim}"))

    idle = server["idle_ms"]
    limit = max(RECOVERED_FACTOR * idle, idle + RECOVERED_SLACK_MS)
    worst_lv = max(levels, key=lambda lv: lv["after_ms"])
    failed = [lv for lv in levels
              if lv["after_ms"] > limit or lv["after_status"] != "OK"]
    checks.append((
        "a call 1 s after the load is back to idle (<= max(2x idle, idle + "
        "1 ms), and OK)", not failed,
        f"worst {worst_lv['after_ms']:.2f} ms at {worst_lv['fraction']:g}x; "
        f"idle {idle:.2f} ms, limit {limit:.2f} ms" +
        "".join(f"; {lv['after_status']} at {lv['fraction']:g}x"
                for lv in levels if lv["after_status"] != "OK")))
    return checks


def verdict(ok):
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def overload_plots(result, plots_dir, work_dir, prefix):
    """Goodput against offered load, and RSS against time, both servers."""
    make_dirs(plots_dir, work_dir)
    colours = ["#7f7f7f", "#1f77b4", "#d62728", "#2ca02c"]
    goodput, rss = [], []
    top = 0
    for i, server in enumerate(result["servers"]):
        name, colour = server["name"], colours[i % len(colours)]
        path = os.path.join(work_dir, f"{prefix}-goodput-{name}.dat")
        with open(path, "w", encoding="utf-8") as f:
            for lv in server["levels"]:
                f.write(f"{lv['offered_qps']} {lv['goodput_qps']} "
                        f"{lv['refused_qps']} {lv['other_error_qps']} "
                        f"{lv['fraction']:g}x\n")
                top = max(top, lv["offered_qps"])
        goodput.append(f"'{path}' using 1:2 with linespoints lw 2 pt 7 "
                       f"lc rgb '{colour}' title '{name}: OK calls/s'")
        goodput.append(f"'{path}' using 1:2:5 with labels offset 1.5,0.7 "
                       f"tc rgb '{colour}' notitle")
        goodput.append(f"'{path}' using 1:($3+$4) with linespoints lw 1 dt 2 "
                       f"pt 6 lc rgb '{colour}' title '{name}: refused + "
                       "errors /s'")
        path = os.path.join(work_dir, f"{prefix}-rss-{name}.dat")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(f"{t} {mb}\n" for t, mb in server["rss_MB"])
        rss.append(f"'{path}' using 1:2 with lines lw 2 lc rgb '{colour}' "
                   f"title '{name}'")
    goodput.append("x with lines dt 3 lc rgb 'black' title 'all offered "
                   "served'")
    png_goodput = os.path.join(plots_dir, f"{prefix}_goodput.png")
    png_rss = os.path.join(plots_dir, f"{prefix}_rss.png")
    gp = [PNG_TERMINAL,
          f"set output '{png_goodput}'",
          "set title 'goodput vs offered load (open loop, server on one "
          f"core, {result['timeout_seconds']:g} s deadline)'",
          "set grid", "set key top left", f"set xrange [0:{top * 1.05}]",
          "set yrange [0:*]", "set xlabel 'offered calls/s (really sent)'",
          "set ylabel 'calls/s'", "plot " + ", ".join(goodput),
          f"set output '{png_rss}'",
          "set title 'server resident memory (VmRSS every 100 ms): closed "
          "loop sweep, then 0.5x ... 3x'",
          "set key top left", "set autoscale x", "set yrange [0:*]",
          "set xlabel 'seconds since the server started'",
          "set ylabel 'RSS, MB'", "plot " + ", ".join(rss)]
    gnuplot(gp, os.path.join(work_dir, f"{prefix}.gp"))
    return png_goodput, png_rss


def build_text(server):
    b = server["build"]
    text = f"`{b['binary']}`"
    if "build_type" in b:
        text += (f", {b.get('commit', 'commit unknown')}, {b['build_type']}"
                 f" `{b['cxx_flags']}`")
    else:
        text += " (no CMakeCache.txt beside it: flags unknown)"
    if server.get("flags"):
        text += f", run with `{server['flags']}`"
    if server.get("loadgen_flags"):
        text += (f", driven by callers run with "
                 f"`{server['loadgen_flags']}`")
    return text


def refused_cell(level):
    """Refusals/s; with a client throttle, "all (server + client)"."""
    throttled = level.get("throttled_qps") or 0
    if not throttled:
        return f"{level['refused_qps']:,.0f}"
    by_server = level["refused_qps"] - throttled
    return (f"{level['refused_qps']:,.0f} ({by_server:,.0f} + "
            f"{throttled:,.0f})")


def refused_p99_cell(level):
    if not level.get("throttled_qps"):
        return ms(level["refused_p99_ms"])
    return (f"{ms(level['refused_p99_ms'])} / "
            f"{ms(level.get('throttled_p99_ms'))}")


def cmd_overload(args):
    with open(args.json, encoding="utf-8") as f:
        result = json.load(f)
    servers = result["servers"]
    new = next((s for s in servers if s["name"] == args.new), None)
    if new is None:
        sys.exit(f"{args.json}: no server named {args.new}")
    png_goodput, png_rss = overload_plots(result, args.plots, args.work,
                                          args.section)
    here = os.path.dirname(os.path.abspath(args.doc))
    load = ", ".join(f"{x:.1f}" for x in result.get("load_avg", []))
    others = [s for s in servers if s is not new]
    checks = {s["name"]: overload_checks(s) for s in servers}
    rows = []
    for i, (req, ok, detail) in enumerate(checks[new["name"]]):
        row = [req, verdict(ok), detail]
        for other in others:
            _, o_ok, o_detail = checks[other["name"]][i]
            row.append(f"{verdict(o_ok)}: {o_detail}")
        rows.append(row)
    text = [
        f"Run of {result['date']}; load average at the start {load}; model "
        f"`{result['model']}`. Server on core {result['server_cpus']}" +
        (f" under a CPU quota of {result['server_cpu_quota']:g} of it "
         f"(cgroup, {result['cpu_quota_period_ms']:g} ms period)"
         if result.get("server_cpu_quota") else "") +
        f", movierec-loadgen on core {result['loadgen_cpus']} (taskset); every "
        f"call's deadline {result['timeout_seconds']:g} s; closed loop "
        f"{result['closed_seconds']:g} s at each concurrency "
        f"({', '.join(str(c) for c in result['concurrencies'])}), open-loop "
        f"levels of {result['level_seconds']:g} s after a "
        f"{result['warmup_seconds']:g} s warm-up; calls the generator "
        f"could not send within {result['max_send_lag_ms']:g} ms of their "
        "schedule were skipped (target - offered).",
        "",
        "Builds: " + "; ".join(f"{s['name']} {build_text(s)}"
                               for s in servers) +
        f"; load generator {build_text({'build': result['loadgen_build']})}.",
        "",
        (f"Every server's levels are fractions of the {result['levels_from']}"
         " server's closed-loop maximum (the same model on the same core), "
         "so both get the same offered load; the goodput requirement is "
         "judged against that maximum." if result.get("levels_from") else
         "Each server's levels are fractions of its own closed-loop "
         "maximum."),
        "",
        f"**Requirements, {new['name']} server** (max QPS "
        f"{new['max_qps']:,.0f}):",
        "",
        table(["requirement", new["name"], "detail"] +
              [f"{o['name']} (for comparison)" for o in others], rows),
        "",
        f"![goodput vs offered load]({os.path.relpath(png_goodput, here)})",
        f"![RSS vs time]({os.path.relpath(png_rss, here)})",
    ]
    for server in servers:
        level_rows = []
        for lv in server["levels"]:
            after = ms(lv["after_ms"])
            if lv["after_status"] != "OK":
                after += f" ({lv['after_status']})"
            level_rows.append([
                f"{lv['fraction']:g}x", f"{lv['rate']:,.0f}",
                f"{lv['offered_qps']:,.0f}", f"{lv['goodput_qps']:,.0f}",
                refused_cell(lv), f"{lv['other_error_qps']:,.0f}",
                ms(lv["ok_p99_ms"]), refused_p99_cell(lv),
                ms(lv["peak_rss_MB"], 0), after])
        text += [
            "",
            f"#### {server['name']}: max QPS "
            f"{server.get('own_max_qps', server['max_qps']):,.0f} "
            f"(closed loop, {server['best_concurrency']} in flight); levels "
            f"relative to {server['max_qps']:,.0f}; idle "
            f"call {server['idle_ms']:.2f} ms; peak RSS over the whole run "
            f"{max((mb for _, mb in server['rss_MB']), default=0):,.0f} MB",
            "",
            table(["level", "target calls/s", "offered (sent) /s",
                   "goodput (OK) /s", "refused /s", "other errors /s",
                   "p99 admitted ms", "p99 refused ms", "peak RSS MB",
                   "a call 1 s after, ms"], level_rows),
        ]
        if any(lv.get("throttled_qps") for lv in server["levels"]):
            text += ["", "Refusals with a client throttle: all (by the "
                     "server + by the callers' own throttle, never sent); "
                     "p99 refused: the server's / the throttle's."]
        errors = sorted({code for lv in server["levels"]
                         for code in lv["other_errors"]})
        if errors:
            text += ["", "Other errors: " + ", ".join(errors) + "."]
    sweep_rows = []
    for c in result["concurrencies"]:
        row = [c]
        for server in servers:
            p = next((p for p in server["sweep"] if p["concurrency"] == c),
                     None)
            row += ([f"{p['ok_qps']:,.0f}", ms(p["p99_ms"])] if p else
                    ["-", "-"])
        sweep_rows.append(row)
    header = ["concurrency"]
    for server in servers:
        header += [f"{server['name']} OK calls/s", f"{server['name']} p99 ms"]
    text += ["", "#### Closed loop (the maximum)", "",
             table(header, sweep_rows)]
    splice(args.doc, args.section, "\n".join(text))


# ---------------------------------------------------------------- train

REQUIRED_PEAK_SHARE = 0.30


# ---------------------------------------------------------------- transport


def cmd_transport(args):
    with open(args.json, encoding="utf-8") as f:
        result = json.load(f)
    levels = result["levels"]
    load = ", ".join(f"{x:.1f}" for x in result.get("load_avg", []))
    best = {}
    for level in levels:
        t = level["transport"]
        if t not in best or level["ok_qps"] > best[t]["ok_qps"]:
            best[t] = level

    def cpu(level):
        value = level.get("server_cpu_us_per_call")
        return "-" if value is None else f"{value:.1f}"

    summary = []
    for t in ("grpc", "http"):
        if t in best:
            b = best[t]
            summary.append([
                t, f"{b['ok_qps']:,.0f}", b["concurrency"],
                ms(b["p50_ms"]), ms(b["p99_ms"]), cpu(b)])
    ratio = ""
    if "grpc" in best and "http" in best and best["grpc"]["ok_qps"] > 0:
        ratio = (f"HTTP/JSON's best is {best['http']['ok_qps'] / best['grpc']['ok_qps']:.0%}"
                 " of gRPC's.")
    rows = []
    for level in levels:
        errors = ", ".join(f"{code} x{n}" for code, n in
                           sorted(level["errors"].items())) or "-"
        rows.append([
            level["transport"], level["concurrency"], f"{level['ok_qps']:,.0f}",
            ms(level["p50_ms"]), ms(level["p99_ms"]), cpu(level),
            f"{(level.get('server_cpu_share') or 0):.0%}", errors])
    text = [
        f"Run of {result['date']}; load average at the start {load}; model "
        f"`{result['model']}`. One server on core {result['server_cpus']} "
        f"(both ports), movierec-loadgen on core {result['loadgen_cpus']} "
        f"(taskset); closed loop, {result['level_seconds']:g} s per level "
        f"after a {result['warmup_seconds']:g} s warm-up, every call's "
        f"deadline {result['timeout_seconds']:g} s.",
        "",
        f"Builds: server {build_text({'build': result['server_build']})}; "
        f"load generator {build_text({'build': result['loadgen_build']})}.",
        "",
        "**Best of each transport** (the level with the most OK calls/s):",
        "",
        table(["transport", "OK calls/s", "concurrency", "p50 ms", "p99 ms",
               "server CPU µs per call"], summary),
        "",
        ratio,
        "",
        "**Every level**, in the order run:",
        "",
        table(["transport", "concurrency", "OK calls/s", "p50 ms", "p99 ms",
               "server CPU µs per call", "server core busy", "errors"],
              rows),
    ]
    splice(args.doc, "transport", "\n".join(text))


# ---------------------------------------------------------------- compare

SERVER_NAMES = {
    "empty": "empty call (plain gRPC, answered inline)",
    "payload": "payload (plain gRPC, a fixed ten-movie answer inline)",
    "movierec": "movierec-server",
    "uncached": "movierec-server, no result cache",
}
REQUIRED_RECOMMEND_CPU_RATIO = 1.2
AIM_RECOMMEND_CPU_RATIO = 1.1
REQUIRED_BATCH_SHARE = 0.25


def server_label(name):
    return SERVER_NAMES.get(name, f"movierec-server ({name})")


def span(value, bounds, digits=1):
    """`value (low-high)` when the repetitions differ, else `value`."""
    if value is None:
        return "-"
    low, high = bounds
    text = f"{value:,.{digits}f}"
    if f"{low:,.{digits}f}" != f"{high:,.{digits}f}":
        text += f" ({low:,.{digits}f}-{high:,.{digits}f})"
    return text


def ratio(value):
    if value is None:
        return "-"
    return f"{value:.3f}x" if value < 0.095 else f"{value:.2f}x"


def compare_rows(result):
    """The side-by-side table's rows: every method, every server."""
    rows = []
    batch = result["batch_size"]
    for method, servers in result["summary"].items():
        label = (f"RecommendBatch of {batch}" if method == "RecommendBatch"
                 else method)
        for name in result["servers"]:
            row = servers.get(name)
            if row is None:
                continue
            per_request = row.get("cpu_us_per_request")
            rows.append([
                label, server_label(name),
                span(row["max_qps"], row["max_qps_range"], 0),
                "/".join(str(c) for c in row["concurrency"]),
                ms(row["p50_ms"], 3), ms(row["p99_ms"], 3),
                ms(row.get("p50_ms_at_1"), 3),
                span(row["cpu_us_per_call"], row["cpu_us_per_call_range"]),
                "-" if per_request is None else f"{per_request:.2f}",
                ratio(row.get("qps_over_empty")),
                ratio(row.get("cpu_over_empty")),
                row["errors"] or "-"])
    return rows


def compare_verdicts(result):
    """The issue's requirements, judged on this run, for each movierec
    server."""
    lines = []
    for name in result.get("movierec_servers", ["movierec"]):
        lines += server_verdicts(result, name)
    return lines


def server_verdicts(result, name):
    lines = []
    summary = result["summary"]
    who = "" if name == "movierec" else f"{server_label(name)}: "
    single = summary.get("Recommend", {}).get(name)
    if single and single.get("cpu_over_empty") is not None:
        r = single["cpu_over_empty"]
        lines.append(
            f"- {who}Recommend's server CPU per call is **{r:.2f}x** the "
            f"empty call's ({single['cpu_us_per_call']:.1f} against "
            f"{summary['Recommend']['empty']['cpu_us_per_call']:.1f} us): "
            f"required <= {REQUIRED_RECOMMEND_CPU_RATIO}x "
            f"{verdict(r <= REQUIRED_RECOMMEND_CPU_RATIO)}, aim <= "
            f"{AIM_RECOMMEND_CPU_RATIO}x "
            f"{verdict(r <= AIM_RECOMMEND_CPU_RATIO)}.")
    batch = summary.get("RecommendBatch", {}).get(name)
    if batch and batch.get("cpu_per_request_over_recommend") is not None:
        r = batch["cpu_per_request_over_recommend"]
        lines.append(
            f"- {who}{'a' if who else 'A'} request inside a RecommendBatch "
            f"of {result['batch_size']}"
            f" costs **{r:.2f}x** a single Recommend's server CPU "
            f"({batch['cpu_us_per_request']:.2f} against "
            f"{single['cpu_us_per_call']:.1f} us): required <= "
            f"{REQUIRED_BATCH_SHARE}x {verdict(r <= REQUIRED_BATCH_SHARE)}.")
    return lines


def compare_level_rows(result):
    rows = []
    for run in result["runs"]:
        for name in result["servers"]:
            for lv in run["levels"].get(name, []):
                errors = ", ".join(f"{code} x{n}" for code, n in
                                   sorted(lv["errors"].items())) or "-"
                cpu = lv.get("server_cpu_us_per_call")
                rows.append([
                    run["repetition"] + 1, run["method"], name,
                    lv["concurrency"], f"{lv['ok_qps']:,.0f}",
                    ms(lv["p50_ms"], 3), ms(lv["p99_ms"], 3),
                    "-" if cpu is None else f"{cpu:.1f}",
                    f"{(lv.get('server_cpu_share') or 0):.0%}", errors])
    return rows


def cmd_compare(args):
    with open(args.json, encoding="utf-8") as f:
        result = json.load(f)
    load = ", ".join(f"{x:.2f}" for x in result.get("load_avg", []))
    load_after = ", ".join(f"{x:.2f}" for x in
                           result.get("load_avg_after", []))
    builds = result["builds"]
    movierec = result.get("movierec_servers", ["movierec"])
    flags = (f", run with `{result['server_flags']}`"
             if result.get("server_flags") else "")
    own_flags = result.get("own_server_flags", {})
    server_builds = "; ".join(
        f"{server_label(n)} {build_text({'build': builds[n]})}{flags}" +
        ("" if n not in own_flags else
         f" and `{own_flags[n]}`" if flags else f", run with `{own_flags[n]}`")
        for n in movierec)
    blas = "; ".join(
        f"{server_label(n)}: " + (", ".join(
            f"`{b}`" for b in result.get("blas", {}).get(n) or []) or "none")
        for n in movierec)
    text = [
        f"Run of {result['date']}; load average {load} at the start, "
        f"{load_after} at the end; model `{result['model']}`. Servers on "
        f"core {result['server_cpus']}, movierec-loadgen on core "
        f"{result['loadgen_cpus']} (taskset), each in its own process; "
        f"closed loop, {result['level_seconds']:g} s per level after a "
        f"{result['warmup_seconds']:g} s warm-up, the concurrency doubling "
        f"from 1 until {result['flat_levels']} levels in a row add no more "
        f"than {result['min_rise']:.0%} OK calls/s, the servers taking "
        f"turns at each level; {result['repetitions']} "
        f"repetition{'s' if result['repetitions'] != 1 else ''}, "
        "medians (min-max in brackets) of each one's best level.",
        "",
        f"Builds: {server_builds}; empty_server "
        f"{build_text({'build': builds['empty']})}; load generator "
        f"{build_text({'build': builds['loadgen']})}. BLAS mapped into the "
        f"servers: {blas}.",
        "",
        *compare_verdicts(result),
        "",
        table(["method", "server", "max OK calls/s", "in flight at max",
               "p50 ms", "p99 ms", "p50 ms, 1 in flight",
               "server CPU µs per call", "server CPU µs per request",
               "QPS / empty", "CPU / empty", "errors"],
              compare_rows(result)),
        "",
        "Server CPU: utime + stime of the server process (all threads, "
        "/proc/PID/stat) over a level, divided by the level's OK calls, at "
        "the level of most OK calls/s. Ratios are to the empty call of the "
        "same method (the same requests).",
        "",
        "<details><summary>Every level, in the order run</summary>",
        "",
        table(["rep", "method", "server", "in flight", "OK calls/s",
               "p50 ms", "p99 ms", "server CPU µs per call",
               "server core busy", "errors"], compare_level_rows(result)),
        "",
        "</details>",
    ]
    splice(args.doc, args.section, "\n".join(text))


def load_medians(path):
    """benchmark run name -> its median (or only) result."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    runs = {}
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            sys.exit(f"{b['name']}: {b.get('error_message')}")
        if b.get("run_type") == "aggregate":
            if b["aggregate_name"] != "median":
                continue
        elif b.get("repetitions", 1) > 1:
            continue
        name = b["run_name"].removesuffix("/real_time")
        # MeasureProcessCPUTime: cpu_time is every thread's, not the main
        # thread's alone.
        b["process_cpu"] = name.endswith("/process_time")
        runs[name.removesuffix("/process_time")] = b
    return data["context"], runs


def gflop_per_cpu_second(b):
    """GFLOP per CPU-second (all threads) of a benchmark, or None when its
    CPU time is not the whole process'."""
    if not b.get("process_cpu") or not b.get("cpu_time"):
        return None
    return b["GFLOPS"] * b["real_time"] / b["cpu_time"]


def stage_rows(metrics):
    """(stage, epochs, seconds) of each trained stage in a metrics.json."""
    rows = []

    def walk(node, path):
        if isinstance(node, dict):
            if "epochs" in node and "seconds" in node and isinstance(
                    node["epochs"], int):
                rows.append((path, node))
                return
            for key, value in node.items():
                walk(value, f"{path}/{key}" if path else key)
    walk(metrics, "")
    return rows


def cmd_train(args):
    context, runs = load_medians(args.json)
    peaks = {k: v for k, v in runs.items() if k.startswith("BM_EigenGemmPeak")}
    tfrs = runs.get("BM_TfrsRetrievalEpochs")
    if not peaks or tfrs is None:
        sys.exit(f"{args.json}: needs BM_EigenGemmPeak and "
                 "BM_TfrsRetrievalEpochs")
    peak_name, peak = max(peaks.items(), key=lambda kv: kv[1]["GFLOPS"])
    share = tfrs["GFLOPS"] / peak["GFLOPS"]
    load = ", ".join(f"{x:.1f}" for x in context.get("load_avg", []))
    reps = next((b.get("repetitions", 1) for b in runs.values()), 1)
    cores = context.get("num_cpus") or os.cpu_count()
    if args.cpuinfo:
        theory = theoretical_peak(read_text(args.cpuinfo), cores,
                                  args.max_mhz)
    else:
        theory = None
    text = [
        f"Run of {context.get('date', '?')}; load average at the start {load}."
        f" Medians of {reps} repetitions, interleaved.",
        "",
        f"**The tfrs preset's share of the peak** (required >= "
        f"{REQUIRED_PEAK_SHARE:.0%}): {tfrs['GFLOPS']:.1f} / "
        f"{peak['GFLOPS']:.1f} GFLOP/s = **{share:.0%}** "
        f"({'met' if share >= REQUIRED_PEAK_SHARE else 'not met'}).",
        "",
    ]
    tfrs_cpu, peak_cpu = gflop_per_cpu_second(tfrs), gflop_per_cpu_second(peak)
    if tfrs_cpu and peak_cpu:
        text += [
            f"In CPU time (every thread's, so that other work on the "
            f"machine does not lower it): the tfrs preset does "
            f"{tfrs_cpu:.1f} GFLOP per CPU-second against the GEMM peak's "
            f"{peak_cpu:.1f} (**{tfrs_cpu / peak_cpu:.0%}**).", ""]
    if theory:
        text += [
            f"**The CPU's theoretical peak**: {theory['total']:.0f} GFLOP/s,"
            f" {theory['per_core']:.1f} per core ({theory['how']}). The "
            f"GEMM peak reaches {peak['GFLOPS'] / theory['total']:.0%} of "
            f"it in wall time" +
            (f", {peak_cpu / theory['per_core']:.0%} of a core's per "
             "CPU-second" if peak_cpu else "") +
            f"; the tfrs preset {tfrs['GFLOPS'] / theory['total']:.0%}" +
            (f", {tfrs_cpu / theory['per_core']:.0%} per CPU-second"
             if tfrs_cpu else "") + "." +
            ("" if args.max_mhz else
             " (The clock is the nominal one /proc/cpuinfo reports; a CPU "
             "that boosts above it can pass 100%.)"), ""]
    rows = []
    def bench_order(name):
        base, _, arg = name.partition("/")
        return (base, int(arg) if arg.isdigit() else 0)
    for name in sorted(runs, key=bench_order):
        b = runs[name]
        unit = b.get("time_unit", "ns")
        per_cpu = gflop_per_cpu_second(b)
        row = [f"`{name}`", f"{b['real_time']:.3g} {unit}",
               f"{b['GFLOPS']:.1f}", "-" if per_cpu is None else
               f"{per_cpu:.1f}", f"{b['GFLOPS'] / peak['GFLOPS']:.0%}"]
        if theory:
            row.append(f"{b['GFLOPS'] / theory['total']:.0%}")
        rows.append(row)
    header = ["benchmark", "wall time per iteration", "GFLOP/s (wall)",
              "GFLOP per CPU-second", f"share of the peak ({peak_name})"]
    if theory:
        header.append("share of the theoretical peak")
    text += [table(header, rows), ""]
    if args.scale_json:
        _, scale = load_medians(args.scale_json)
        b = scale.get("BM_ScaleSampledSoftmaxEpoch/iterations:1")
        if b is None:
            sys.exit(f"{args.scale_json}: no BM_ScaleSampledSoftmaxEpoch")
        text += [
            "**Scale test** (`BM_ScaleSampledSoftmaxEpoch`: one epoch over "
            "10,000,000 synthetic interactions, 100,000 users, 50,000 movies,"
            " sampled softmax with 1,024 negatives, batch 1,024, dimension "
            "32 + bias):",
            "",
            table(["epoch wall s", "examples/s", "GFLOP/s",
                   "peak RSS MiB (whole process)"],
                  [[f"{b['real_time']:.1f}",
                    f"{b['examples_per_second']:,.0f}",
                    f"{b['GFLOPS']:.1f}", f"{b['peak_rss_MiB']:,.0f}"]]),
            ""]
    if args.metrics:
        with open(args.metrics, encoding="utf-8") as f:
            metrics = json.load(f)
        rows = []
        for path, node in stage_rows(metrics):
            epochs = node["epochs"]
            per = node["seconds"] / epochs if epochs else float("nan")
            rows.append([path, epochs, f"{node['seconds']:.1f}",
                         f"{per:.2f}",
                         f"{node.get('gflops_per_second', 0):.2f}"])
        text += [
            "**The default preset** on MovieLens 100K (`movierec-train "
            "--data_dir $MOVIELENS_DIR`, all cores; its `metrics.json`, "
            "written by the run that trained the start-up section's model):",
            "",
            table(["stage", "epochs", "seconds", "seconds per epoch",
                   "GFLOP/s"], rows) if rows else
            "(no stage timings in metrics.json)"]
    splice(args.doc, "train", "\n".join(text))


# ---------------------------------------------------------------- scale

REQUIRED_SCALE_SECONDS = 45 * 60
AIM_SCALE_SECONDS = 20 * 60
REQUIRED_SCALE_RSS_MB = 8000
AIM_SCALE_RSS_MB = 4000


def scale_plot(runs, plots_dir, work_dir):
    """Wall time and peak memory of the whole run against training
    interactions, log-log."""
    make_dirs(plots_dir, work_dir)
    path = os.path.join(work_dir, "scale.dat")
    with open(path, "w", encoding="utf-8") as f:
        for run in runs:
            report = run["report"]
            f.write(f"{report['data']['train_interactions']} "
                    f"{run['wall_seconds'] / 60} {report['peak_rss_mb']} "
                    f"{run['shape']}\n")
    png = os.path.join(plots_dir, "train_scale.png")
    gp = [PNG_TERMINAL,
          f"set output '{png}'",
          "set title 'movierec-train, default preset, synthetic data "
          "(2 cores)'",
          "set grid", "set key top left", "set logscale xy",
          "set xlabel 'training interactions (log)'",
          "set ylabel 'wall time, minutes (log)'",
          "set y2label 'peak resident memory, MB (log)'",
          "set logscale y2", "set y2tics", "set ytics nomirror",
          f"plot '{path}' using 1:2 with linespoints lw 2 pt 7 "
          "lc rgb '#1f77b4' title 'wall time', "
          f"'{path}' using 1:3 axes x1y2 with linespoints lw 2 pt 5 "
          "lc rgb '#d62728' title 'peak RSS', "
          f"'{path}' using 1:2:4 with labels offset 0,1 notitle"]
    gnuplot(gp, os.path.join(work_dir, "scale.gp"))
    return png


def examples_per_second(report, stage):
    epochs = report.get("training", {}).get(stage)
    if not epochs or not epochs.get("seconds"):
        return "-"
    # The stage's epochs over its seconds: metrics.json records the count
    # and the seconds; the examples are the run's training interactions
    # (or the validation fit's share of them).
    share = 1 - report["config"].get("validation_fraction", 0) \
        if not report["config"].get("refit", True) else 1
    examples = report["data"]["train_interactions"] * share
    return f"{examples * epochs['epochs'] / epochs['seconds']:,.0f}"


def cmd_scale(args):
    with open(args.json, encoding="utf-8") as f:
        result = json.load(f)
    runs = result["runs"]
    overview = []
    for run in runs:
        report = run["report"]
        data = report["data"]
        config = report["config"]
        pipeline = run.get("pipeline") or {}
        overview.append([
            run["shape"], f"{data['train_interactions']:,}",
            f"{data['users']:,}", f"{data['movies']:,}",
            config["retrieval"]["softmax"],
            "yes" if config.get("refit", True) else "no",
            f"{config.get('evaluation_users', 0):,}" if config.get(
                "evaluation_users") else "all",
            f"{run['wall_seconds'] / 60:.1f}",
            f"{report['peak_rss_mb']:,.0f}",
            examples_per_second(report, "retrieval"),
            examples_per_second(report, "rating"),
            f"{pipeline.get('ndcg_at_10', 0):.4f}"])
    text = [table(["shape", "train interactions", "users", "movies",
                   "softmax", "refit", "evaluation users", "wall min",
                   "peak RSS MB", "retrieval examples/s",
                   "rating examples/s", "served NDCG@10"], overview)]
    largest = runs[-1]
    report = largest["report"]
    minutes = largest["wall_seconds"] / 60
    rss = report["peak_rss_mb"]
    text.append("")
    text.append(
        f"**{largest['shape']}**: {minutes:.1f} min wall (required <= "
        f"{REQUIRED_SCALE_SECONDS // 60}, aim <= {AIM_SCALE_SECONDS // 60}: "
        f"{'met' if largest['wall_seconds'] <= REQUIRED_SCALE_SECONDS else 'NOT met'}"
        f", aim {'met' if largest['wall_seconds'] <= AIM_SCALE_SECONDS else 'not met'}"
        f"), peak resident memory {rss:,.0f} MB (required <= "
        f"{REQUIRED_SCALE_RSS_MB:,}, aim <= {AIM_SCALE_RSS_MB:,}: "
        f"{'met' if rss <= REQUIRED_SCALE_RSS_MB else 'NOT met'}"
        f", aim {'met' if rss <= AIM_SCALE_RSS_MB else 'not met'}).")
    text.append("")
    names = []  # every run's stages, in the order they ran
    for run in runs:
        names += [s["stage"] for s in run["report"]["stages"]
                  if s["stage"] not in names]
    rows = []
    for name in names:
        row = [name]
        for run in runs:
            cost = next((s for s in run["report"]["stages"]
                         if s["stage"] == name), None)
            row.append("-" if cost is None else
                       f"{cost['seconds']:,.1f} s, {cost['peak_rss_mb']:,.0f} MB")
        rows.append(row)
    text.append("Each stage's wall time and peak resident memory (the "
                "high-water mark reset at the stage's start):")
    text.append("")
    text.append(table(["stage"] + [r["shape"] for r in runs], rows))
    served = result["served"]
    text.append("")
    text.append(
        f"**Served**: movierec-server loaded the {served['shape']} version "
        f"and served in {served['seconds_to_serve']:.1f} s, resident "
        f"{served['rss_mb']:,.0f} MB; `movierec-client --user "
        f"{served['user']}` answered in {served['client_ms']:.0f} ms "
        f"(a new process and channel) with {len(served['answer'])} lines, "
        f"the first: `{served['answer'][0] if served['answer'] else ''}`.")
    png = scale_plot(runs, args.plots, args.work)
    text.append("")
    text.append(f"![wall time and peak memory against training "
                f"interactions](plots/{os.path.basename(png)})")
    splice(args.doc, "scale", "\n".join(text))


# Issue 19, item 3: Recommend's QPS over the empty call's at 100,000 and
# 1,000,000 movies, and its p99 at half load at 1,000,000.
REQUIRED_CATALOGUE_QPS_RATIO = {100000: 0.7, 1000000: 0.5}
REQUIRED_HALF_LOAD_P99_MS = {1000000: 5.0}


def catalogue_plot(result, plots_dir, work_dir):
    """Max OK calls/s of both servers and movierec's CPU per call against
    the catalogue's size, log x."""
    make_dirs(plots_dir, work_dir)
    path = os.path.join(work_dir, "catalogue.dat")
    with open(path, "w", encoding="utf-8") as f:
        for size in result["sizes"]:
            c = size["compare"]
            f.write(f"{size['movies']} {c['empty']['max_qps']} "
                    f"{c['movierec']['max_qps']} "
                    f"{c['empty']['cpu_us_per_call']} "
                    f"{c['movierec']['cpu_us_per_call']}\n")
    png = os.path.join(plots_dir, "catalogue.png")
    gp = [PNG_TERMINAL,
          f"set output '{png}'",
          "set title 'Recommend through gRPC against the catalogue size "
          "(server on one core)'",
          "set grid", "set key below", "set logscale xy",
          "set logscale y2", "set xlabel 'movies (log)'",
          "set ylabel 'max OK calls/s (log)'",
          "set y2label 'server CPU µs per call (log)'",
          "set y2tics", "set ytics nomirror",
          f"plot '{path}' using 1:2 with linespoints lw 2 pt 7 "
          "lc rgb '#7f7f7f' title 'empty call, calls/s', "
          f"'{path}' using 1:3 with linespoints lw 2 pt 7 "
          "lc rgb '#1f77b4' title 'Recommend, calls/s', "
          f"'{path}' using 1:4 axes x1y2 with linespoints lw 2 pt 5 dt 2 "
          "lc rgb '#7f7f7f' title 'empty call, CPU µs', "
          f"'{path}' using 1:5 axes x1y2 with linespoints lw 2 pt 5 dt 2 "
          "lc rgb '#d62728' title 'Recommend, CPU µs'"]
    gnuplot(gp, os.path.join(work_dir, "catalogue.gp"))
    return png


def half_load_cell(half):
    """The half-load column: the median p99 with the runs' range, the rate,
    and the server's CPU per call there (an open-loop call costs more than
    a closed-loop one: how busy "half load" keeps the server's core)."""
    runs = half.get("runs", [])
    p99s = [r["p99_ms"] for r in runs]
    text = span(half["p99_ms"], (min(p99s), max(p99s)) if p99s
                else (half["p99_ms"],) * 2, 3)
    text += f" at {half['offered_qps']:,.0f}/s"
    cpus = [r["server_cpu_us_per_call"] for r in runs
            if r.get("server_cpu_us_per_call")]
    if cpus:
        text += f", {statistics.median(cpus):,.0f} µs/call"
    return text


def cmd_catalogue(args):
    with open(args.json, encoding="utf-8") as f:
        result = json.load(f)
    rows = []
    verdicts = []
    for size in result["sizes"]:
        movies = size["movies"]
        c = size["compare"]
        empty, ours = c["empty"], c["movierec"]
        half = size["half_load"]
        for name, row in (("empty call", empty), ("Recommend", ours)):
            rows.append([
                f"{movies:,}", name,
                (f"`{half.get('index') or '?'}`" if row is ours else "-"),
                span(row["max_qps"], row["max_qps_range"], 0),
                ms(row["p50_ms"], 3), ms(row["p99_ms"], 3),
                span(row["cpu_us_per_call"], row["cpu_us_per_call_range"]),
                ratio(row.get("qps_over_empty")),
                ratio(row.get("cpu_over_empty")),
                (half_load_cell(half) if row is ours else "-")])
        need = REQUIRED_CATALOGUE_QPS_RATIO.get(movies)
        if need is not None:
            got = ours.get("qps_over_empty") or 0
            verdicts.append(
                f"- {movies:,} movies: Recommend's max QPS is {ratio(got)} the "
                f"empty call's (required >= {need}): "
                f"{'met' if got >= need else '**not met**'}.")
        need = REQUIRED_HALF_LOAD_P99_MS.get(movies)
        if need is not None:
            got = half["p99_ms"]
            runs = [r["p99_ms"] for r in half.get("runs", [])]
            over = sum(p99 > need for p99 in runs)
            each = (f"; the runs: {' / '.join(f'{p99:.2f}' for p99 in runs)}"
                    f" ms, {over} of {len(runs)} above" if runs else "")
            verdicts.append(
                f"- {movies:,} movies: p99 at half load {got:.2f} ms, the "
                f"median (required <= {need:g} ms{each}): "
                f"{'met' if got <= need else '**not met**'}.")
    build = result["build"]
    load = ", ".join(f"{x:.2f}" for x in result["load_avg"])
    load_after = ", ".join(f"{x:.2f}" for x in result["load_avg_after"])
    data = "; ".join(
        f"{s['movies']:,} movies: {s['users']:,} users, "
        f"{s['interactions']:,} interactions, trained at "
        f"{s['trained']['commit']} in {s['trained']['train_minutes']:.1f} "
        f"min (served NDCG@10 {s['trained'].get('ndcg_at_10') or 0:.3f})"
        for s in result["sizes"])
    png = catalogue_plot(result, args.plots, args.work)
    text = [
        f"Run of {result['date']}; load average {load} at the start, "
        f"{load_after} at the end. movierec-server "
        f"{build_text({'build': build})}, run with "
        f"`{result['server_flags']}`; servers on core "
        f"{result['server_cpus']}, movierec-loadgen on core "
        f"{result['loadgen_cpus']}. Each size's two rows come from one "
        f"serving_compare.py run (closed loop, the servers taking turns at "
        f"each level, {result['repetitions']} repetitions, medians of each "
        "one's best level); then movierec-server alone at half its maximum, "
        f"open loop, {result['repetitions']} runs, median p99 (the runs' "
        "range in brackets) and the server's CPU per call in those runs.",
        "",
        f"Data (synthetic_dataset) and models (movierec-train's default "
        f"preset): {data}.",
        "",
        *verdicts,
        "",
        table(["movies", "method", "index", "max OK calls/s", "p50 ms",
               "p99 ms", "server CPU µs per call", "QPS / empty",
               "CPU / empty", "p99 ms at half load"], rows),
        "",
        f"![QPS and CPU per call against the catalogue size]"
        f"(plots/{os.path.basename(png)})",
    ]
    splice(args.doc, "catalogue", "\n".join(text))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Flags of every subcommand: the stamp of the block (run_stamp).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--code", help="the tree's git describe")
    common.add_argument("--dirty", action="store_true",
                        help="the tree had uncommitted changes")
    common.add_argument("--load_before", help="/proc/loadavg's first three "
                        "fields before the section's benchmarks")
    common.add_argument("--load_after", help="... and after them")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("machine", parents=[common])
    p.add_argument("--doc", required=True)
    p.add_argument("--build_dir", required=True)
    p.add_argument("--blas_binary", required=True,
                   help="a benchmark binary whose libblas.so.3 is named")
    p.set_defaults(func=cmd_machine)
    p = sub.add_parser("index", parents=[common])
    p.add_argument("--doc", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--plots", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--repetitions", type=int, required=True)
    p.set_defaults(func=cmd_index)
    p = sub.add_parser("startup", parents=[common])
    p.add_argument("--doc", required=True)
    p.add_argument("--runs", required=True)
    p.set_defaults(func=cmd_startup)
    p = sub.add_parser("serving", parents=[common])
    p.add_argument("--doc", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--plots", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--date", required=True)
    p.set_defaults(func=cmd_serving)
    p = sub.add_parser("overload", parents=[common])
    p.add_argument("--doc", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--plots", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--new", default="new",
                   help="the server whose requirements are judged")
    p.add_argument("--section", default="overload",
                   help="the generated block, and the plots' name prefix")
    p.set_defaults(func=cmd_overload)
    p = sub.add_parser("transport", parents=[common])
    p.add_argument("--doc", required=True)
    p.add_argument("--json", required=True)
    p.set_defaults(func=cmd_transport)
    p = sub.add_parser("compare", parents=[common])
    p.add_argument("--doc", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--section", default="compare",
                   help="the generated block (e.g. one per catalogue size)")
    p.set_defaults(func=cmd_compare)
    p = sub.add_parser("scale", parents=[common])
    p.add_argument("--doc", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--plots", required=True)
    p.add_argument("--work", required=True)
    p.set_defaults(func=cmd_scale)
    p = sub.add_parser("catalogue", parents=[common])
    p.add_argument("--doc", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--plots", required=True)
    p.add_argument("--work", required=True)
    p.set_defaults(func=cmd_catalogue)
    p = sub.add_parser("train", parents=[common])
    p.add_argument("--doc", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--scale_json")
    p.add_argument("--metrics")
    p.add_argument("--cpuinfo", help="/proc/cpuinfo (or a copy): the "
                   "theoretical peak is computed from it")
    p.add_argument("--max_mhz", type=float,
                   help="lscpu's CPU max MHz, when it has one")
    p.set_defaults(func=cmd_train)
    args = parser.parse_args()
    global STAMP
    STAMP = run_stamp(args.code, args.dirty, args.load_before,
                      args.load_after, cpu_name())
    args.func(args)


if __name__ == "__main__":
    main()
