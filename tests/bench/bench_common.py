"""What the benchmark harnesses share (overload_bench.py, transport_bench.py,
serving_compare.py): ports, core lists, a server started and waited for, its
CPU time and loaded BLAS read from /proc, and how a binary was built.
Standard library only.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_list(text):
    """The cores of a taskset list such as "0", "0,2" or "0-3"."""
    cpus = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


def cpu_seconds(pid):
    """User + system CPU time of every thread of `pid` so far, seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        # The command name (field 2) may hold spaces: split after its ")".
        fields = f.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of the line (utime, stime) are 12 and 13 after ")".
    return (int(fields[11]) + int(fields[12])) / TICKS


def read_rss_mb(pid):
    """The process' resident set (VmRSS) in MB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def loaded_blas(pid):
    """The BLAS libraries mapped into process `pid` (real paths, from
    /proc/PID/maps): e.g. [".../openblas-pthread/libblas.so.3",
    ".../openblas-pthread/libopenblas.so.0"]; [] when none is."""
    found = []
    with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as f:
        for line in f:
            path = line.split(maxsplit=5)[-1].strip()
            name = os.path.basename(path)
            if (name.startswith(("libblas.so", "libopenblas", "libmkl",
                                 "libblis")) and path not in found):
                found.append(path)
    return found


def synthetic_data(binary, data, flags, what):
    """The synthetic data set at `data`, written by synthetic_dataset
    (`binary`) with `flags` unless a complete one is there: it is written
    into DATA.partial and renamed, so that an interrupted run leaves none
    half written. `what` names it in the log line."""
    if os.path.exists(os.path.join(data, "interactions.csv")):
        return data
    partial = data + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    print(f"{os.path.basename(sys.argv[0]).removesuffix('.py')}: writing "
          f"{what}", file=sys.stderr, flush=True)
    subprocess.run([binary, "--dir", partial] + flags, check=True,
                   stdout=subprocess.DEVNULL)
    os.rename(partial, data)
    return data


def start_logged(cmd, log_path, ready, what, timeout_s=120):
    """Starts `cmd` with its output in `log_path` and waits until the log
    holds the text `ready`; exits naming `what` (and showing the log) when
    it dies or does not get there within `timeout_s`."""
    with open(log_path, "w", encoding="utf-8") as logf:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            if ready in f.read():
                return proc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    with open(log_path, encoding="utf-8", errors="replace") as f:
        sys.exit(f"{what} did not start (no \"{ready}\" in its log):\n"
                 f"{f.read()}")


def stop(proc, timeout_s=30):
    """SIGTERM, then SIGKILL after `timeout_s`."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cmake_cache(build_dir):
    """The CMakeCache.txt of `build_dir` as {name: value}; {} without one."""
    values = {}
    cache = os.path.join(build_dir, "CMakeCache.txt")
    if not os.path.exists(cache):
        return values
    with open(cache, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"^([A-Za-z_]+):[A-Z]+=(.*)$", line.rstrip("\n"))
            if m:
                values[m.group(1)] = m.group(2)
    return values


def build_flags(values):
    """The C++ flags a build's compile lines carry, from its CMake cache:
    CMAKE_CXX_FLAGS, the build type's flags, and -march=native when the
    project's MOVIEREC_NATIVE option is on."""
    build_type = values.get("CMAKE_BUILD_TYPE", "")
    return " ".join(x for x in [
        values.get("CMAKE_CXX_FLAGS", ""),
        values.get(f"CMAKE_CXX_FLAGS_{build_type.upper()}", ""),
        "-march=native" if values.get("MOVIEREC_NATIVE") == "ON" else ""]
        if x).strip()


# What the benchmarks themselves write during a run: not a dirty tree.
BENCH_OUTPUTS = ("tests/bench/results", "tests/bench/plots",
                 "tests/bench/BENCHMARKS.md")


def git_state(source):
    """(`git describe --always`, dirty) of the checkout at `source`; dirty
    means changes outside what the benchmarks write. (None, None) when it is
    not a git checkout."""
    try:
        commit = subprocess.run(
            ["git", "-C", source, "describe", "--always"],
            check=True, capture_output=True, text=True).stdout.strip()
        changes = subprocess.run(
            ["git", "-C", source, "status", "--porcelain", "--", "."] +
            [f":!{p}" for p in BENCH_OUTPUTS],
            check=True, capture_output=True, text=True).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None, None
    return commit, bool(changes)


