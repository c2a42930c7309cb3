"""Builds the movierec-client package (metadata: pyproject.toml).

The build step: build_py runs grpc_tools.protoc (`python3 -m
grpc_tools.protoc`) on movierec/v1/recommender.proto from the repository's
proto/ folder (../../proto, or $MOVIEREC_PROTO_DIR), and puts
recommender_pb2.py and recommender_pb2_grpc.py into the built
movierec_client package. The .proto keeps its name
(movierec/v1/recommender.proto) inside the generated descriptors; only the
stubs' import of each other becomes package-relative.
"""

import os
import shutil
import subprocess
import sys
import tempfile

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "movierec_client"
PROTO = "movierec/v1/recommender.proto"
GENERATED = ("recommender_pb2.py", "recommender_pb2_grpc.py")
# What protoc writes into recommender_pb2_grpc.py, and what it becomes.
ABSOLUTE_IMPORT = "from movierec.v1 import recommender_pb2 as "
RELATIVE_IMPORT = "from . import recommender_pb2 as "


def proto_dir():
    """The folder holding movierec/v1/recommender.proto."""
    candidates = [os.environ.get("MOVIEREC_PROTO_DIR"),
                  os.path.join(HERE, "..", "..", "proto")]
    for candidate in candidates:
        if candidate and os.path.isfile(os.path.join(candidate, PROTO)):
            return os.path.normpath(candidate)
    sys.exit(f"error: {PROTO} not found under "
             f"{os.path.normpath(candidates[1])}: build from a movierec "
             "checkout (pip install ./client/python) or set "
             "MOVIEREC_PROTO_DIR to its proto/ folder")


def generate_stubs(package_dir):
    """Runs grpc_tools.protoc on the API into `package_dir`."""
    with tempfile.TemporaryDirectory(prefix="movierec-stubs-") as out:
        command = [sys.executable, "-m", "grpc_tools.protoc",
                   "-I", proto_dir(), f"--python_out={out}",
                   f"--grpc_python_out={out}", PROTO]
        result = subprocess.run(command, capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            sys.exit(f"error: {' '.join(command)} exited "
                     f"{result.returncode} (is grpcio-tools installed? "
                     f"Debian: python3-grpc-tools):\n{result.stderr}")
        generated = os.path.join(out, os.path.dirname(PROTO))
        with open(os.path.join(generated, GENERATED[1]),
                  encoding="utf-8") as f:
            grpc_stubs = f.read()
        if ABSOLUTE_IMPORT not in grpc_stubs:
            sys.exit(f"error: {GENERATED[1]} does not import its messages "
                     f"as expected ({ABSOLUTE_IMPORT!r})")
        os.makedirs(package_dir, exist_ok=True)
        shutil.copyfile(os.path.join(generated, GENERATED[0]),
                        os.path.join(package_dir, GENERATED[0]))
        with open(os.path.join(package_dir, GENERATED[1]), "w",
                  encoding="utf-8") as f:
            f.write(grpc_stubs.replace(ABSOLUTE_IMPORT, RELATIVE_IMPORT))


class BuildPyWithStubs(build_py):
    """build_py, then the stubs generated into the built package (into the
    source package for an editable install, which imports from there)."""

    def run(self):
        super().run()
        if self.dry_run:
            return
        if getattr(self, "editable_mode", False):
            generate_stubs(os.path.join(HERE, PACKAGE))
        else:
            generate_stubs(os.path.join(self.build_lib, PACKAGE))

    def get_outputs(self, include_bytecode=1):
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            outputs += [os.path.join(self.build_lib, PACKAGE, name)
                        for name in GENERATED]
        return outputs


setup(cmdclass={"build_py": BuildPyWithStubs})
