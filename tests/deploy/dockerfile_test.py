"""The Dockerfile's invariants: two stages on debian:bookworm-slim, a runtime
stage with the three binaries and a non-root user, ports, volume and
entrypoint flags that agree with movierec-server's flags and with the
Kubernetes Deployment, a build stage that copies every source folder, a
.dockerignore that keeps downloaded data and build trees out of the build
context, the OCI labels (title, version, revision, source, licenses,
created: the changing ones from build arguments that deploy/build-image.sh
passes), the software bill of materials (the runtime stage's package list
at SBOM_PATH, written after its last package change), and the LICENSE.

Each check is also run on a broken copy, to show it catches the break.
"""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deploy_facts as facts  # noqa: E402

BINARIES = ("movierec-server", "movierec-train", "movierec-client")
BASE_IMAGE = "debian:bookworm-slim"


def dockerfile_problems(text, server_flags, executables, deployment=None,
                        source_folders=()):
    """Every way the Dockerfile `text` breaks the invariants."""
    problems = []
    stages = facts.parse_dockerfile(text)
    if len(stages) != 2:
        return [f"expected 2 stages (build, runtime), found {len(stages)}"]
    build, runtime = stages
    # The build stage copies every folder the binaries are built from.
    build_copied = set()
    for argument in facts.instructions(build, "COPY"):
        _, sources, _ = facts.copy_sources(argument)
        build_copied.update(s.rstrip("/") for s in sources)
    for folder in source_folders:
        if folder not in build_copied:
            problems.append(f"the build stage does not copy {folder}/")
    for stage in stages:
        if stage["from"] != BASE_IMAGE:
            problems.append(f"stage {stage['name']} is FROM {stage['from']}, "
                            f"not {BASE_IMAGE}")
    if not build["name"]:
        problems.append("the build stage has no name (FROM ... AS build)")
    build_runs = " ".join(facts.instructions(build, "RUN"))
    for name in BINARIES:
        if name not in executables:
            problems.append(f"CMake defines no executable {name}")
        if name not in build_runs:
            problems.append(f"the build stage does not build {name}")

    # Runtime: only the binaries, copied from the build stage; no sources.
    copied = []
    for argument in facts.instructions(runtime, "COPY"):
        flags, sources, dest = facts.copy_sources(argument)
        from_build = f"--from={build['name']}" in flags
        if not from_build and "." in sources:
            problems.append("the runtime stage copies the source tree")
        if from_build and dest.rstrip("/") == "/usr/local/bin":
            copied += [os.path.basename(s) for s in sources]
    if sorted(copied) != sorted(BINARIES):
        problems.append(f"the runtime stage copies {sorted(copied)} into "
                        f"/usr/local/bin, not the three binaries")
    runtime_runs = " ".join(facts.instructions(runtime, "RUN"))
    for package in re.findall(r"\b[\w.+-]+-dev\b", runtime_runs):
        problems.append(f"the runtime stage installs {package}")
    if re.search(r"\b(g\+\+|build-essential|cmake)\b", runtime_runs):
        problems.append("the runtime stage installs a compiler or cmake")

    # A non-root user that the runtime stage creates.
    users = facts.instructions(runtime, "USER")
    if not users:
        problems.append("the runtime stage has no USER: it would run as root")
    else:
        user = users[-1].split(":")[0]
        if user in ("root", "0"):
            problems.append(f"USER {users[-1]} is root")
        elif not user.isdigit():
            problems.append(f"USER {users[-1]} is not numeric: Kubernetes' "
                            "runAsNonRoot cannot verify a user name")
        elif f"--uid {user}" not in runtime_runs:
            problems.append(f"USER {user} is not created by useradd --uid")

    # Entrypoint: movierec-server, exec form, real flags, all interfaces.
    entrypoints = facts.instructions(runtime, "ENTRYPOINT")
    entrypoint = facts.exec_form(entrypoints[-1]) if entrypoints else None
    if not entrypoint:
        return problems + ["the runtime stage has no exec-form ENTRYPOINT"]
    if entrypoint[0] != "/usr/local/bin/movierec-server":
        problems.append(f"ENTRYPOINT runs {entrypoint[0]}")
    problems += facts.flag_problems("ENTRYPOINT", entrypoint[1:], server_flags)
    flags = facts.effective_flags(server_flags, entrypoint[1:])
    for address in ("listen_address", "metrics_address"):
        if flags.get(address) != "0.0.0.0":
            problems.append(f"ENTRYPOINT leaves --{address}="
                            f"{flags.get(address)}: unreachable from outside")

    # Ports: EXPOSE is the server's gRPC, metrics and HTTP ports (the last
    # unless -1 turns HTTP off).
    exposed = set()
    for argument in facts.instructions(runtime, "EXPOSE"):
        exposed.update(int(p.split("/")[0]) for p in argument.split())
    ports = {int(flags.get("port", -1)), int(flags.get("metrics_port", -1))}
    if int(flags.get("http_port", -1)) != -1:
        ports.add(int(flags["http_port"]))
    if exposed != ports:
        problems.append(f"EXPOSE {sorted(exposed)} is not the server's "
                        f"--port, --metrics_port and --http_port "
                        f"{sorted(ports)}")

    # The model base is a volume the image's user owns.
    volumes = []
    for argument in facts.instructions(runtime, "VOLUME"):
        volumes += facts.exec_form(argument) or argument.split()
    model_base = flags.get("model_base")
    if not model_base:
        problems.append("ENTRYPOINT sets no --model_base")
    elif volumes != [model_base]:
        problems.append(f"VOLUME {volumes} is not --model_base={model_base}")
    elif not re.search(rf"chown \S+ {re.escape(model_base)}\b", runtime_runs):
        problems.append(f"{model_base} is not chowned to the image's user")

    problems += label_problems(runtime)
    problems += sbom_problems(runtime)
    if deployment is not None:
        problems += deployment_agreement(flags, exposed, users, deployment)
    return problems