def build_info(binary):
    """What is known of how `binary` was built: its CMake build directory's
    type and flags, and the commit of the source it was built from."""
    info = {"binary": os.path.abspath(binary)}
    build_dir = os.path.dirname(os.path.dirname(os.path.abspath(binary)))
    values = cmake_cache(build_dir)
    if not values:
        return info
    info.update(build_type=values.get("CMAKE_BUILD_TYPE", ""),
                cxx_flags=build_flags(values),
                compiler=values.get("CMAKE_CXX_COMPILER", ""))
    source = values.get("CMAKE_HOME_DIRECTORY")
    if source:
        commit, dirty = git_state(source)
        if commit:
            info["commit"] = commit + ("-dirty" if dirty else "")
    return info


class CpuQuota:
    """A cgroup that caps its processes at a fraction of one core (a CFS
    quota, as Kubernetes' resources.limits.cpu sets for a container): the
    server of a benchmark gets a third of its core, say, so that a load
    generator on a whole core can offer it three times what it can serve.
    cgroup v2 (cpu.max) or v1 (cpu.cfs_quota_us); needs root."""

    def __init__(self, fraction, period_us):
        if not 0 < fraction <= 1:
            sys.exit(f"CPU quota {fraction}: give a fraction of a core, "
                     "in (0, 1]")
        if period_us < 1000:
            sys.exit(f"CPU quota period {period_us} us: at least 1000")
        name = f"movierec-bench-{os.getpid()}"
        quota_us = max(1000, round(fraction * period_us))
        v2 = "/sys/fs/cgroup"
        v1 = "/sys/fs/cgroup/cpu"
        try:
            if os.path.exists(os.path.join(v2, "cgroup.subtree_control")):
                with open(os.path.join(v2, "cgroup.subtree_control"),
                          "w", encoding="utf-8") as f:
                    f.write("+cpu")
                self.path = os.path.join(v2, name)
                os.makedirs(self.path)
                self._write("cpu.max", f"{quota_us} {period_us}")
            elif os.path.exists(os.path.join(v1, "cpu.cfs_quota_us")):
                self.path = os.path.join(v1, name)
                os.makedirs(self.path)
                self._write("cpu.cfs_period_us", str(period_us))
                self._write("cpu.cfs_quota_us", str(quota_us))
            else:
                sys.exit("CPU quota: no cgroup v2 cpu.max or v1 "
                         "cpu.cfs_quota_us under /sys/fs/cgroup")
        except OSError as e:
            sys.exit(f"CPU quota: cannot create a cgroup ({e}); it needs "
                     "root and a writable /sys/fs/cgroup")
        self.fraction = quota_us / period_us
        self.period_us = period_us

    def _write(self, name, value):
        with open(os.path.join(self.path, name), "w", encoding="utf-8") as f:
            f.write(value)

    def add(self, pid):
        """Moves the process `pid`, all its threads, into the cgroup."""
        self._write("cgroup.procs", str(pid))

    def throttled_seconds(self):
        """The time the cgroup's processes were held back by the quota."""
        with open(os.path.join(self.path, "cpu.stat"), encoding="utf-8") as f:
            stat = dict(line.split() for line in f if line.strip())
        if "throttled_usec" in stat:
            return int(stat["throttled_usec"]) / 1e6
        return int(stat.get("throttled_time", 0)) / 1e9

    def remove(self):
        try:
            os.rmdir(self.path)
        except OSError:
            pass


def add_run_arguments(parser):
    """The flags every server benchmark takes: the load generator, the model,
    where results and work files go, and the cores of server and generator."""
    parser.add_argument("--loadgen", required=True)
    parser.add_argument("--model_base", required=True)
    parser.add_argument("--version", type=int, default=1)
    parser.add_argument("--json", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--server_cpus", default="0")
    parser.add_argument("--loadgen_cpus", default="1")


def write_result(path, result):
    """Writes a benchmark's result as indented JSON and says so."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(f"{os.path.basename(sys.argv[0]).removesuffix('.py')}: wrote "
          f"{path}", file=sys.stderr, flush=True)
