"""What the deployment files must agree with, read from the code itself.

The deploy tests compare the Dockerfile, the Kubernetes manifests and the
Prometheus files with facts taken from the project as built, never with
copies: the flags and defaults that the binaries print with --helpfull, the
health service name in server/server.h, the metric names in
server/metrics.h and the build targets in CMake.

Environment (set by tests/CMakeLists.txt): MOVIEREC_SOURCE_DIR (the
checkout), MOVIEREC_BIN_DIR (the built movierec-server, -train, -client).
"""

import json
import os
import re
import shlex
import shutil
import subprocess

SOURCE_DIR = os.environ.get(
    "MOVIEREC_SOURCE_DIR",
    os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN_DIR = os.environ.get("MOVIEREC_BIN_DIR",
                         os.path.join(SOURCE_DIR, "build", "bin"))


def source(*parts):
    return os.path.join(SOURCE_DIR, *parts)


def binary(name):
    path = os.path.join(BIN_DIR, name)
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"{path} is not built (MOVIEREC_BIN_DIR)")
    return path


# --- flags, from the binaries -------------------------------------------

_FLAG = re.compile(r"^\s+--(\w+) \((.*?)\); default: (.*?);?$", re.DOTALL)


def binary_flags(name):
    """{flag: default} of the flags defined in the binary's own sources, as
    `NAME --helpfull` prints them (absl)."""
    result = subprocess.run([binary(name), "--helpfull"], capture_output=True,
                            text=True, timeout=30, check=False)
    text = result.stdout + result.stderr
    flags = {}
    in_own_file = False
    entry = ""
    for line in text.splitlines() + [""]:
        if re.match(r"^\s*Flags from ", line):
            if entry and in_own_file:
                _add_flag(flags, entry)
            entry = ""
            # absl groups flags by the file that defines them; ours are the
            # *_main.cc files and the shared logging flags
            # (util/log_flags.cc), not absl's or gRPC's.
            in_own_file = bool(re.search(r"(_main|/log_flags)\.cc:", line))
            continue
        if re.match(r"^\s+--\w+ \(", line) or not line.strip():
            # A flag starts a new entry; a blank line ends the group (the
            # last group is followed by absl's "Try --helpfull" trailer).
            if entry and in_own_file:
                _add_flag(flags, entry)
            entry = line if line.strip() else ""
        elif entry:
            entry += " " + line.strip()
    if entry and in_own_file:
        _add_flag(flags, entry)
    if not flags:
        raise RuntimeError(f"{name} --helpfull listed no flags:\n{text}")
    return flags


def _add_flag(flags, entry):
    match = _FLAG.match(entry.rstrip())
    if match:
        default = match.group(3).strip()
        if default.startswith('"') and default.endswith('"'):
            default = default[1:-1]
        flags[match.group(1)] = default


def parse_flag_args(args):
    """['--a=1', '--b', '2', '--c'] -> [('a', '1'), ('b', '2'), ('c', None)],
    in order (the last of a repeated flag wins, as in absl)."""
    out = []
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-"):
            out.append((None, arg))
            i += 1
            continue
        name = arg.lstrip("-")
        if "=" in name:
            name, value = name.split("=", 1)
        elif i + 1 < len(args) and not args[i + 1].startswith("-"):
            value = args[i + 1]
            i += 1
        else:
            value = None
        out.append((name, value))
        i += 1
    return out


def flag_problems(what, args, known_flags):
    """Flags in `args` that the binary does not define, or positional words."""
    problems = []
    for name, value in parse_flag_args(args):
        if name is None:
            problems.append(f"{what}: stray argument {value!r}")
        elif name not in known_flags:
            problems.append(f"{what}: --{name} is not a flag of the binary "
                            f"(known: {', '.join(sorted(known_flags))})")
    return problems


def effective_flags(defaults, *arg_lists):
    """The value of every flag after the command lines (last one wins)."""
    values = dict(defaults)
    for args in arg_lists:
        for name, value in parse_flag_args(args):
            if name is not None:
                values[name] = value
    return values