# The OCI annotations the image carries (github.com/opencontainers/image-spec,
# annotations.md), and the SPDX licence of LICENSE.
OCI_LABELS = ("title", "version", "revision", "source", "licenses", "created")
# Those that change with each build: a build argument, filled by
# deploy/build-image.sh.
OCI_FROM_BUILD = ("version", "revision", "source", "created")
LICENSE_SPDX = "Apache-2.0"
SBOM_PATH = "/usr/share/doc/movierec/sbom-packages.txt"


def parse_labels(argument):
    """KEY=VALUE pairs of a LABEL instruction."""
    return dict(re.findall(r'([\w./-]+)=("(?:[^"\\]|\\.)*"|\S+)', argument))


def label_problems(runtime):
    problems = []
    labels = {}
    for argument in facts.instructions(runtime, "LABEL"):
        labels.update({k: v.strip('"') for k, v in
                       parse_labels(argument).items()})
    args = {a.split("=")[0] for a in facts.instructions(runtime, "ARG")}
    for name in OCI_LABELS:
        key = f"org.opencontainers.image.{name}"
        value = labels.get(key)
        if not value:
            problems.append(f"the image has no {key} label")
            continue
        if name in OCI_FROM_BUILD:
            match = re.fullmatch(r"\$\{?(\w+)\}?", value)
            if not match:
                problems.append(f"{key} is fixed ({value}), not a build "
                                "argument")
            elif match.group(1) not in args:
                problems.append(f"{key} uses ${match.group(1)}, which the "
                                "runtime stage declares no ARG for")
    licenses = labels.get("org.opencontainers.image.licenses")
    if licenses and licenses != LICENSE_SPDX:
        problems.append(f"org.opencontainers.image.licenses is {licenses}, "
                        f"not {LICENSE_SPDX}")
    return problems


def sbom_problems(runtime):
    """The runtime stage lists its Debian packages at SBOM_PATH, after its
    last apt-get install (in the same RUN or a later one)."""
    runs = facts.instructions(runtime, "RUN")
    writes = [i for i, run in enumerate(runs)
              if re.search(r"dpkg-query -W\b[^>]*>\s*" + re.escape(SBOM_PATH),
                           run)]
    if not writes:
        return [f"the runtime stage writes no package list (dpkg-query -W) "
                f"to {SBOM_PATH}"]
    installs = [i for i, run in enumerate(runs)
                if re.search(r"apt-get (install|remove|purge)|dpkg -i", run)]
    problems = []
    if installs and writes[-1] < installs[-1]:
        problems.append(f"{SBOM_PATH} is written before the last package "
                        "change")
    elif installs and writes[-1] == installs[-1]:
        run = runs[writes[-1]]
        if run.rindex("dpkg-query -W") < max(
                m.start() for m in re.finditer(r"apt-get install", run)):
            problems.append(f"{SBOM_PATH} is written before the last package "
                            "change")
    return problems


