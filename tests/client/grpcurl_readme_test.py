"""The README's grpcurl commands, run exactly as written against a live
movierec-server (only the address localhost:50051 is replaced by the test
server's). They run through grpcurl when it is on PATH, else through
grpcurl_lite.py, which does the same through server reflection.

Also: the `list` output shown in the README is what the server lists, and
the same commands with bad input get the errors the README promises.
"""

import json
import os
import re
import shlex
import shutil
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
README_ADDRESS = "localhost:50051"


def readme_grpcurl_commands(text):
    """The grpcurl command lines of the README's shell blocks, in order,
    continuation lines joined, split as a shell would."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip().startswith("grpcurl "):
                commands.append(shlex.split(line.split(" #")[0]))
    return commands


def readme_list_output(text):
    """The lines the README shows as the output of `grpcurl ... list`."""
    match = re.search(r"`list` answers:\n+```\n(.*?)```", text, re.DOTALL)
    return match.group(1).split() if match else None


def grpcurl(args):
    real = shutil.which("grpcurl")
    if real:
        command = [real] + args
    else:
        command = [sys.executable, os.path.join(HERE, "grpcurl_lite.py")] + args
    return subprocess.run(command, capture_output=True, text=True, timeout=60,
                          check=False)


class ReadmeGrpcurlTest(live_server.TrainedServerTestCase):
    bin_dir = BIN_DIR

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(SOURCE_DIR, "README.md"), encoding="utf-8") as f:
            cls.readme = f.read()
        cls.commands = readme_grpcurl_commands(cls.readme)
        super().setUpClass()

    def run_readme(self, command, data=None):
        """Runs a README command on the test server, with -d replaced by
        `data` when given."""
        self.assertIn(README_ADDRESS, command)
        args = [self.server.target if a == README_ADDRESS else a
                for a in command[1:]]
        if data is not None:
            args[args.index("-d") + 1] = data
        return grpcurl(args)

    def command(self, predicate):
        found = [c for c in self.commands if predicate(c)]
        self.assertEqual(len(found), 1, f"README grpcurl commands: "
                         f"{self.commands}")
        return found[0]

    def test_readme_has_the_four_commands(self):
        self.assertEqual(len(self.commands), 4, self.commands)
        for command in self.commands:
            self.assertIn("-plaintext", command)

    def test_list(self):
        result = self.run_readme(self.command(lambda c: c[-1] == "list"))
        self.assertEqual(result.returncode, 0, result.stderr)
        listed = result.stdout.split()
        self.assertIn("movierec.v1.Recommender", listed)
        self.assertIn("grpc.reflection.v1alpha.ServerReflection", listed)
        self.assertEqual(listed, readme_list_output(self.readme),
                         "the README shows another `list` output")

    def test_describe(self):
        result = self.run_readme(self.command(lambda c: "describe" in c))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("movierec.v1.Recommender is a service", result.stdout)
        self.assertRegex(result.stdout, r"rpc Recommend \( \.movierec\.v1\."
                         r"RecommendRequest \) returns \( \.movierec\.v1\."
                         r"RecommendResponse \)")

    def recommend_command(self):
        return self.command(lambda c: c[-1].endswith("/Recommend"))

    def test_recommend(self):
        command = self.recommend_command()
        request = json.loads(command[command.index("-d") + 1])
        result = self.run_readme(command)
        self.assertEqual(result.returncode, 0, result.stderr)
        response = json.loads(result.stdout)
        self.assertEqual(response["modelVersion"], "1")
        self.assertNotIn("fallback", response)  # a known user: false, omitted
        movies = response["movies"]
        self.assertEqual(len(movies), request["count"])
        ids = [m["movieId"] for m in movies]
        self.assertEqual(len(set(ids)), len(ids))
        scores = [m.get("score", 0) for m in movies]
        self.assertEqual(scores, sorted(scores, reverse=True))
        self.assertTrue(all(m["title"].startswith("Movie ") for m in movies))

    def test_recommend_bad_input_is_invalid_argument(self):
        command = self.recommend_command()
        for data in ('{"user_id": "138", "count": 101}',
                     '{"user_id": "", "count": 10}'):
            result = self.run_readme(command, data)
            self.assertEqual(result.returncode, 64 + 3, result.stderr)  # 3: INVALID_ARGUMENT
            self.assertIn("Code: InvalidArgument", result.stderr)
        result = self.run_readme(command, '{"user_id": 138, "cnt": 1}')
        self.assertNotEqual(result.returncode, 0)  # no such field

    def test_recommend_unknown_user_falls_back(self):
        result = self.run_readme(self.recommend_command(),
                                 '{"user_id": "999999", "count": 3}')
        self.assertEqual(result.returncode, 0, result.stderr)
        response = json.loads(result.stdout)
        self.assertIs(response["fallback"], True)
        self.assertEqual(len(response["movies"]), 3)

    def test_health(self):
        command = self.command(lambda c: c[-1] == "grpc.health.v1.Health/Check")
        result = self.run_readme(command)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout), {"status": "SERVING"})
        result = self.run_readme(command, '{"service": "no.such.Service"}')
        self.assertEqual(result.returncode, 64 + 5, result.stderr)  # NOT_FOUND


class NoModelTest(unittest.TestCase):
    """Before a model is loaded: NOT_SERVING and UNAVAILABLE, as documented."""

    def test_unavailable_until_a_model_loads(self):
        with open(os.path.join(SOURCE_DIR, "README.md"), encoding="utf-8") as f:
            commands = readme_grpcurl_commands(f.read())
        health = next(c for c in commands if c[-1].endswith("Health/Check"))
        recommend = next(c for c in commands if c[-1].endswith("/Recommend"))
        with tempfile.TemporaryDirectory() as empty, live_server.LiveServer(
                os.path.join(BIN_DIR, "movierec-server"), empty) as server:
            def run(command):
                return grpcurl([server.target if a == README_ADDRESS else a
                                for a in command[1:]])
            result = run(health)
            self.assertEqual(json.loads(result.stdout),
                             {"status": "NOT_SERVING"}, result.stderr)
            result = run(recommend)
            self.assertEqual(result.returncode, 64 + 14, result.stderr)  # UNAVAILABLE
            self.assertIn("Code: Unavailable", result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
