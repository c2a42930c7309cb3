"""The Kubernetes manifests' invariants, on what `kubectl kustomize` renders
(the base, deploy/k8s, and the example overlay): ports, probes (liveness and
startup on "", readiness on the Recommender, a startup budget of seconds),
flags and paths agree with movierec-server's and movierec-train's code and
with the Dockerfile's entrypoint; Services, the ServiceMonitor, the HPA and
the PDB select what they should; the trainer writes where the servers read;
every container runs hardened (non-root, read-only root filesystem, no
privilege escalation, no capabilities) and no manifest carries a secret; a
NetworkPolicy admits the gRPC and HTTP ports from labelled clients and the
metrics port from Prometheus only; the servers spread across nodes and
zones; the operations guide's deploy-by-digest renders image@sha256.

Each check is also run on a broken copy, to show it catches the break.
"""

import copy
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deploy_facts as facts  # noqa: E402


# The longest start the startup probe allows: the server listens (and
# liveness passes) seconds after it starts, before any model is loaded.
MAX_STARTUP_SECONDS = 60


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def one(docs, kind, pred=lambda d: True):
    found = [d for d in by_kind(docs, kind) if pred(d)]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind}, found {len(found)}")
    return found[0]


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v
                                  for k, v in selector.items())


def image_entrypoint():
    with open(facts.source("Dockerfile"), encoding="utf-8") as f:
        stages = facts.parse_dockerfile(f.read())
    return facts.exec_form(facts.instructions(stages[-1], "ENTRYPOINT")[-1])


def expand_env(args, container, docs):
    """Replaces $(VAR) with the value Kubernetes would give it (literal env
    or a key of a rendered ConfigMap); unknown variables stay as they are."""
    values = {}
    for env in container.get("env", []):
        if "value" in env:
            values[env["name"]] = env["value"]
        ref = env.get("valueFrom", {}).get("configMapKeyRef")
        if ref:
            maps = [d for d in by_kind(docs, "ConfigMap")
                    if d["metadata"]["name"] == ref["name"]]
            if maps and ref["key"] in maps[0].get("data", {}):
                values[env["name"]] = maps[0]["data"][ref["key"]]
    return [re.sub(r"\$\((\w+)\)", lambda m: values.get(m.group(1), m.group(0)),
                   a) for a in args]


