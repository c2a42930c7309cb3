"""docs/api.md's curl commands, run as written against a live
movierec-server's HTTP port (only the address localhost:8080 is replaced by
the test server's, and curl is told to print the status after the body).
Each command's trailing comment gives the HTTP status it must answer; the
answer must be JSON of the documented shape: an error body
{"code", "message"}, a health body {"status"}, else a response naming the
model version.

Also: readiness and calls answer 503 before a model is loaded.
"""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import live_server  # noqa: E402

SOURCE_DIR = os.environ.get("MOVIEREC_SOURCE_DIR",
                            os.path.normpath(os.path.join(HERE, "..", "..")))
BIN_DIR = os.environ.get("MOVIEREC_BIN_DIR",
                         os.path.join(SOURCE_DIR, "build", "bin"))
DOC_ADDRESS = "localhost:8080"
STATUS_MARK = "\nHTTP_STATUS:"


def doc_curl_commands(text):
    """(argv, expected status) of each curl command line of the shell blocks
    of `text`, continuation lines joined; the status is the number in the
    line's trailing comment."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            if not line.strip().startswith("curl "):
                continue
            command, _, comment = line.partition("   #")
            status = re.match(r"\s*(\d{3})\b", comment)
            commands.append((shlex.split(command),
                             int(status.group(1)) if status else None))
    return commands


def run_curl(argv, address):
    args = [a.replace(DOC_ADDRESS, address) for a in argv]
    args += ["-w", STATUS_MARK + "%{http_code}"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60,
                            check=False)
    body, _, status = result.stdout.rpartition(STATUS_MARK)
    return result, int(status or 0), body


class DocCurlTest(live_server.TrainedServerTestCase):
    bin_dir = BIN_DIR

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(SOURCE_DIR, "docs", "api.md"),
                  encoding="utf-8") as f:
            cls.commands = doc_curl_commands(f.read())
        super().setUpClass()

    def test_every_endpoint_has_a_command(self):
        self.assertGreater(len(self.commands), 0)
        joined = [" ".join(argv) for argv, _ in self.commands]
        for path in ("/v1/recommend ", "/v1/similar-movies",
                     "/v1/recommend:batch", "/healthz", "/readyz",
                     "grpc-timeout", "timeout_ms"):
            self.assertTrue(any(path in c + " " for c in joined), path)
        for argv, status in self.commands:
            self.assertIsNotNone(status, f"no status comment: {argv}")
            self.assertIn(DOC_ADDRESS, " ".join(argv))
        self.assertTrue(any(s >= 400 for _, s in self.commands))

    def test_commands_answer_as_documented(self):
        address = f"127.0.0.1:{self.server.http_port}"
        for argv, expected in self.commands:
            with self.subTest(command=" ".join(argv)):
                result, status, body = run_curl(argv, address)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertEqual(status, expected, body)
                answer = json.loads(body)
                if status >= 400:
                    self.assertEqual(set(answer), {"code", "message"})
                    self.assertRegex(answer["code"], r"^[A-Z_]+$")
                    self.assertTrue(answer["message"])
                elif re.search(r"/(healthz|readyz)\b", " ".join(argv)):
                    self.assertEqual(answer, {"status": "SERVING"})
                else:
                    self.assertEqual(answer["modelVersion"], "1")
                    movies = answer.get("movies") or [
                        m for r in answer["responses"] for m in r["movies"]]
                    self.assertTrue(movies)
                    for movie in movies:
                        self.assertTrue(movie["movieId"])
                        self.assertTrue(movie["title"].startswith("Movie "))

    def test_readme_example(self):
        with open(os.path.join(SOURCE_DIR, "README.md"),
                  encoding="utf-8") as f:
            commands = [c for c in doc_curl_commands(f.read())
                        if DOC_ADDRESS in " ".join(c[0])]
        self.assertEqual(len(commands), 1, commands)
        result, status, body = run_curl(commands[0][0],
                                        f"127.0.0.1:{self.server.http_port}")
        self.assertEqual(status, 200, result.stderr + body)
        self.assertEqual(len(json.loads(body)["movies"]), 10)


class NoModelTest(unittest.TestCase):
    """Before a model is loaded: live, not ready, calls UNAVAILABLE (503)."""

    def test_unavailable_until_a_model_loads(self):
        with tempfile.TemporaryDirectory() as empty, live_server.LiveServer(
                os.path.join(BIN_DIR, "movierec-server"), empty) as server:
            address = f"127.0.0.1:{server.http_port}"
            url = f"http://{address}"
            _, status, _ = run_curl(["curl", "-s", url + "/healthz"], address)
            self.assertEqual(status, 200)
            _, status, body = run_curl(["curl", "-s", url + "/readyz"],
                                       address)
            self.assertEqual((status, json.loads(body)),
                             (503, {"status": "NOT_SERVING"}))
            _, status, body = run_curl(
                ["curl", "-s", url + "/v1/recommend", "-d", '{"userId": "1"}'],
                address)
            self.assertEqual(status, 503, body)
            self.assertEqual(json.loads(body)["code"], "UNAVAILABLE")


if __name__ == "__main__":
    unittest.main(verbosity=2)