def duration_seconds(text):
    """absl duration text ('10s', '1m30s', '500ms', '0') -> seconds."""
    if text in ("0", "0s"):
        return 0.0
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    total = 0.0
    pos = 0
    for match in re.finditer(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)", text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * units[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"not an absl duration: {text!r}")
    return total


# --- server code --------------------------------------------------------


def health_service_names():
    """The health service names the server sets: "" and the Recommender's
    name (kRecommenderServiceName in server/server.h)."""
    with open(source("server", "server.h"), encoding="utf-8") as f:
        match = re.search(r'kRecommenderServiceName\[\]\s*=\s*"([^"]+)"',
                          f.read())
    if not match:
        raise RuntimeError("server/server.h defines no kRecommenderServiceName")
    with open(source("server", "server.cc"), encoding="utf-8") as f:
        # Without whitespace: clang-format may wrap a call's arguments.
        code = re.sub(r"\s+", "", f.read())
    names = set()
    if 'SetServingStatus("",true)' in code:
        names.add("")
    if "SetServingStatus(kRecommenderServiceName,true)" in code:
        names.add(match.group(1))
    return match.group(1), names


def metric_names_in_header():
    """The metric names documented at the top of server/metrics.h."""
    with open(source("server", "metrics.h"), encoding="utf-8") as f:
        return set(re.findall(r"^//\s+(movierec_\w+)", f.read(), re.MULTILINE))


def metric_families(exposition):
    """Names of the series in a Prometheus text exposition."""
    names = set()
    for line in exposition.splitlines():
        if line and not line.startswith("#"):
            names.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
    return names


def cmake_source_folders():
    """The folders the top CMakeLists.txt builds the binaries from (its
    add_subdirectory calls, tests/ left out)."""
    with open(source("CMakeLists.txt"), encoding="utf-8") as f:
        folders = re.findall(r"^add_subdirectory\(([\w/]+)\)", f.read(), re.M)
    return [f for f in folders if not f.startswith("tests")]


def cmake_executables():
    names = set()
    for folder in cmake_source_folders():
        with open(source(folder, "CMakeLists.txt"), encoding="utf-8") as f:
            names.update(re.findall(r"add_executable\(\s*([\w-]+)", f.read()))
    return names


# --- Dockerfile ---------------------------------------------------------


def parse_dockerfile(text):
    """A list of stages, each {'from', 'name', 'instructions': [(KEYWORD,
    argument text)]}; continuation lines joined, comments dropped."""
    lines = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    stages = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append({"from": words[0], "name": name, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((keyword, rest))
    return stages


def exec_form(argument):
    """The JSON array of an exec-form ENTRYPOINT/CMD/VOLUME, else None."""
    if argument.startswith("["):
        return json.loads(argument)
    return None


def instructions(stage, keyword):
    return [rest for k, rest in stage["instructions"] if k == keyword]


def copy_sources(argument):
    words = shlex.split(argument)
    flags = [w for w in words if w.startswith("--")]
    paths = [w for w in words if not w.startswith("--")]
    return flags, paths[:-1], paths[-1]


# --- Kubernetes ---------------------------------------------------------


def kubectl():
    path = shutil.which("kubectl")
    if path is None:
        raise FileNotFoundError(
            "kubectl is not on PATH: the Kubernetes tests render the manifests "
            "with `kubectl kustomize` (kubectl is not a Debian package; the "
            "project's machines have it as /usr/bin/kubectl). Install kubectl "
            ">= 1.27 to run them.")
    return path


def render(kustomization_dir):
    """`kubectl kustomize DIR`, parsed: a list of documents."""
    import yaml  # Debian python3-yaml
    result = subprocess.run([kubectl(), "kustomize", kustomization_dir],
                            capture_output=True, text=True, timeout=60,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {kustomization_dir} failed:\n"
                           f"{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