def server_problems(docs, server_flags, health_names, entrypoint):
    problems = []
    deployment = one(docs, "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    pod_labels = spec["template"]["metadata"].get("labels", {})
    container = pod["containers"][0]
    name = deployment["metadata"]["name"]

    if spec.get("replicas") != 2:
        problems.append(f"{name} has {spec.get('replicas')} replicas, not 2")
    if not matches(spec["selector"]["matchLabels"], pod_labels):
        problems.append(f"{name}'s selector does not match its pods")
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if resource not in container.get("resources", {}).get(kind, {}):
                problems.append(f"{name} sets no {resource} {kind}")

    # Flags: the image's entrypoint, then the container's args.
    if container.get("command"):
        problems.append(f"{name} replaces the image's entrypoint")
    args = expand_env(container.get("args", []), container, docs)
    problems += facts.flag_problems(f"{name} args", args, server_flags)
    for arg in args:
        if "$(" in arg:
            problems.append(f"{name}: {arg} names an undefined variable")
    flags = facts.effective_flags(server_flags, entrypoint[1:], args)
    version = flags.get("model_version") or "0"
    if not version.isdigit():
        problems.append(f"{name}: --model_version={version} is not a "
                        "non-negative integer")
    for address in ("listen_address", "metrics_address"):
        if flags.get(address) != "0.0.0.0":
            problems.append(f"{name}: --{address}={flags.get(address)}")

    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    grpc_port = int(flags["port"])
    metrics_port = int(flags["metrics_port"])
    http_port = int(flags["http_port"])
    if ports.get("http") != http_port:
        problems.append(f"{name}: containerPort http {ports.get('http')} is "
                        f"not --http_port {http_port}")
    if ports.get("grpc") != grpc_port:
        problems.append(f"{name}: containerPort grpc {ports.get('grpc')} is "
                        f"not --port {grpc_port}")
    if ports.get("metrics") != metrics_port:
        problems.append(f"{name}: containerPort metrics {ports.get('metrics')}"
                        f" is not --metrics_port {metrics_port}")
    http_port = int(flags.get("http_port", -1))
    if http_port != -1 and ports.get("http") != http_port:
        problems.append(f"{name}: containerPort http {ports.get('http')} is "
                        f"not --http_port {http_port}")

    # Native gRPC probes on the health service names the server sets.
    recommender, names = health_names
    for probe_kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        probe = container.get(probe_kind)
        if not probe or "grpc" not in probe:
            problems.append(f"{name} has no gRPC {probe_kind}")
            continue
        if probe["grpc"].get("port") != grpc_port:
            problems.append(f"{name}: {probe_kind} port "
                            f"{probe['grpc'].get('port')} is not --port "
                            f"{grpc_port}")
        service = probe["grpc"].get("service", "")
        if service not in names:
            problems.append(f"{name}: {probe_kind} asks for health service "
                            f"{service!r}; the server sets {sorted(names)}")
    readiness = container.get("readinessProbe", {}).get("grpc", {})
    if readiness.get("service") != recommender:
        problems.append(f"{name}: readiness is not on {recommender!r}")
    # Liveness (and the startup probe before it) is on "", which the server
    # answers SERVING as soon as it listens: on the Recommender, a server
    # waiting for the first model would be restarted.
    for probe_kind in ("livenessProbe", "startupProbe"):
        service = container.get(probe_kind, {}).get("grpc", {}).get(
            "service", "")
        if service != "":
            problems.append(f"{name}: {probe_kind} is on {service!r}, not "
                            "\"\" (liveness)")
    # The startup probe covers the process start only (seconds): a budget of
    # minutes would only delay restarting a server that hangs at start.
    startup = container.get("startupProbe", {})
    budget = startup.get("periodSeconds", 10) * startup.get(
        "failureThreshold", 3)
    if budget > MAX_STARTUP_SECONDS:
        problems.append(f"{name}: the startupProbe allows {budget} s, more "
                        f"than {MAX_STARTUP_SECONDS} s")

    # Graceful termination outlasts preStop plus the server's grace period.
    grace = facts.duration_seconds(flags["grace_period"])
    pre_stop = 0.0
    command = (container.get("lifecycle", {}).get("preStop", {})
               .get("exec", {}).get("command", []))
    if len(command) == 2 and command[0].endswith("sleep"):
        pre_stop = float(command[1])
    termination = pod.get("terminationGracePeriodSeconds", 30)
    if termination <= grace + pre_stop:
        problems.append(f"{name}: terminationGracePeriodSeconds {termination}"
                        f" <= preStop {pre_stop:g} s + --grace_period "
                        f"{grace:g} s")

    # The model volume: read-only, at the entrypoint's --model_base.
    mount = next((m for m in container.get("volumeMounts", [])
                  if m["mountPath"] == flags["model_base"]), None)
    if mount is None:
        problems.append(f"{name} mounts nothing at --model_base "
                        f"{flags['model_base']}")
    else:
        if not mount.get("readOnly"):
            problems.append(f"{name}: the model volume is not read-only")
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        claim = volume.get("persistentVolumeClaim", {}).get("claimName")
        if claim not in {d["metadata"]["name"]
                         for d in by_kind(docs, "PersistentVolumeClaim")}:
            problems.append(f"{name}: the model volume's claim {claim} is not "
                            "in the manifests")

    # Prometheus annotations name the metrics port.
    annotations = spec["template"]["metadata"].get("annotations", {})
    if annotations.get("prometheus.io/scrape") != "true":
        problems.append(f"{name}: no prometheus.io/scrape annotation")
    if annotations.get("prometheus.io/port") != str(metrics_port):
        problems.append(f"{name}: prometheus.io/port "
                        f"{annotations.get('prometheus.io/port')} is not "
                        f"--metrics_port {metrics_port}")
    if annotations.get("prometheus.io/path") != "/metrics":
        problems.append(f"{name}: prometheus.io/path is not /metrics")

    problems += service_problems(docs, pod_labels, ports, deployment)
    return problems


def service_problems(docs, pod_labels, ports, deployment):
    problems = []
    services = [s for s in by_kind(docs, "Service")
                if matches(s["spec"].get("selector"), pod_labels)]
    headless = [s for s in services if s["spec"].get("clusterIP") == "None"]
    cluster_ip = [s for s in services if s["spec"].get("clusterIP") != "None"
                  and s["spec"].get("type", "ClusterIP") == "ClusterIP"]
    if len(headless) != 1 or len(cluster_ip) != 1:
        problems.append(f"expected one headless and one ClusterIP Service "
                        f"selecting the servers, found {len(headless)} and "
                        f"{len(cluster_ip)}")
    for service in services:
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            number = ports.get(target) if isinstance(target, str) else target
            if number not in ports.values():
                problems.append(f"Service {service['metadata']['name']} port "
                                f"{port['name']} targets {target}, not a "
                                "container port")
            elif port.get("name") in ports and \
                    ports[port["name"]] != number:
                problems.append(f"Service {service['metadata']['name']} port "
                                f"{port['name']} targets {number}")
    for service in headless:
        if "grpc" not in {p["name"] for p in service["spec"]["ports"]}:
            problems.append("the headless Service has no grpc port")
    # HTTP/JSON (and the demo page) behind the stable virtual IP.
    for service in cluster_ip:
        if "http" in ports and \
                "http" not in {p["name"] for p in service["spec"]["ports"]}:
            problems.append(f"the Service {service['metadata']['name']} has "
                            "no http port")

    for monitor in by_kind(docs, "ServiceMonitor"):
        selected = [s for s in by_kind(docs, "Service") if matches(
            monitor["spec"]["selector"]["matchLabels"],
            s["metadata"].get("labels", {}))]
        if selected != cluster_ip:
            problems.append("the ServiceMonitor selects "
                            f"{[s['metadata']['name'] for s in selected]}, "
                            "not the ClusterIP Service alone")
        for endpoint in monitor["spec"]["endpoints"]:
            names = {p["name"] for s in selected for p in s["spec"]["ports"]}
            if endpoint.get("port") not in names or \
                    ports.get(endpoint.get("port")) is None:
                problems.append(f"the ServiceMonitor scrapes port "
                                f"{endpoint.get('port')}, not the metrics port")
            if endpoint.get("path", "/metrics") != "/metrics":
                problems.append("the ServiceMonitor's path is not /metrics")
    if not by_kind(docs, "ServiceMonitor"):
        problems.append("no ServiceMonitor")

    hpa = one(docs, "HorizontalPodAutoscaler")
    target = hpa["spec"]["scaleTargetRef"]
    if (target["kind"], target["name"]) != \
            ("Deployment", deployment["metadata"]["name"]):
        problems.append(f"the HPA scales {target['kind']}/{target['name']}")
    if hpa["spec"].get("minReplicas", 1) < 2:
        problems.append("the HPA may scale below 2 servers")
    pdb = one(docs, "PodDisruptionBudget")
    if not matches(pdb["spec"]["selector"]["matchLabels"], pod_labels):
        problems.append("the PodDisruptionBudget does not select the servers")
    if pdb["spec"].get("minAvailable", 0) >= hpa["spec"].get("minReplicas", 1):
        problems.append("the PodDisruptionBudget blocks every drain")
    return problems


# The label a client's pod carries to be let in (docs/operations.md,
# "Network policy"), and Prometheus' pod label.
CLIENT_LABEL = {"movierec-client": "true"}
PROMETHEUS_LABEL = {"app.kubernetes.io/name": "prometheus"}


def port_number(port, container_ports):
    """A NetworkPolicy port (a number or a container port's name) as a
    number; None when it names no container port."""
    value = port.get("port")
    if isinstance(value, str):
        return container_ports.get(value)
    return value


def network_policy_problems(docs):
    """One NetworkPolicy selects the servers and restricts ingress: the gRPC
    and HTTP ports from pods labelled CLIENT_LABEL only, the metrics port
    from Prometheus pods in a named namespace only, nothing else open."""
    problems = []
    deployment = one(docs, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"].get("labels", {})
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    policies = [p for p in by_kind(docs, "NetworkPolicy") if matches(
        p["spec"].get("podSelector", {}).get("matchLabels"), pod_labels)]
    if len(policies) != 1:
        return [f"expected one NetworkPolicy selecting the servers, found "
                f"{len(policies)}"]
    policy = policies[0]
    if "Ingress" not in policy["spec"].get("policyTypes", []):
        problems.append("the NetworkPolicy does not restrict Ingress")
    admitted = {}  # port number -> list of (namespace selector, pod selector)
    for rule in policy["spec"].get("ingress", []):
        if not rule.get("from"):
            problems.append("a NetworkPolicy rule admits every source")
            continue
        rule_ports = rule.get("ports")
        if not rule_ports:
            problems.append("a NetworkPolicy rule admits every port")
            continue
        for port in rule_ports:
            number = port_number(port, ports)
            if number not in ports.values():
                problems.append(f"the NetworkPolicy names port "
                                f"{port.get('port')}, not a container port")
                continue
            for peer in rule["from"]:
                if "ipBlock" in peer:
                    problems.append(f"port {number} is open to an ipBlock")
                    continue
                admitted.setdefault(number, []).append(
                    (peer.get("namespaceSelector"),
                     peer.get("podSelector", {}).get("matchLabels", {})))
    for name in ("grpc", "http"):
        peers = admitted.get(ports.get(name), [])
        if not peers:
            problems.append(f"the NetworkPolicy admits no client to {name}")
        for _, pods in peers:
            if pods != CLIENT_LABEL:
                problems.append(f"{name} is open to pods {pods}, not only to "
                                f"those labelled {CLIENT_LABEL}")
    peers = admitted.get(ports.get("metrics"), [])
    if not peers:
        problems.append("the NetworkPolicy admits no Prometheus to metrics")
    for namespaces, pods in peers:
        named = (namespaces or {}).get("matchLabels", {}).get(
            "kubernetes.io/metadata.name")
        if pods != PROMETHEUS_LABEL or not named:
            problems.append(f"metrics is open to pods {pods} in namespaces "
                            f"{namespaces}, not Prometheus alone")
    return problems


SPREAD_KEYS = ("kubernetes.io/hostname", "topology.kubernetes.io/zone")


def spread_problems(docs):
    """The servers spread over nodes (a hard rule) and zones."""
    problems = []
    deployment = one(docs, "Deployment")
    template = deployment["spec"]["template"]
    pod_labels = template["metadata"].get("labels", {})
    constraints = {c.get("topologyKey"): c for c in
                   template["spec"].get("topologySpreadConstraints", [])}
    for key in SPREAD_KEYS:
        constraint = constraints.get(key)
        if constraint is None:
            problems.append(f"the servers do not spread across {key}")
            continue
        if not matches(constraint.get("labelSelector", {}).get("matchLabels"),
                       pod_labels):
            problems.append(f"the {key} spread does not select the servers")
        if constraint.get("maxSkew", 0) < 1:
            problems.append(f"the {key} spread has no valid maxSkew")
    node = constraints.get(SPREAD_KEYS[0], {})
    if node and node.get("whenUnsatisfiable") != "DoNotSchedule":
        problems.append("the spread across nodes is not a hard rule "
                        "(DoNotSchedule)")
    return problems


def trainer_problems(docs, train_flags, model_base):
    """`model_base`: where the servers read versions (their --model_base)."""
    problems = []
    deployment = one(docs, "Deployment")
    server_pod = deployment["spec"]["template"]["spec"]
    server_container = server_pod["containers"][0]
    server_mount = next((m for m in server_container.get("volumeMounts", [])
                         if m["mountPath"] == model_base), None)
    if server_mount is None:
        return ["the servers mount no model volume: nothing to compare the "
                "trainers with"]
    server_claim = next(
        v for v in server_pod["volumes"] if v["name"] == server_mount["name"]
    ).get("persistentVolumeClaim", {}).get("claimName")

    pods = [("Job " + j["metadata"]["name"], j["spec"]["template"]["spec"])
            for j in by_kind(docs, "Job")]
    pods += [("CronJob " + c["metadata"]["name"],
              c["spec"]["jobTemplate"]["spec"]["template"]["spec"])
             for c in by_kind(docs, "CronJob")]
    if not by_kind(docs, "Job") or not by_kind(docs, "CronJob"):
        problems.append("expected a trainer Job and a trainer CronJob")
    for what, pod in pods:
        container = pod["containers"][0]
        if container.get("image") != server_container.get("image"):
            problems.append(f"{what} runs {container.get('image')}, the "
                            f"servers {server_container.get('image')}")
        words = container.get("command", []) + container.get("args", [])
        if words[:2] == ["/bin/sh", "-c"]:
            words = " ".join(words[2:]).split()
        if "/usr/local/bin/movierec-train" not in words:
            problems.append(f"{what} does not run "
                            "/usr/local/bin/movierec-train")
            continue
        args = words[words.index("/usr/local/bin/movierec-train") + 1:]
        problems += facts.flag_problems(what, args, train_flags)
        flags = facts.effective_flags(train_flags, args)
        mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
        base = mounts.get(flags.get("model_base"))
        if base is None:
            problems.append(f"{what} mounts nothing at its --model_base "
                            f"{flags.get('model_base')}")
            continue
        if base.get("readOnly"):
            problems.append(f"{what}: its model base is read-only")
        volume = next(v for v in pod["volumes"] if v["name"] == base["name"])
        claim = volume.get("persistentVolumeClaim", {}).get("claimName")
        if (claim, base.get("subPath")) != \
                (server_claim, server_mount.get("subPath")):
            problems.append(f"{what} writes to {claim}/{base.get('subPath')}"
                            f", the servers read {server_claim}/"
                            f"{server_mount.get('subPath')}")
        data_dir = flags.get("data_dir") or ""
        if not any(data_dir == p or data_dir.startswith(p.rstrip("/") + "/")
                   for p in mounts):
            problems.append(f"{what}: --data_dir {data_dir} is on no volume")
        if pod.get("restartPolicy") not in ("Never", "OnFailure"):
            problems.append(f"{what}: restartPolicy {pod.get('restartPolicy')}")
        problems += gate_problems(what, flags)
        if what.startswith("CronJob"):
            problems += retention_problems(what, flags, container, docs)
    return problems


# The gate's floors (train/quality_gate.h): shares in [0, 1].
GATE_FLOORS = ("min_ndcg_at_10", "min_recall_at_10")
# $VAR with a leading "0" removed (POSIX sh): the ConfigMap's "0" (no pin)
# becomes an empty --protect.
PROTECT_PIN = re.compile(r"^\$\{(\w+)#0\}$")


def gate_problems(what, flags):
    """The trainer runs the quality gate: both floors set, the relative gate
    on, never forced, no test-only flag."""
    problems = []
    for name in GATE_FLOORS:
        try:
            value = float(flags.get(name) or "nan")
        except ValueError:
            value = float("nan")
        if not 0 < value <= 1:
            problems.append(f"{what}: --{name}={flags.get(name)} is no floor "
                            "of the quality gate (a share in (0, 1])")
    try:
        tolerance = float(flags.get("max_relative_regression"))
    except (TypeError, ValueError):
        tolerance = float("nan")
    if not 0 <= tolerance < 1:
        problems.append(f"{what}: --max_relative_regression="
                        f"{flags.get('max_relative_regression')} turns the "
                        "relative gate off")
    if flags.get("force") not in ("false", "0"):
        problems.append(f"{what} runs with --force: the gate never refuses")
    for name, value in flags.items():
        if name.startswith("testonly_") and value not in ("false", "0", ""):
            problems.append(f"{what} sets the test-only --{name}")
    return problems


def retention_problems(what, flags, container, docs):
    """The CronJob keeps a bounded number of versions and protects the one
    the servers pin (their --model_version, from the same ConfigMap key)."""
    problems = []
    keep = flags.get("keep_versions") or ""
    if not keep.isdigit() or int(keep) < 1:
        problems.append(f"{what}: --keep_versions={keep or '(unset)'}: old "
                        "versions pile up on the volume")
    server = one(docs, "Deployment")["spec"]["template"]["spec"][
        "containers"][0]
    server_ref = next(
        (e["valueFrom"]["configMapKeyRef"] for e in server.get("env", [])
         if "$(" + e["name"] + ")" in " ".join(server.get("args", []))
         and any(a.startswith("--model_version=$(" + e["name"] + ")")
                 for a in server.get("args", []))
         and "configMapKeyRef" in e.get("valueFrom", {})), None)
    match = PROTECT_PIN.match(flags.get("protect") or "")
    ref = None
    if match:
        ref = next((e.get("valueFrom", {}).get("configMapKeyRef")
                    for e in container.get("env", [])
                    if e["name"] == match.group(1)), None)
    if server_ref is None or ref != server_ref:
        problems.append(f"{what}: --protect={flags.get('protect')} does not "
                        "protect the version the servers pin (their "
                        f"--model_version, {server_ref})")
    return problems


WORKLOAD_KINDS = ("Deployment", "Job", "CronJob")
# What a secret committed in a manifest would look like.
SECRET_PATTERN = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|(password|passwd|token|api[_-]?key)"
    r"\s*[:=]\s*\S", re.IGNORECASE)


def pod_spec(doc):
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def hardening_problems(docs):
    """Each container of each workload: run as non-root, a read-only root
    filesystem, no privilege escalation, every capability dropped; no Secret
    object and nothing that looks like a key or password anywhere."""
    problems = []
    for doc in docs:
        what = f"{doc['kind']} {doc['metadata']['name']}"
        if doc["kind"] == "Secret":
            problems.append(f"{what}: a Secret in the manifests")
        if SECRET_PATTERN.search(repr(doc)):
            problems.append(f"{what}: looks like it holds a secret")
        if doc["kind"] not in WORKLOAD_KINDS:
            continue
        pod = pod_spec(doc)
        pod_context = pod.get("securityContext", {})
        for c in pod.get("initContainers", []) + pod["containers"]:
            context = c.get("securityContext", {})
            where = f"{what} container {c['name']}"
            if not context.get("runAsNonRoot",
                               pod_context.get("runAsNonRoot", False)):
                problems.append(f"{where}: runAsNonRoot is not true")
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem is writable")
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: privilege escalation allowed")
            if "ALL" not in context.get("capabilities", {}).get("drop", []):
                problems.append(f"{where}: capabilities not all dropped")
    return problems


class KustomizeTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server_flags = facts.binary_flags("movierec-server")
        cls.train_flags = facts.binary_flags("movierec-train")
        cls.health = facts.health_service_names()
        cls.entrypoint = image_entrypoint()
        cls.base = facts.render(facts.source("deploy", "k8s"))
        cls.overlay = facts.render(
            facts.source("deploy", "k8s", "overlays", "example"))

    def problems(self, docs):
        model_base = facts.effective_flags(
            self.server_flags, self.entrypoint[1:])["model_base"]
        return (server_problems(docs, self.server_flags, self.health,
                                self.entrypoint) +
                trainer_problems(docs, self.train_flags, model_base) +
                hardening_problems(docs) + network_policy_problems(docs) +
                spread_problems(docs))

    def test_health_names_come_from_the_server(self):
        recommender, names = self.health
        self.assertEqual(recommender, "movierec.v1.Recommender")
        self.assertEqual(names, {"", recommender})

    def test_base_renders_every_kind(self):
        kinds = sorted(d["kind"] for d in self.base)
        for kind in ("ConfigMap", "CronJob", "Deployment",
                     "HorizontalPodAutoscaler", "Job",
                     "PersistentVolumeClaim", "PodDisruptionBudget",
                     "ServiceMonitor", "NetworkPolicy"):
            self.assertIn(kind, kinds)
        self.assertEqual(kinds.count("Service"), 2)

    def test_base_keeps_its_invariants(self):
        self.assertEqual(self.problems(self.base), [])

    def test_example_overlay_keeps_its_invariants(self):
        self.assertEqual(self.problems(self.overlay), [])
        namespaces = {d["metadata"].get("namespace") for d in self.overlay
                      if d["kind"] != "Namespace"}
        self.assertEqual(namespaces, {"movierec"})

    def assert_caught(self, mutate, expected):
        docs = copy.deepcopy(self.base)
        mutate(docs)
        problems = self.problems(docs)
        self.assertTrue(any(expected in p for p in problems),
                        f"not caught ({expected!r}): {problems}")

    def container(self, docs):
        return one(docs, "Deployment")["spec"]["template"]["spec"][
            "containers"][0]

    def test_catches_a_probe_on_another_port_or_service(self):
        def port(docs):
            self.container(docs)["livenessProbe"]["grpc"]["port"] = 50052
        self.assert_caught(port, "livenessProbe port 50052")

        def service(docs):
            self.container(docs)["readinessProbe"]["grpc"]["service"] = \
                "movierec.Recommender"
        self.assert_caught(service, "asks for health service")

    def test_liveness_and_startup_are_on_the_whole_server(self):
        container = self.container(self.base)
        self.assertEqual(container["livenessProbe"]["grpc"]["service"], "")
        self.assertEqual(container["startupProbe"]["grpc"]["service"], "")
        self.assertEqual(container["readinessProbe"]["grpc"]["service"],
                         "movierec.v1.Recommender")

    def test_catches_liveness_or_startup_on_the_recommender(self):
        for probe_kind in ("livenessProbe", "startupProbe"):
            def service(docs, probe_kind=probe_kind):
                self.container(docs)[probe_kind]["grpc"]["service"] = \
                    "movierec.v1.Recommender"
            self.assert_caught(service, f"{probe_kind} is on "
                               "'movierec.v1.Recommender'")

    def test_catches_a_startup_probe_that_waits_for_a_model(self):
        def ten_minutes(docs):
            probe = self.container(docs)["startupProbe"]
            probe["periodSeconds"] = 5
            probe["failureThreshold"] = 120
        self.assert_caught(ten_minutes, "the startupProbe allows 600 s")

    def test_catches_an_unknown_flag_or_port_mismatch(self):
        def flag(docs):
            self.container(docs)["args"].append("--threads=4x")
        self.assert_caught(flag, "--threads is not a flag")

        def port(docs):
            self.container(docs)["args"].append("--port=6000")
        self.assert_caught(port, "is not --port 6000")

        def http_port(docs):
            self.container(docs)["args"].append("--http_port=8081")
        self.assert_caught(http_port, "containerPort http 8080 is not "
                           "--http_port 8081")

    def test_catches_a_service_without_the_http_port(self):
        def no_http(docs):
            service = one(docs, "Service",
                          lambda s: s["spec"].get("clusterIP") != "None")
            service["spec"]["ports"] = [p for p in service["spec"]["ports"]
                                        if p["name"] != "http"]
        self.assert_caught(no_http, "the Service movierec has no http port")

    def test_catches_a_short_termination_grace(self):
        def grace(docs):
            one(docs, "Deployment")["spec"]["template"]["spec"][
                "terminationGracePeriodSeconds"] = 20
        self.assert_caught(grace, "terminationGracePeriodSeconds 20")

    def test_catches_a_writable_or_misplaced_model_volume(self):
        def writable(docs):
            self.container(docs)["volumeMounts"][0]["readOnly"] = False
        self.assert_caught(writable, "not read-only")

        def elsewhere(docs):
            self.container(docs)["volumeMounts"][0]["mountPath"] = "/srv"
        self.assert_caught(elsewhere, "mounts nothing at --model_base")

    def test_catches_a_trainer_writing_where_no_server_reads(self):
        def subpath(docs):
            cron = one(docs, "CronJob")
            pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            pod["containers"][0]["volumeMounts"][0]["subPath"] = "model"
        self.assert_caught(subpath, "writes to movierec-data/model")

    def trainer_args(self, docs, kind):
        pod = pod_spec(one(docs, kind))
        return pod["containers"][0]["args"]

    def test_trainers_run_the_quality_gate_and_retention(self):
        for kind in ("Job", "CronJob"):
            args = " ".join(self.trainer_args(self.base, kind))
            for flag in ("--min_ndcg_at_10=", "--min_recall_at_10=",
                         "--max_relative_regression=0.02"):
                self.assertIn(flag, args, kind)
        self.assertIn("--keep_versions=5",
                      " ".join(self.trainer_args(self.base, "CronJob")))

    def test_catches_a_trainer_without_the_gate(self):
        for kind in ("Job", "CronJob"):
            def no_floor(docs, kind=kind):
                args = self.trainer_args(docs, kind)
                args[-1] = args[-1].replace("--min_ndcg_at_10=0.40", "")
            self.assert_caught(no_floor, "--min_ndcg_at_10= is no floor")

            def forced(docs, kind=kind):
                self.trainer_args(docs, kind)[-1] += " --force"
            self.assert_caught(forced, "runs with --force")

            def off(docs, kind=kind):
                self.trainer_args(docs, kind)[-1] += \
                    " --max_relative_regression=1"
            self.assert_caught(off, "turns the relative gate off")

            def testonly(docs, kind=kind):
                self.trainer_args(docs, kind)[-1] += \
                    " --testonly_kill_during_removal"
            self.assert_caught(testonly, "sets the test-only")

    def test_catches_a_cronjob_without_retention(self):
        def unbounded(docs):
            args = self.trainer_args(docs, "CronJob")
            args[-1] = args[-1].replace("--keep_versions=5", "")
        self.assert_caught(unbounded, "--keep_versions=(unset)")

        def unprotected(docs):
            args = self.trainer_args(docs, "CronJob")
            args[-1] = re.sub(r"--protect=\S+", "", args[-1])
        self.assert_caught(unprotected, "does not protect the version the "
                           "servers pin")

        def other_key(docs):
            env = pod_spec(one(docs, "CronJob"))["containers"][0]["env"]
            env[0]["valueFrom"]["configMapKeyRef"]["key"] = "other"
        self.assert_caught(other_key, "does not protect the version")

    def test_protect_expression_drops_the_unpinned_zero(self):
        """${VAR#0} as /bin/sh expands it: the ConfigMap's 0 (no pin) is an
        empty --protect; a pinned version is itself."""
        for value, expected in (("0", ""), ("12", "12"), ("103", "103")):
            result = subprocess.run(
                ["/bin/sh", "-c", "echo \"--protect=${V#0}\""],
                env={"V": value}, capture_output=True, text=True, check=True)
            self.assertEqual(result.stdout.strip(), f"--protect={expected}")

    def test_catches_a_metrics_annotation_mismatch(self):
        def annotation(docs):
            one(docs, "Deployment")["spec"]["template"]["metadata"][
                "annotations"]["prometheus.io/port"] = "9090"
        self.assert_caught(annotation, "prometheus.io/port 9090")

    def test_catches_a_servicemonitor_selecting_both_services(self):
        def monitor(docs):
            one(docs, "ServiceMonitor")["spec"]["selector"]["matchLabels"] = {
                "app.kubernetes.io/name": "movierec"}
        self.assert_caught(monitor, "not the ClusterIP Service alone")

    def test_catches_a_container_that_is_not_hardened(self):
        def context(docs):
            return self.container(docs)["securityContext"]

        def writable(docs):
            context(docs)["readOnlyRootFilesystem"] = False
        self.assert_caught(writable, "root filesystem is writable")

        def root(docs):
            one(docs, "Deployment")["spec"]["template"]["spec"][
                "securityContext"]["runAsNonRoot"] = False
            context(docs).pop("runAsNonRoot", None)
        self.assert_caught(root, "runAsNonRoot is not true")

        def escalation(docs):
            del context(docs)["allowPrivilegeEscalation"]
        self.assert_caught(escalation, "privilege escalation allowed")

        def capabilities(docs):
            context(docs)["capabilities"] = {"drop": ["NET_RAW"]}
        self.assert_caught(capabilities, "capabilities not all dropped")

        def trainer(docs):
            pod_spec(one(docs, "CronJob"))["containers"][0][
                "securityContext"]["readOnlyRootFilesystem"] = False
        self.assert_caught(trainer, "root filesystem is writable")

    def test_catches_a_secret_in_the_manifests(self):
        def secret(docs):
            docs.append({"kind": "Secret", "metadata": {"name": "tls"},
                         "data": {"tls.key": "LS0t"}})
        self.assert_caught(secret, "a Secret in the manifests")

        def inline(docs):
            self.container(docs).setdefault("env", []).append(
                {"name": "DB", "value": "password=hunter2"})
        self.assert_caught(inline, "looks like it holds a secret")

    def policy(self, docs):
        return one(docs, "NetworkPolicy")["spec"]

    def test_catches_an_open_or_missing_network_policy(self):
        self.assert_caught(
            lambda docs: docs.remove(one(docs, "NetworkPolicy")),
            "expected one NetworkPolicy selecting the servers, found 0")

        def everyone(docs):
            self.policy(docs)["ingress"][0]["from"][0]["podSelector"] = {}
        self.assert_caught(everyone, "grpc is open to pods {}")

        def no_from(docs):
            del self.policy(docs)["ingress"][0]["from"]
        self.assert_caught(no_from, "admits every source")

        def all_ports(docs):
            del self.policy(docs)["ingress"][1]["ports"]
        self.assert_caught(all_ports, "admits every port")

        def metrics_to_clients(docs):
            self.policy(docs)["ingress"][0]["ports"].append(
                {"port": "metrics", "protocol": "TCP"})
        self.assert_caught(metrics_to_clients, "not Prometheus alone")

        def any_namespace(docs):
            peer = self.policy(docs)["ingress"][1]["from"][0]
            peer["namespaceSelector"] = {}
        self.assert_caught(any_namespace, "not Prometheus alone")

        def no_http(docs):
            self.policy(docs)["ingress"][0]["ports"].pop()
        self.assert_caught(no_http, "admits no client to http")

        def egress_only(docs):
            self.policy(docs)["policyTypes"] = ["Egress"]
        self.assert_caught(egress_only, "does not restrict Ingress")

    def test_catches_servers_that_do_not_spread(self):
        def spec(docs):
            return one(docs, "Deployment")["spec"]["template"]["spec"]

        def no_zone(docs):
            spec(docs)["topologySpreadConstraints"].pop()
        self.assert_caught(no_zone, "do not spread across "
                           "topology.kubernetes.io/zone")

        def soft_nodes(docs):
            spec(docs)["topologySpreadConstraints"][0][
                "whenUnsatisfiable"] = "ScheduleAnyway"
        self.assert_caught(soft_nodes, "not a hard rule")

        def other_pods(docs):
            spec(docs)["topologySpreadConstraints"][0]["labelSelector"] = {
                "matchLabels": {"app": "other"}}
        self.assert_caught(other_pods, "kubernetes.io/hostname spread does "
                           "not select the servers")

    def test_catches_an_http_port_mismatch(self):
        self.assert_caught(
            lambda docs: self.container(docs)["args"].append(
                "--http_port=8081"), "is not --http_port 8081")

    def test_deploying_by_digest_renders_an_image_digest(self):
        """The operations guide's way to deploy by digest (kustomize
        `images:` with `digest:`) gives every workload image@sha256:..."""
        with open(facts.source("docs", "operations.md"),
                  encoding="utf-8") as f:
            guide = f.read()
        digest = re.search(r"digest: (sha256:[0-9a-f]{64})", guide)
        self.assertIsNotNone(digest, "docs/operations.md shows no "
                             "`digest: sha256:...` in kustomize images:")
        # `kubectl set image ...@sha256:`, continuation lines allowed.
        self.assertRegex(guide,
                         r"kubectl[^\n]* set image (?:[^\n]|\\\n)*@sha256:")
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "kustomization.yaml"), "w",
                      encoding="utf-8") as f:
                # kustomize takes only a relative path to a base.
                base = os.path.relpath(facts.source("deploy", "k8s", "base"),
                                       tmp)
                f.write(f"resources:\n  - {base}\n"
                        "images:\n  - name: movierec\n"
                        "    newName: registry.example.com/movierec\n"
                        f"    digest: {digest.group(1)}\n")
            docs = facts.render(tmp)
        images = {c["image"] for d in docs if d["kind"] in WORKLOAD_KINDS
                  for c in pod_spec(d)["containers"]}
        self.assertEqual(images, {"registry.example.com/movierec@" +
                                  digest.group(1)})

    def test_bad_kustomization_fails_to_render(self):
        with self.assertRaises(RuntimeError):
            facts.render(facts.source("deploy", "k8s", "base", "missing"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
