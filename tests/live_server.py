"""A real movierec-server for the tests that talk to one from another process.

The Python counterpart of test_util.cc: it writes a small synthetic MovieLens
100K (the same file formats: u.data, u.item, u.user, u.genre), trains it with
the real movierec-train and starts the real movierec-server on free loopback
ports (--port=0, --metrics_port=0, read back from the server's log line).

    python3 tests/live_server.py make-data DIR   writes the synthetic data set

Used by tests/client/ and tests/deploy/ (with the binaries ctest passes) and
by deploy/build-image.sh (make-data).
"""

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
import time
import urllib.request

GENRES = ["unknown", "Action", "Comedy", "Drama", "Romance"]
OCCUPATIONS = ["student", "engineer", "artist", "other"]


def make_movielens(directory, num_users=150, num_movies=80, per_user=20, seed=7,
                   title=None):
    """Writes a small MovieLens 100K look-alike into `directory`.

    User ids are 1..num_users (so the README's user 138 is known) and
    movie ids 1..num_movies, titled "Movie N (YEAR)" or title(N) (made-up
    names, without the year); each user rates
    `per_user` distinct movies, biased towards the low ids so that popularity
    means something. Returns (user ids, movie ids).
    """
    rng = random.Random(seed)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "u.genre"), "w", encoding="latin-1") as f:
        for index, name in enumerate(GENRES):
            f.write(f"{name}|{index}\n")
        f.write("\n")  # u.genre of MovieLens 100K ends with an empty line
    with open(os.path.join(directory, "u.item"), "w", encoding="latin-1") as f:
        for movie in range(1, num_movies + 1):
            year = 1930 + (movie * 7) % 68
            flags = ["0"] * len(GENRES)
            flags[1 + movie % (len(GENRES) - 1)] = "1"
            name = title(movie) if title else f"Movie {movie}"
            f.write(f"{movie}|{name} ({year})|01-Jan-{year}||"
                    f"http://example.com/{movie}|" + "|".join(flags) + "\n")
    with open(os.path.join(directory, "u.user"), "w", encoding="latin-1") as f:
        for user in range(1, num_users + 1):
            gender = "M" if user % 2 else "F"
            f.write(f"{user}|{15 + (user * 13) % 50}|{gender}|"
                    f"{OCCUPATIONS[user % len(OCCUPATIONS)]}|{10000 + user}\n")
    # u.data, and an explicit split of it (train.data: each user's first
    # ratings, test.data: their last two) for train(split=True).
    files = {name: open(os.path.join(directory, name), "w", encoding="latin-1")
             for name in ("u.data", "train.data", "test.data")}
    with files["u.data"], files["train.data"], files["test.data"]:
        for user in range(1, num_users + 1):
            movies = set()
            while len(movies) < min(per_user, num_movies):
                r = rng.random()
                movies.add(1 + min(num_movies - 1, int(r * r * num_movies)))
            for k, movie in enumerate(sorted(movies)):
                line = (f"{user}\t{movie}\t{rng.randint(1, 5)}\t"
                        f"{880000000 + user * 1000 + k}\n")
                files["u.data"].write(line)
                held_out = k >= len(movies) - 2
                files["test.data" if held_out else "train.data"].write(line)
    return list(range(1, num_users + 1)), list(range(1, num_movies + 1))


def ratings(path, user):
    """The movie ids `user` rated in a u.data-format file, as strings."""
    with open(path, encoding="latin-1") as f:
        return {fields[1] for fields in (line.split("\t") for line in f)
                if fields[0] == str(user)}


def train(train_binary, data_dir, model_base, split=False, timeout=120):
    """Trains one model version with movierec-train (on the random 80/20
    split, or with `split` on train.data/test.data); returns its output."""
    explicit = [f"--train={data_dir}/train.data",
                f"--test={data_dir}/test.data"] if split else []
    result = subprocess.run(
        [train_binary, f"--data_dir={data_dir}", f"--model_base={model_base}",
         "--threads=1"] + explicit,
        capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"movierec-train exited {result.returncode}:\n"
                           f"{result.stdout}\n{result.stderr}")
    return result.stdout + result.stderr


_LISTENING = re.compile(
    r"listening for gRPC on (\S+):(\d+), metrics on (\S+):(-?\d+), "
    r"HTTP on (\S+):(-?\d+)")


class LiveServer:
    """movierec-server on free loopback ports; a context manager.

    `extra_flags` are appended to the command line. On exit the server gets
    SIGTERM and must stop with exit 0 within its grace period.
    """

    def __init__(self, server_binary, model_base, extra_flags=()):
        self.server_binary = server_binary
        self.model_base = model_base
        self.extra_flags = list(extra_flags)
        self.process = None
        self.port = None
        self.metrics_port = None
        self.http_port = None
        self._log = None

    def __enter__(self):
        self._log = tempfile.NamedTemporaryFile(
            "w+", prefix="movierec-server-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [self.server_binary, f"--model_base={self.model_base}",
             "--port=0", "--metrics_port=0", "--http_port=0",
             "--poll_interval=100ms",
             "--grace_period=2s"] + self.extra_flags,
            stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            match = _LISTENING.search(self.log())
            if match:
                self.port = int(match.group(2))
                self.metrics_port = int(match.group(4))
                self.http_port = int(match.group(6))
                return self
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"movierec-server exited {self.process.returncode}:\n"
                    f"{self.log()}")
            time.sleep(0.05)
        self.process.kill()
        raise RuntimeError(f"movierec-server did not start:\n{self.log()}")

    def __exit__(self, *exc):
        code = self.stop()
        os.unlink(self._log.name)
        if exc[0] is None and code != 0:
            raise RuntimeError(f"movierec-server exited {code} on SIGTERM")
        return False

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self):
        with open(self._log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    @property
    def target(self):
        return f"127.0.0.1:{self.port}"

    def metrics(self):
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()

    def wait_for_metric(self, line_pattern, timeout=20):
        """Waits until a /metrics line matches the regex; returns the text."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.metrics()
            if re.search(line_pattern, text, re.MULTILINE):
                return text
            time.sleep(0.05)
        raise AssertionError(
            f"no /metrics line matches {line_pattern!r}:\n{text}")


class TrainedModelBase:
    """A temporary directory with synthetic data and a trained model base;
    a context manager that removes it."""

    def __init__(self, train_binary, versions=1):
        self.train_binary = train_binary
        self.versions = versions
        self.root = None

    def __enter__(self):
        self.root = tempfile.mkdtemp(prefix="movierec-live-")
        self.data_dir = os.path.join(self.root, "ml-synthetic")
        self.model_base = os.path.join(self.root, "models")
        os.makedirs(self.model_base)
        self.users, self.movies = make_movielens(self.data_dir)
        for _ in range(self.versions):
            train(self.train_binary, self.data_dir, self.model_base)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.root, ignore_errors=True)
        return False


class TrainedServerTestCase(unittest.TestCase):
    """A test case whose class shares one live server on a freshly trained
    model base (bin_dir: where movierec-train and movierec-server are)."""

    bin_dir = None

    @classmethod
    def setUpClass(cls):
        cls.model = TrainedModelBase(os.path.join(cls.bin_dir, "movierec-train"))
        cls.model.__enter__()
        cls.server = LiveServer(os.path.join(cls.bin_dir, "movierec-server"),
                                cls.model.model_base)
        cls.server.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        cls.model.__exit__(None, None, None)


def main(argv):
    if len(argv) == 3 and argv[1] == "make-data":
        make_movielens(argv[2])
        return 0
    print(f"usage: {argv[0]} make-data DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
