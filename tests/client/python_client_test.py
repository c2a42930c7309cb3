"""client/python/movierec_client.py against a live movierec-server: a
non-C++ service calls Recommend through stubs generated from proto/.

The server starts with an empty model base (UNAVAILABLE, NOT_SERVING), then
the trainer writes version 1 and the server hot-reloads it, as the
Kubernetes trainer Job does; then version 2.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import live_server  # noqa: E402

SOURCE_DIR = os.environ.get("MOVIEREC_SOURCE_DIR",
                            os.path.normpath(os.path.join(HERE, "..", "..")))
BIN_DIR = os.environ.get("MOVIEREC_BIN_DIR",
                         os.path.join(SOURCE_DIR, "build", "bin"))
CLIENT = os.path.join(SOURCE_DIR, "client", "python", "movierec_client.py")


def client(target, *args):
    return subprocess.run([sys.executable, CLIENT, "--target", target,
                           "--timeout", "5", *args],
                          capture_output=True, text=True, timeout=60,
                          check=False)


class PythonClientTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="movierec-pyclient-")
        self.data_dir = os.path.join(self.tmp, "ml-synthetic")
        self.model_base = os.path.join(self.tmp, "models")
        os.makedirs(self.model_base)
        live_server.make_movielens(self.data_dir)

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.tmp], check=False)

    def train(self):
        live_server.train(os.path.join(BIN_DIR, "movierec-train"),
                          self.data_dir, self.model_base, split=True)

    def recommend_json(self, target, user, count):
        result = client(target, "recommend", "--user", user, "--count",
                        str(count), "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def wait_for_version(self, target, version):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            result = client(target, "recommend", "--user", "138", "--json")
            if result.returncode == 0 and \
                    json.loads(result.stdout)["model_version"] == version:
                return
            time.sleep(0.1)
        self.fail(f"version {version} never served")

    def test_client_through_a_model_rollout(self):
        with live_server.LiveServer(os.path.join(BIN_DIR, "movierec-server"),
                                    self.model_base) as server:
            target = server.target
            # No model yet.
            result = client(target, "health")
            self.assertEqual((result.returncode, result.stdout.strip()),
                             (1, "NOT_SERVING"), result.stderr)
            result = client(target, "recommend", "--user", "138")
            self.assertEqual(result.returncode, 1)
            self.assertIn("error: UNAVAILABLE", result.stderr)

            # The trainer writes version 1; the server hot-reloads it.
            self.train()
            self.wait_for_version(target, "1")
            for service in ("movierec.v1.Recommender", ""):
                result = client(target, "health", "--service", service)
                self.assertEqual((result.returncode, result.stdout.strip()),
                                 (0, "SERVING"), result.stderr)

            response = self.recommend_json(target, "138", 5)
            self.assertEqual(response["model_version"], "1")
            self.assertFalse(response["fallback"])
            ids = [m["movie_id"] for m in response["movies"]]
            self.assertEqual(len(ids), 5)
            self.assertEqual(len(set(ids)), 5)
            self.assertTrue(set(ids) <= {str(m) for m in range(1, 81)})
            scores = [m["score"] for m in response["movies"]]
            self.assertEqual(scores, sorted(scores, reverse=True))
            # Never a movie user 138 rated in training.
            trained = live_server.ratings(
                os.path.join(self.data_dir, "train.data"), 138)
            self.assertEqual(len(trained), 18)
            self.assertFalse(set(ids) & trained)

            # count 0 means 10; the text output has a header and ten rows.
            result = client(target, "recommend", "--user", "138", "--count",
                            "0")
            self.assertEqual(result.returncode, 0, result.stderr)
            lines = result.stdout.strip().splitlines()
            self.assertEqual(lines[0], "model version 1")
            self.assertEqual(len(lines), 11)

            unknown = self.recommend_json(target, "424242", 3)
            self.assertTrue(unknown["fallback"])
            self.assertEqual(len(unknown["movies"]), 3)

            # Bad input: the server's INVALID_ARGUMENT, exit 1.
            for args in (["--user", "138", "--count", "101"],
                         ["--user", "138", "--count", "-1"],
                         ["--user", ""]):
                result = client(target, "recommend", *args)
                self.assertEqual(result.returncode, 1, args)
                self.assertIn("error: INVALID_ARGUMENT", result.stderr)

            # A second version rolls out without a restart.
            self.train()
            self.wait_for_version(target, "2")
            server.wait_for_metric(r"^movierec_model_version 2(\.0+)?$")

    def test_no_server_is_unavailable(self):
        with tempfile.TemporaryDirectory() as empty, live_server.LiveServer(
                os.path.join(BIN_DIR, "movierec-server"), empty) as server:
            port = server.port
        result = client(f"127.0.0.1:{port}", "recommend", "--user", "1")
        self.assertEqual(result.returncode, 1)
        self.assertIn("error: UNAVAILABLE", result.stderr)

    def test_usage_errors_exit_2(self):
        result = subprocess.run([sys.executable, CLIENT, "recommend"],
                                capture_output=True, text=True, timeout=60,
                                check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--user", result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