def build_script_problems(script, dockerfile):
    """deploy/build-image.sh passes every build argument the OCI labels
    use."""
    problems = []
    runtime = facts.parse_dockerfile(dockerfile)[-1]
    labels = {}
    for argument in facts.instructions(runtime, "LABEL"):
        labels.update(parse_labels(argument))
    for name in OCI_FROM_BUILD:
        value = labels.get(f"org.opencontainers.image.{name}", "")
        match = re.search(r"\$\{?(\w+)", value)
        if match and f"--build-arg {match.group(1)}=" not in script:
            problems.append(f"deploy/build-image.sh passes no --build-arg "
                            f"{match.group(1)} (org.opencontainers.image."
                            f"{name})")
    return problems


def deployment_agreement(flags, exposed, users, deployment):
    """The Deployment runs this image as the image expects."""
    problems = []
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    container_ports = {p["containerPort"] for p in container.get("ports", [])}
    if container_ports != exposed:
        problems.append(f"the Deployment's containerPorts "
                        f"{sorted(container_ports)} are not EXPOSE "
                        f"{sorted(exposed)}")
    mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
    if flags.get("model_base") not in mounts:
        problems.append(f"the Deployment mounts nothing at the image's "
                        f"--model_base {flags.get('model_base')}")
    run_as = str(pod.get("securityContext", {}).get("runAsUser"))
    if users and run_as != users[-1].split(":")[0]:
        problems.append(f"the Deployment runs as {run_as}, the image as "
                        f"{users[-1]}")
    return problems


def dockerignore_problems(text):
    patterns = {line.strip() for line in text.splitlines()
                if line.strip() and not line.startswith("#")}
    problems = []
    # MovieLens is downloaded under build/ (deploy/quickstart.sh), never
    # into the data/ layer's sources, which the build needs.
    for needed in (".git/", "build*/"):
        if needed not in patterns:
            problems.append(f".dockerignore does not exclude {needed}")
    for kept in ("data/", "data", "/data/", "/data"):
        if kept in patterns:
            problems.append(f".dockerignore excludes {kept}: the data layer's "
                            "sources")
    return problems


class DockerfileTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        with open(facts.source("Dockerfile"), encoding="utf-8") as f:
            cls.text = f.read()
        cls.server_flags = facts.binary_flags("movierec-server")
        cls.executables = facts.cmake_executables()
        cls.source_folders = facts.cmake_source_folders()
        cls.deployment = next(
            d for d in facts.render(facts.source("deploy", "k8s"))
            if d["kind"] == "Deployment")

    def problems(self, text, deployment=None):
        return dockerfile_problems(text, self.server_flags, self.executables,
                                   deployment, self.source_folders)

    def test_dockerfile_keeps_its_invariants(self):
        self.assertEqual(self.problems(self.text, self.deployment), [])

    def test_help_lists_each_binarys_own_flags(self):
        # The image's smoke test and operators run --help: it must list the
        # flags (absl's default lists none for a main not named after the
        # binary).
        for name in BINARIES:
            flags = facts.binary_flags(name)
            result = subprocess.run([facts.binary(name), "--help"],
                                    capture_output=True, text=True,
                                    timeout=30, check=False)
            for flag in flags:
                self.assertIn(f"--{flag} (", result.stdout + result.stderr,
                              f"{name} --help")

    def test_dockerignore_keeps_data_and_builds_out(self):
        with open(facts.source(".dockerignore"), encoding="utf-8") as f:
            self.assertEqual(dockerignore_problems(f.read()), [])
        self.assertIn(".dockerignore does not exclude build*/",
                      dockerignore_problems(".git/\n"))
        self.assertIn(".dockerignore excludes data/: the data layer's sources",
                      dockerignore_problems(".git/\nbuild*/\ndata/\n"))

    def test_catches_a_source_folder_left_out_of_the_build(self):
        self.assert_caught("COPY train train\n", "",
                           "the build stage does not copy train/")

    def assert_caught(self, old, new, expected, deployment=None):
        self.assertIn(old, self.text, "the mutation no longer applies")
        broken = self.text.replace(old, new)
        problems = self.problems(broken, deployment)
        self.assertTrue(any(expected in p for p in problems),
                        f"{old!r} -> {new!r} not caught: {problems}")

    def test_catches_a_port_that_the_server_does_not_use(self):
        self.assert_caught("EXPOSE 50051 9464 8080", "EXPOSE 50052 9464 8080",
                           "EXPOSE [8080, 9464, 50052]")
        self.assert_caught("EXPOSE 50051 9464 8080", "EXPOSE 50051 9464",
                           "EXPOSE [9464, 50051] is not the server's --port, "
                           "--metrics_port and --http_port [8080, 9464, 50051]")

    def test_license_and_readme(self):
        with open(facts.source("LICENSE"), encoding="utf-8") as f:
            text = f.read()
        self.assertIn("Apache License", text)
        self.assertIn("Version 2.0, January 2004", text)
        self.assertIn("END OF TERMS AND CONDITIONS", text)
        with open(facts.source("README.md"), encoding="utf-8") as f:
            readme = f.read()
        self.assertRegex(readme, r"Apache License 2\.0.*\(LICENSE\)")
        self.assertLessEqual(len(readme.splitlines()), 200)

    def test_oci_labels_come_from_the_build(self):
        self.assertEqual(label_problems(facts.parse_dockerfile(self.text)[-1]),
                         [])
        with open(facts.source("deploy", "build-image.sh"),
                  encoding="utf-8") as f:
            script = f.read()
        self.assertEqual(build_script_problems(script, self.text), [])
        self.assertTrue(any("--build-arg MOVIEREC_CREATED" in p for p in
                            build_script_problems(
                                script.replace("--build-arg MOVIEREC_CREATED=",
                                               ""), self.text)))

    def test_catches_a_missing_or_fixed_label(self):
        self.assert_caught(
            '      org.opencontainers.image.revision="${MOVIEREC_REVISION}"'
            ' \\\n',
            "", "no org.opencontainers.image.revision label")
        self.assert_caught(
            'org.opencontainers.image.created="${MOVIEREC_CREATED}"',
            'org.opencontainers.image.created="2024-01-01T00:00:00Z"',
            "org.opencontainers.image.created is fixed")
        self.assert_caught("ARG MOVIEREC_SOURCE=unknown\n", "",
                           "declares no ARG for")
        self.assert_caught('org.opencontainers.image.licenses="Apache-2.0"',
                           'org.opencontainers.image.licenses="MIT"',
                           "not Apache-2.0")

    def test_sbom_is_written_and_documented(self):
        self.assertEqual(sbom_problems(facts.parse_dockerfile(self.text)[-1]),
                         [])
        with open(facts.source("docs", "operations.md"),
                  encoding="utf-8") as f:
            self.assertIn(SBOM_PATH, f.read())

    def test_catches_a_missing_or_early_sbom(self):
        self.assert_caught("| sort > " + SBOM_PATH, "| sort > /tmp/x",
                           "writes no package list")
        self.assert_caught("USER 10001:10001",
                           "RUN apt-get update && apt-get install -y curl\n"
                           "USER 10001:10001",
                           "written before the last package change")

    def test_catches_a_root_or_named_user(self):
        self.assert_caught("USER 10001:10001", "USER root", "is root")
        self.assert_caught("USER 10001:10001", "USER movierec",
                           "not numeric")

    def test_catches_a_volume_that_is_not_the_model_base(self):
        self.assert_caught('VOLUME ["/models"]', 'VOLUME ["/model"]',
                           "is not --model_base=/models")

    def test_catches_an_unknown_or_loopback_flag(self):
        self.assert_caught('"--listen_address=0.0.0.0"',
                           '"--listen_adress=0.0.0.0"',
                           "--listen_adress is not a flag")
        self.assert_caught('"--metrics_address=0.0.0.0"',
                           '"--metrics_address=127.0.0.1"',
                           "--metrics_address=127.0.0.1")

    def test_catches_dev_packages_or_sources_in_the_runtime_stage(self):
        self.assert_caught("USER 10001:10001",
                           "RUN apt-get install -y libgrpc++-dev\n"
                           "USER 10001:10001", "installs libgrpc++-dev")
        self.assert_caught("USER 10001:10001", "COPY . /src\nUSER 10001:10001",
                           "copies the source tree")

    def test_catches_a_deployment_that_disagrees(self):
        deployment = {"spec": {"template": {"spec": {
            "securityContext": {"runAsUser": 0},
            "containers": [{"ports": [{"containerPort": 8080}],
                            "volumeMounts": [{"mountPath": "/srv"}]}]}}}}
        problems = self.problems(self.text, deployment)
        self.assertTrue(any("containerPorts [8080]" in p for p in problems))
        self.assertTrue(any("mounts nothing at" in p for p in problems))
        self.assertTrue(any("runs as 0" in p for p in problems))


if __name__ == "__main__":
    unittest.main(verbosity=2)
