"""`--version` of every movierec binary: exit status 0, and on stdout the
binary's name with the code version (the same for all: they link the same
util/version.cc) and the model format version of model/format_version.h.

The binaries come from $MOVIEREC_BIN_DIR (CMake sets it; default build/bin).
tests/e2e/server_binary_test.cc checks movierec-server's code version against
the one it links.
"""

import os
import re
import subprocess
import unittest

SOURCE_DIR = os.environ.get(
    "MOVIEREC_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
BIN_DIR = os.environ.get("MOVIEREC_BIN_DIR",
                         os.path.join(SOURCE_DIR, "build", "bin"))
BINARIES = ("movierec-server", "movierec-train", "movierec-client",
            "movierec-loadgen", "movierec-ablation")


def model_format_version():
    path = os.path.join(SOURCE_DIR, "model", "format_version.h")
    with open(path, encoding="utf-8") as f:
        match = re.search(r"kBundleFormatVersion = (\d+);", f.read())
    if match is None:
        raise AssertionError(f"{path} defines no kBundleFormatVersion")
    return int(match.group(1))


class VersionTest(unittest.TestCase):

    def test_every_binary_prints_both_versions_and_exits_zero(self):
        fmt = model_format_version()
        code_versions = {}
        for name in BINARIES:
            with self.subTest(binary=name):
                path = os.path.join(BIN_DIR, name)
                self.assertTrue(os.access(path, os.X_OK),
                                f"{path} is not an executable: build it")
                # No other flag: --version needs none of the required ones.
                run = subprocess.run([path, "--version"], capture_output=True,
                                     text=True, timeout=30, check=False)
                self.assertEqual(run.returncode, 0,
                                 f"{name} --version exited {run.returncode}: "
                                 f"{run.stdout}{run.stderr}")
                match = re.fullmatch(
                    rf"{re.escape(name)} code version (\S+)\n"
                    r"model format version (\d+)\n", run.stdout)
                self.assertIsNotNone(
                    match, f"{name} --version printed {run.stdout!r}")
                self.assertEqual(int(match.group(2)), fmt,
                                 f"{name}: model format version")
                code_versions[name] = match.group(1)
        self.assertEqual(len(set(code_versions.values())), 1,
                         f"the binaries disagree: {code_versions}")


if __name__ == "__main__":
    unittest.main()
