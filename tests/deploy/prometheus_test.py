"""deploy/prometheus and deploy/grafana, checked with promtool (Debian
package prometheus) and against a live movierec-server:

- `promtool check config` on both scrape configs, `promtool check rules` and
  `promtool test rules` (alerts_test.yml) on the alerting rules;
- every PromQL expression of the Grafana dashboard parses (promtool checks
  them as recording rules);
- every movierec_* metric that the rules and the dashboard use is one that
  the server documents (server/metrics.h) and really exports (/metrics);
- the Kubernetes scrape config's relabelling turns the Deployment's pod into
  the target podIP:--metrics_port/metrics;
- every alert's runbook_url names a heading of the document it points at.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import deploy_facts as facts  # noqa: E402
import live_server  # noqa: E402
import yaml  # noqa: E402  (Debian python3-yaml)

PROMETHEUS_DIR = facts.source("deploy", "prometheus")
DASHBOARD = facts.source("deploy", "grafana", "movierec-dashboard.json")


def promtool(*args):
    path = shutil.which("promtool")
    if path is None:
        raise FileNotFoundError("promtool is not on PATH: install the Debian "
                                "package prometheus (deploy/install-deps.sh "
                                "--test does)")
    return subprocess.run([path, *args], capture_output=True, text=True,
                          timeout=60, check=False)


def dashboard_exprs(dashboard):
    exprs = []
    panels = list(dashboard["panels"])
    while panels:
        panel = panels.pop(0)
        panels += panel.get("panels", [])
        exprs += [(panel["title"], t["expr"]) for t in panel.get("targets", [])]
    exprs += [(a["name"], a["expr"])
              for a in dashboard.get("annotations", {}).get("list", [])
              if "expr" in a]
    return exprs


def grafana_to_promql(expr):
    """Grafana's variables replaced by what they stand for."""
    return (expr.replace("$__rate_interval", "5m")
            .replace("$__interval", "1m").replace("$instance", ".*"))


def metric_names(expr):
    return set(re.findall(r"\b(movierec_[a-z_]+)", expr))


def markdown_anchors(path):
    """The anchors GitHub gives the headings of a markdown file (outside
    fenced code)."""
    anchors = set()
    in_code = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                in_code = not in_code
            elif not in_code and re.match(r"#+ ", line):
                heading = line.lstrip("#").strip().lower()
                anchors.add(re.sub(r"[^\w\- ]", "", heading).replace(" ", "-"))
    return anchors


def relabel(labels, configs):
    """Prometheus' relabelling (the replace, keep and drop actions) on one
    target's labels; None when the target is dropped."""
    labels = dict(labels)
    for config in configs:
        source = config.get("separator", ";").join(
            labels.get(name, "") for name in config.get("source_labels", []))
        regex = re.compile("^(?:" + config.get("regex", "(.*)") + ")$")
        action = config.get("action", "replace")
        match = regex.match(source)
        if action == "keep" and not match:
            return None
        if action == "drop" and match:
            return None
        if action == "replace" and match:
            replacement = config.get("replacement", "$1")
            value = re.sub(r"\$(\d+)", lambda m: match.group(int(m.group(1)))
                           or "", replacement)
            labels[config["target_label"]] = value
    return labels


def pod_sd_labels(deployment, pod_ip):
    """The labels Kubernetes pod discovery gives one container port of a
    pod of `deployment`, as Prometheus documents them."""
    template = deployment["spec"]["template"]
    container = template["spec"]["containers"][0]
    port = container["ports"][0]["containerPort"]
    labels = {
        "__address__": f"{pod_ip}:{port}",
        "__metrics_path__": "/metrics",
        "__meta_kubernetes_namespace": "movierec",
        "__meta_kubernetes_pod_name": "movierec-server-abc",
        "__meta_kubernetes_pod_node_name": "node-1",
    }
    clean = lambda name: re.sub(r"[^a-zA-Z0-9_]", "_", name)  # noqa: E731
    for key, value in template["metadata"].get("labels", {}).items():
        labels["__meta_kubernetes_pod_label_" + clean(key)] = value
    for key, value in template["metadata"].get("annotations", {}).items():
        labels["__meta_kubernetes_pod_annotation_" + clean(key)] = value
    return labels


