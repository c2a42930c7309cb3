"""The real movierec-server's logs (util/logging.h, server/access_log.h):
--log_format=json lines parse as JSON with ts, level and msg; --log_level
and SPDLOG_LEVEL choose the level (the flag wins); the access log of
--access_log_sample=1 has a line per call, over gRPC and HTTP, with the
user id hashed and the traceparent echoed only when valid;
--access_log_sample=0 writes none; /metrics has movierec_build_info.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import live_server  # noqa: E402

BIN_DIR = os.environ.get("MOVIEREC_BIN_DIR", "build/bin")
SERVER = os.path.join(BIN_DIR, "movierec-server")
TRAIN = os.path.join(BIN_DIR, "movierec-train")
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def json_lines(text):
    """Every line of the log parsed as JSON (a line that is not fails)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run_briefly(flags, env=None, seconds=1.5):
    """Starts the server on free ports, lets it run, stops it with SIGTERM;
    its exit status and whole output."""
    model_base = tempfile.mkdtemp(prefix="movierec-log-")
    try:
        process = subprocess.Popen(
            [SERVER, f"--model_base={model_base}", "--port=0",
             "--metrics_port=-1", "--http_port=-1", "--grace_period=1s"]
            + flags, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env=env)
        time.sleep(seconds)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
        return process.returncode, output
    finally:
        shutil.rmtree(model_base, ignore_errors=True)


class LogFormatAndLevelTest(unittest.TestCase):

    def test_json_lines_parse_with_ts_level_msg(self):
        code, output = run_briefly(["--log_format=json"])
        self.assertEqual(code, 0, output)
        lines = json_lines(output)
        self.assertGreaterEqual(len(lines), 3, output)
        for line in lines:
            self.assertRegex(line["ts"],
                             r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
            self.assertIn(line["level"], ("trace", "debug", "info", "warning",
                                          "error", "critical"))
            self.assertIsInstance(line["msg"], str)
        self.assertTrue(any("listening for gRPC on" in l["msg"]
                            for l in lines), output)

    def test_warn_level_hides_info(self):
        # --testonly_call_cost logs a warning at start: something to see.
        code, output = run_briefly(["--log_level=warn",
                                    "--testonly_call_cost=1ms"])
        self.assertEqual(code, 0, output)
        self.assertIn("[warning] test-only", output)
        self.assertNotIn("[info]", output)

    def test_spdlog_level_is_honoured_and_the_flag_wins(self):
        env = dict(os.environ, SPDLOG_LEVEL="warn")
        code, output = run_briefly(["--testonly_call_cost=1ms"], env=env)
        self.assertEqual(code, 0, output)
        self.assertIn("[warning] test-only", output)
        self.assertNotIn("[info]", output)
        code, output = run_briefly(["--log_level=info"], env=env)
        self.assertEqual(code, 0, output)
        self.assertIn("[info] listening for gRPC on", output)

    def test_bad_values_name_the_flag(self):
        for flags, env, message in [
                (["--log_format=xml"], None,
                 '--log_format "xml" is not a log format: text or json'),
                (["--log_level=loud"], None,
                 '--log_level "loud" is not a log level'),
                ([], dict(os.environ, SPDLOG_LEVEL="loud"), "SPDLOG_LEVEL"),
                (["--access_log_sample=2"], None,
                 "--access_log_sample must be a fraction in 0-1, got 2"),
                (["--access_log_sample=-0.1"], None,
                 "--access_log_sample must be a fraction in 0-1")]:
            result = subprocess.run(
                [SERVER, "--model_base=/nonexistent"] + flags, env=env,
                capture_output=True, text=True, timeout=30, check=False)
            self.assertEqual(result.returncode, 2, (flags, result.stdout))
            self.assertIn(message, result.stdout + result.stderr)


class AccessLogTest(unittest.TestCase):
    """One trained model, servers with the access log on and off."""

    @classmethod
    def setUpClass(cls):
        cls.model = live_server.TrainedModelBase(TRAIN)
        cls.model.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.model.__exit__(None, None, None)

    def post(self, server, path, body, headers=None):
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.http_port}{path}",
            data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", **(headers or {})})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def client(self, server, user):
        result = subprocess.run(
            [os.path.join(BIN_DIR, "movierec-client"),
             f"--target={server.target}", f"--user={user}", "--count=3",
             "--timeout=5s"], capture_output=True, text=True, timeout=30,
            check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def access_lines(self, server, count, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            lines = [l for l in json_lines(server.log())
                     if l.get("logger") == "access"]
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def test_every_call_is_logged_at_sample_one(self):
        user = str(self.model.users[5])
        with live_server.LiveServer(
                SERVER, self.model.model_base,
                ["--log_format=json", "--access_log_sample=1"]) as server:
            server.wait_for_metric(r"^movierec_model_version 1")
            self.post(server, "/v1/recommend", {"userId": user},
                      {"traceparent": TRACEPARENT})
            self.post(server, "/v1/recommend", {"userId": user},
                      {"traceparent": "00-zzzz-bogus-01"})
            self.post(server, "/v1/recommend", {"userId": user})
            self.client(server, user)
            lines = self.access_lines(server, 4)
            self.assertEqual(len(lines), 4, server.log())
            for line in lines:
                for key in ("ts", "level", "msg", "transport", "method",
                            "code", "status", "latency_ms", "queue_ms",
                            "retrieval_ms", "ranking_ms", "model_version",
                            "user", "traceparent"):
                    self.assertIn(key, line)
                self.assertEqual(line["method"], "Recommend")
                self.assertEqual(line["code"], "OK")
                self.assertEqual(line["model_version"], "1")
                self.assertRegex(line["user"], r"^[0-9a-f]{16}$")
                self.assertNotEqual(line["user"], user)
                self.assertGreater(line["latency_ms"], 0)
            self.assertEqual([l["transport"] for l in lines],
                             ["http", "http", "http", "grpc"])
            self.assertEqual(lines[0]["status"], 200)
            self.assertEqual(lines[0]["traceparent"], TRACEPARENT)
            self.assertEqual(lines[1]["traceparent"], "invalid")
            self.assertNotIn("bogus", server.log())
            self.assertIsNone(lines[2]["traceparent"])
            self.assertEqual(lines[3]["status"], 0)
            self.assertEqual(len({l["user"] for l in lines}), 1)

    def test_no_line_at_sample_zero(self):
        with live_server.LiveServer(
                SERVER, self.model.model_base,
                ["--log_format=json"]) as server:
            server.wait_for_metric(r"^movierec_model_version 1")
            for _ in range(5):
                self.post(server, "/v1/recommend",
                          {"userId": str(self.model.users[0])},
                          {"traceparent": TRACEPARENT})
            time.sleep(0.2)
            self.assertEqual(
                [l for l in json_lines(server.log())
                 if l.get("logger") == "access"], [])
            metrics = server.metrics()
        build = re.search(r'^movierec_build_info\{([^}]*)\} 1', metrics,
                          re.MULTILINE)
        self.assertIsNotNone(build, metrics)
        self.assertRegex(build.group(1), r'revision="[^"]+"')
        self.assertRegex(build.group(1), r'version="[^"]+"')
        self.assertRegex(metrics, r"(?m)^movierec_model_created_timestamp_"
                         r"seconds [1-9]")


if __name__ == "__main__":
    unittest.main(verbosity=2)