class PromtoolTest(unittest.TestCase):

    def assert_promtool_ok(self, *args):
        result = promtool(*args)
        self.assertEqual(result.returncode, 0,
                         f"promtool {' '.join(args)}:\n{result.stdout}"
                         f"{result.stderr}")
        return result.stdout + result.stderr

    def test_plain_scrape_config(self):
        out = self.assert_promtool_ok(
            "check", "config", os.path.join(PROMETHEUS_DIR, "prometheus.yml"))
        self.assertIn("SUCCESS", out)

    def test_kubernetes_scrape_config(self):
        path = os.path.join(PROMETHEUS_DIR, "prometheus-kubernetes.yml")
        result = promtool("check", "config", path)
        if result.returncode == 0:
            return  # an upstream promtool that knows kubernetes_sd_configs
        # Debian's Prometheus is built without Kubernetes discovery: check
        # everything else (the relabelling, the rules) with the discovery
        # swapped for a static target.
        self.assertIn("field kubernetes_sd_configs not found",
                      result.stdout + result.stderr)
        with open(path, encoding="utf-8") as f:
            config = yaml.safe_load(f)
        for job in config["scrape_configs"]:
            self.assertEqual(job.pop("kubernetes_sd_configs"), [{"role": "pod"}])
            job["static_configs"] = [{"targets": ["10.1.2.3:9464"]}]
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(os.path.join(PROMETHEUS_DIR, "alerts.yml"), tmp)
            swapped = os.path.join(tmp, "prometheus-kubernetes.yml")
            with open(swapped, "w", encoding="utf-8") as f:
                yaml.safe_dump(config, f)
            self.assert_promtool_ok("check", "config", swapped)

    def test_kubernetes_relabelling_finds_the_metrics_port(self):
        with open(os.path.join(PROMETHEUS_DIR, "prometheus-kubernetes.yml"),
                  encoding="utf-8") as f:
            job = yaml.safe_load(f)["scrape_configs"][0]
        deployment = next(d for d in facts.render(facts.source("deploy", "k8s"))
                          if d["kind"] == "Deployment")
        metrics_port = next(
            p["containerPort"] for p in
            deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
            if p["name"] == "metrics")
        target = relabel(pod_sd_labels(deployment, "10.1.2.3"),
                         job["relabel_configs"])
        self.assertIsNotNone(target, "the server pod is dropped")
        self.assertEqual(target["__address__"], f"10.1.2.3:{metrics_port}")
        self.assertEqual(target["__metrics_path__"], "/metrics")
        self.assertEqual(target["pod"], "movierec-server-abc")
        # A pod without the annotation, or of another app, is not scraped.
        del deployment["spec"]["template"]["metadata"]["annotations"][
            "prometheus.io/scrape"]
        self.assertIsNone(relabel(pod_sd_labels(deployment, "10.1.2.3"),
                                  job["relabel_configs"]))

    def test_alerting_rules_parse_and_pass_their_unit_tests(self):
        out = self.assert_promtool_ok(
            "check", "rules", os.path.join(PROMETHEUS_DIR, "alerts.yml"))
        self.assertIn("SUCCESS", out)
        with open(os.path.join(PROMETHEUS_DIR, "alerts.yml"),
                  encoding="utf-8") as f:
            alerts = {r["alert"] for g in yaml.safe_load(f)["groups"]
                      for r in g["rules"] if "alert" in r}
        for needed in ("MovierecHighErrorRate", "MovierecHighLatencyP99",
                       "MovierecModelReloadFailing", "MovierecNoModelLoaded",
                       "MovierecModelStale"):
            self.assertIn(needed, alerts)
        with open(os.path.join(PROMETHEUS_DIR, "alerts_test.yml"),
                  encoding="utf-8") as f:
            tested = {t["alertname"] for case in yaml.safe_load(f)["tests"]
                      for t in case.get("alert_rule_test", [])}
        self.assertEqual(alerts - tested, set(), "alerts without a unit test")
        self.assert_promtool_ok(
            "test", "rules", os.path.join(PROMETHEUS_DIR, "alerts_test.yml"))

    def test_staleness_age_is_configured_in_one_place(self):
        """MovierecModelStale compares with the recorded
        movierec:model_max_age_seconds (documented as the knob), and
        changing that number moves the alert: checked with promtool on a
        copy whose limit is 1 hour, against a version 2 hours old."""
        with open(os.path.join(PROMETHEUS_DIR, "alerts.yml"),
                  encoding="utf-8") as f:
            config = yaml.safe_load(f)
        rules = [r for g in config["groups"] for r in g["rules"]]
        record = next(r for r in rules
                      if r.get("record") == "movierec:model_max_age_seconds")
        self.assertRegex(record["expr"], r"^vector\(\d+\)$")
        stale = next(r for r in rules
                     if r.get("alert") == "MovierecModelStale")
        for name in ("movierec:model_max_age_seconds",
                     "movierec_model_created_timestamp_seconds"):
            self.assertIn(name, stale["expr"])
        record["expr"] = "vector(3600)"
        firing = ('ALERTS{alertname="MovierecModelStale",'
                  'alertstate="firing"}')
        test = {"rule_files": ["alerts.yml"], "evaluation_interval": "1m",
                "tests": [{
                    "interval": "1m",
                    "input_series": [{
                        "series": "movierec_model_created_timestamp_seconds"
                                  '{instance="a:9464"}',
                        "values": "60x200"}],
                    "promql_expr_test": [
                        {"expr": firing, "eval_time": "50m",
                         "exp_samples": []},
                        {"expr": firing, "eval_time": "2h",
                         "exp_samples": [{
                             "labels": 'ALERTS{alertname="MovierecModelStale",'
                                       'alertstate="firing",'
                                       'severity="warning"}',
                             "value": 1}]}]}]}
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "alerts.yml"), "w",
                      encoding="utf-8") as f:
                yaml.safe_dump(config, f)
            path = os.path.join(tmp, "test.yml")
            with open(path, "w", encoding="utf-8") as f:
                yaml.safe_dump(test, f)
            self.assert_promtool_ok("test", "rules", path)

    def test_runbook_links_point_at_a_heading(self):
        with open(os.path.join(PROMETHEUS_DIR, "alerts.yml"),
                  encoding="utf-8") as f:
            rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
        for rule in rules:
            url = rule.get("annotations", {}).get("runbook_url")
            if url is None:
                continue
            path, _, anchor = url.partition("#")
            self.assertIn(anchor, markdown_anchors(facts.source(path)),
                          f"{rule['alert']}: runbook_url {url} names no "
                          f"heading of {path}")

    def test_broken_rules_are_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bad.yml")
            with open(path, "w", encoding="utf-8") as f:
                f.write("groups:\n- name: x\n  rules:\n  - alert: X\n"
                        "    expr: rate(movierec_requests_total[5m] > 1\n")
            self.assertNotEqual(promtool("check", "rules", path).returncode, 0)

    def test_dashboard_queries_parse(self):
        with open(DASHBOARD, encoding="utf-8") as f:
            dashboard = json.load(f)
        exprs = dashboard_exprs(dashboard)
        self.assertGreaterEqual(len(exprs), 10)
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:query_{i}", "expr": grafana_to_promql(e)}
            for i, (_, e) in enumerate(exprs)]}]}
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "dashboard-rules.yml")
            with open(path, "w", encoding="utf-8") as f:
                yaml.safe_dump(rules, f)
            self.assert_promtool_ok("check", "rules", path)
        ids = [p["id"] for p in dashboard["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids repeat")


class MetricNamesTest(unittest.TestCase):
    """The rules and the dashboard use metrics the server really exports."""

    @classmethod
    def setUpClass(cls):
        # Two versions and a canary between them: the series of the versions
        # held (movierec_model_serving) exist only once they serve. The
        # second is a copy of the first (one training is enough).
        cls.model = live_server.TrainedModelBase(
            facts.binary("movierec-train")).__enter__()
        shutil.copytree(os.path.join(cls.model.model_base, "1"),
                        os.path.join(cls.model.model_base, "2"))
        with live_server.LiveServer(facts.binary("movierec-server"),
                                    cls.model.model_base,
                                    ["--canary_percent=50"]) as server:
            cls.exported = facts.metric_families(server.wait_for_metric(
                r'^movierec_model_serving\{.*role="candidate"'))

    @classmethod
    def tearDownClass(cls):
        cls.model.__exit__(None, None, None)

    def used_names(self):
        with open(os.path.join(PROMETHEUS_DIR, "alerts.yml"),
                  encoding="utf-8") as f:
            used = set()
            for group in yaml.safe_load(f)["groups"]:
                for rule in group["rules"]:
                    used |= metric_names(rule["expr"])
        with open(DASHBOARD, encoding="utf-8") as f:
            for _, expr in dashboard_exprs(json.load(f)):
                used |= metric_names(expr)
        return used

    def test_used_metrics_are_exported_and_documented(self):
        used = self.used_names()
        documented = facts.metric_names_in_header()
        self.assertGreaterEqual(len(used), 8)
        for name in sorted(used):
            family = re.sub(r"_(bucket|sum|count)$", "", name)
            self.assertIn(name, self.exported,
                          f"{name} is used but the server does not export it")
            self.assertIn(family, documented,
                          f"{family} is not documented in server/metrics.h")

    def test_every_documented_metric_is_on_the_dashboard(self):
        used = {re.sub(r"_(bucket|sum|count)$", "", n)
                for n in self.used_names()}
        self.assertEqual(facts.metric_names_in_header() - used, set())

    def test_a_misspelt_metric_would_be_caught(self):
        self.assertNotIn("movierec_request_total", self.exported)
        self.assertIn("movierec_requests_total", self.exported)


if __name__ == "__main__":
    unittest.main(verbosity=2)
