"""The Python client package (client/python) against live movierec-servers.

The package is installed as a user would, offline: into a temporary venv
(--system-site-packages: Debian's grpcio, grpc-tools, protobuf, setuptools,
wheel) with `pip install --no-build-isolation --no-index`, which generates
its stubs from proto/. This test then imports the installed package (never
the source folder) and runs its command line, movierec-pyclient:

- the command line through a model rollout (no model, version 1, version 2);
- the library: every RPC, the filters, recent movies for an unknown user,
  the popular fallback, errors with their codes, deadlines, health;
- TLS and mutual TLS, with certificates made by openssl (as
  tests/server/tls_test.cc does);
- round_robin over two live servers behind one target, both answering.
"""

import importlib
import json
import os
import shutil
import socket
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
SERVER = os.path.join(BIN_DIR, "movierec-server")
TRAIN = os.path.join(BIN_DIR, "movierec-train")

# Set by setUpModule.
ROOT = None          # the temporary directory of the venv and the model
VENV_PYTHON = None
CLI = None           # the installed movierec-pyclient
mc = None            # the installed movierec_client package
MODEL = None         # a live_server.TrainedModelBase, one version


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True,
                            timeout=300, check=False, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:"
                           f"\n{result.stdout}\n{result.stderr}")
    return result


def install_package(root):
    """Copies client/python and proto/ (the layout setup.py expects) under
    `root`, installs the package into a venv there; the venv's python."""
    src = os.path.join(root, "src")
    shutil.copytree(os.path.join(SOURCE_DIR, "client", "python"),
                    os.path.join(src, "client", "python"),
                    ignore=shutil.ignore_patterns(
                        "build", "*.egg-info", "__pycache__",
                        "recommender_pb2*.py"))
    shutil.copytree(os.path.join(SOURCE_DIR, "proto"),
                    os.path.join(src, "proto"))
    venv = os.path.join(root, "venv")
    run([sys.executable, "-m", "venv", "--system-site-packages", venv])
    python = os.path.join(venv, "bin", "python")
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull,
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    run([python, "-m", "pip", "install", "--no-build-isolation",
         "--no-index", "--no-cache-dir",
         os.path.join(src, "client", "python")], env=env)
    return python


def setUpModule():  # noqa: N802 (unittest's name)
    global ROOT, VENV_PYTHON, CLI, mc, MODEL
    ROOT = tempfile.mkdtemp(prefix="movierec-pyclient-")
    try:
        VENV_PYTHON = install_package(ROOT)
        CLI = os.path.join(ROOT, "venv", "bin", "movierec-pyclient")
        site = run([VENV_PYTHON, "-c",
                    "import os, movierec_client; print(os.path.dirname("
                    "os.path.dirname(movierec_client.__file__)))"],
                   cwd=ROOT).stdout.strip()
        if not site.startswith(os.path.join(ROOT, "venv")):
            raise RuntimeError(f"movierec_client imported from {site}")
        sys.path.insert(0, site)
        mc = importlib.import_module("movierec_client")
        MODEL = live_server.TrainedModelBase(TRAIN).__enter__()
    except BaseException:
        shutil.rmtree(ROOT, ignore_errors=True)
        raise


def tearDownModule():  # noqa: N802
    if MODEL is not None:
        MODEL.__exit__(None, None, None)
    shutil.rmtree(ROOT, ignore_errors=True)


def cli(*args, timeout="5"):
    return subprocess.run([CLI, "--timeout", timeout, *args],
                          capture_output=True, text=True, timeout=60,
                          check=False)


def recommend_calls(server):
    """Recommend calls a server answered OK, from its /metrics."""
    total = 0.0
    for line in server.metrics().splitlines():
        if line.startswith("movierec_requests_total{") and \
                'method="Recommend"' in line and 'code="OK"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


class InstalledPackageTest(unittest.TestCase):

    def test_stubs_were_generated_from_proto_at_build_time(self):
        venv = os.path.join(ROOT, "venv")
        for module in (mc, mc.pb2, mc.pb2_grpc):
            self.assertTrue(module.__file__.startswith(venv), module.__file__)
        self.assertEqual(mc.pb2.DESCRIPTOR.name,
                         "movierec/v1/recommender.proto")
        self.assertEqual(
            [m.name for m in mc.pb2.DESCRIPTOR.services_by_name[
                "Recommender"].methods],
            ["Recommend", "SimilarMovies", "RecommendBatch", "SearchMovies"])
        # The source folder has none: its import says to install it.
        result = subprocess.run(
            [sys.executable, "-c", "import movierec_client"],
            cwd=os.path.join(SOURCE_DIR, "client", "python"),
            capture_output=True, text=True, timeout=60, check=False,
            env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        if not os.path.exists(os.path.join(
                SOURCE_DIR, "client", "python", "movierec_client",
                "recommender_pb2.py")):  # no editable install there
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("pip install", result.stderr)

    def test_channel_arguments_are_checked(self):
        with self.assertRaisesRegex(ValueError, "private_key"):
            mc.make_channel("127.0.0.1:1", certificate_chain=b"x")
        with self.assertRaisesRegex(TypeError, "list of ids"):
            mc.make_recommend_request("", recent_movie_ids="50")


class CommandLineTest(unittest.TestCase):
    """movierec-pyclient through a model rollout, as the Kubernetes trainer
    Job does it: no model, then version 1, then version 2."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="movierec-pyclient-cli-")
        self.data_dir = os.path.join(self.tmp, "ml-synthetic")
        self.model_base = os.path.join(self.tmp, "models")
        os.makedirs(self.model_base)
        live_server.make_movielens(self.data_dir)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def train(self):
        live_server.train(TRAIN, self.data_dir, self.model_base, split=True)

    def recommend_json(self, target, *args):
        result = cli("--target", target, "recommend", *args, "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def wait_for_version(self, target, version):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            result = cli("--target", target, "recommend", "--user", "138",
                         "--json")
            if result.returncode == 0 and \
                    f'"model_version": "{version}"' in result.stdout:
                return
            time.sleep(0.1)
        self.fail(f"version {version} never served")

    def test_client_through_a_model_rollout(self):
        with live_server.LiveServer(SERVER, self.model_base) as server:
            target = server.target
            # No model yet: alive, not ready.
            result = cli("--target", target, "health")
            self.assertEqual((result.returncode, result.stdout.strip()),
                             (1, "NOT_SERVING"), result.stderr)
            result = cli("--target", target, "health", "--service", "")
            self.assertEqual((result.returncode, result.stdout.strip()),
                             (0, "SERVING"), result.stderr)
            result = cli("--target", target, "recommend", "--user", "138")
            self.assertEqual(result.returncode, 1)
            self.assertIn("error: UNAVAILABLE", result.stderr)

            # The trainer writes version 1; the server hot-reloads it.
            self.train()
            self.wait_for_version(target, "1")
            for service in ("movierec.v1.Recommender", ""):
                result = cli("--target", target, "health", "--service",
                             service)
                self.assertEqual((result.returncode, result.stdout.strip()),
                                 (0, "SERVING"), result.stderr)

            response = self.recommend_json(target, "--user", "138",
                                           "--count", "5")
            self.assertEqual(response["model_version"], "1")
            self.assertFalse(response["fallback"])
            self.assertEqual(response["personalization"],
                             "PERSONALIZATION_KNOWN_USER")
            ids = [m["movie_id"] for m in response["movies"]]
            self.assertEqual(len(ids), 5)
            self.assertEqual(len(set(ids)), 5)
            self.assertTrue(set(ids) <= {str(m) for m in range(1, 81)})
            scores = [m["score"] for m in response["movies"]]
            self.assertEqual(scores, sorted(scores, reverse=True))
            # Every field of every movie, not a hand-picked few.
            for movie in response["movies"]:
                self.assertEqual(
                    set(movie), {"movie_id", "title", "score",
                                 "retrieval_score", "genres",
                                 "release_year"})
            # Never a movie user 138 rated in training.
            trained = live_server.ratings(
                os.path.join(self.data_dir, "train.data"), 138)
            self.assertEqual(len(trained), 18)
            self.assertFalse(set(ids) & trained)

            # count 0 means 10; the text output has a header and ten rows.
            result = cli("--target", target, "recommend", "--user", "138",
                         "--count", "0")
            self.assertEqual(result.returncode, 0, result.stderr)
            lines = result.stdout.strip().splitlines()
            self.assertEqual(lines[0], "model version 1")
            self.assertEqual(len(lines), 11)

            unknown = self.recommend_json(target, "--user", "424242",
                                          "--count", "3")
            self.assertTrue(unknown["fallback"])
            self.assertEqual(len(unknown["movies"]), 3)

            # A new visitor, filters, SimilarMovies, RecommendBatch.
            visitor = self.recommend_json(
                target, "--recent", "1,2,3", "--count", "4", "--genres",
                "Comedy,Drama", "--min_year", "1940", "--exclude", "5")
            self.assertEqual(visitor["personalization"],
                             "PERSONALIZATION_RECENT_MOVIES")
            self.assertEqual(len(visitor["movies"]), 4)
            for movie in visitor["movies"]:
                self.assertTrue(set(movie["genres"]) & {"Comedy", "Drama"})
                self.assertGreaterEqual(movie["release_year"], 1940)
                self.assertNotIn(movie["movie_id"], {"1", "2", "3", "5"})
            result = cli("--target", target, "similar", "--movie", "50",
                         "--count", "3", "--json")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout.count('"movie_id"'), 3)
            result = cli("--target", target, "batch", "--users", "1,2,138",
                         "--count", "2")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout.count("model version 1"), 3)
            self.assertIn("user 138:", result.stdout)

            # Bad input: the server's INVALID_ARGUMENT, exit 1.
            for args in (["--user", "138", "--count", "101"],
                         ["--user", "138", "--count", "-1"],
                         ["--user", ""],
                         ["--user", "138", "--genres", "NoSuchGenre"]):
                result = cli("--target", target, "recommend", *args)
                self.assertEqual(result.returncode, 1, args)
                self.assertIn("error: INVALID_ARGUMENT", result.stderr)
            result = cli("--target", target, "similar", "--movie", "99999")
            self.assertEqual(result.returncode, 1)
            self.assertIn("error: NOT_FOUND", result.stderr)

            # A second version rolls out without a restart.
            self.train()
            self.wait_for_version(target, "2")
            server.wait_for_metric(r"^movierec_model_version 2(\.0+)?$")

    def test_no_server_is_unavailable(self):
        with tempfile.TemporaryDirectory() as empty, live_server.LiveServer(
                SERVER, empty) as server:
            port = server.port
        result = cli("--target", f"127.0.0.1:{port}", "recommend", "--user",
                     "1")
        self.assertEqual(result.returncode, 1)
        self.assertIn("error: UNAVAILABLE", result.stderr)

    def test_usage_errors_exit_2(self):
        for args in (["recommend"], ["similar"], ["batch"],
                     ["--tls_cert", "c.pem", "health"]):
            result = subprocess.run([CLI, *args], capture_output=True,
                                    text=True, timeout=60, check=False)
            self.assertEqual(result.returncode, 2, args)
        result = subprocess.run([VENV_PYTHON, "-m", "movierec_client",
                                 "recommend"], capture_output=True,
                                text=True, timeout=60, check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--user", result.stderr)


class LibraryTest(unittest.TestCase):
    """Every RPC through MovierecClient, against one server with one model
    version."""

    @classmethod
    def setUpClass(cls):
        cls.server = live_server.LiveServer(SERVER, MODEL.model_base)
        cls.server.__enter__()
        cls.client = mc.MovierecClient(cls.server.target, timeout=10)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.__exit__(None, None, None)

    def assertMovies(self, movies, count):  # noqa: N802
        self.assertEqual(len(movies), count)
        ids = [m.movie_id for m in movies]
        self.assertEqual(len(set(ids)), count)
        for movie in movies:
            self.assertEqual(movie.title[:6], "Movie ")
            self.assertEqual(len(movie.genres), 1)
            self.assertIn(movie.genres[0], live_server.GENRES)
            self.assertTrue(1930 <= movie.release_year < 1998)
        scores = [m.score for m in movies]
        self.assertEqual(scores, sorted(scores, reverse=True))

    def test_recommend_a_known_user(self):
        response = self.client.recommend("138", 5)
        self.assertIsInstance(response, mc.RecommendResponse)
        self.assertEqual(response.model_version, "1")
        self.assertFalse(response.fallback)
        self.assertEqual(response.personalization,
                         mc.Personalization.Value(
                             "PERSONALIZATION_KNOWN_USER"))
        self.assertMovies(response.movies, 5)
        # count 0 means 10; a user id may be an int.
        self.assertMovies(self.client.recommend(138).movies, 10)
        as_dict = mc.to_dict(response)
        self.assertEqual(as_dict["personalization"],
                         "PERSONALIZATION_KNOWN_USER")
        self.assertEqual(as_dict["fallback"], False)
        self.assertEqual(
            set(as_dict["movies"][0]),
            {f.name for f in mc.ScoredMovie.DESCRIPTOR.fields})

    def test_filters(self):
        def recommend(**kwargs):
            return [m for m in self.client.recommend("138", 100,
                                                     **kwargs).movies]

        everything = recommend()
        comedies = recommend(genres=["Comedy"])
        self.assertTrue(comedies)
        self.assertEqual({m.movie_id for m in comedies},
                         {m.movie_id for m in everything
                          if "Comedy" in m.genres})
        years = recommend(genres=["Comedy", "Drama"], min_release_year=1950,
                          max_release_year=1980)
        self.assertTrue(years)
        for movie in years:
            self.assertTrue(set(movie.genres) & {"Comedy", "Drama"})
            self.assertTrue(1950 <= movie.release_year <= 1980)
        self.assertEqual(len(years), len(
            [m for m in everything
             if set(m.genres) & {"Comedy", "Drama"}
             and 1950 <= m.release_year <= 1980]))
        excluded = {years[0].movie_id, years[-1].movie_id}
        rest = recommend(genres=["Comedy", "Drama"], min_release_year=1950,
                         max_release_year=1980,
                         exclude_movie_ids=sorted(excluded))
        self.assertEqual({m.movie_id for m in rest},
                         {m.movie_id for m in years} - excluded)
        # The same filter as a MovieFilter, or a dict, or one of each.
        for movie_filter in (
                mc.make_filter(genres=["Drama"], max_release_year=1980),
                {"genres": ["Drama"], "max_release_year": 1980}):
            dramas = recommend(movie_filter=movie_filter)
            self.assertEqual(dramas, recommend(genres=["Drama"],
                                               max_release_year=1980))
        self.assertEqual(
            recommend(movie_filter={"genres": ["Drama"]},
                      max_release_year=1980),
            recommend(genres=["Drama"], max_release_year=1980))
        # Filters apply to the popular fallback too.
        popular = self.client.recommend("424242", 100, genres=["Action"])
        self.assertTrue(popular.fallback)
        self.assertTrue(all(m.genres == ["Action"] for m in popular.movies))

    def test_recent_movies_for_an_unknown_user(self):
        for user in ("", "424242"):
            response = self.client.recommend(
                user, 5, recent_movie_ids=["1", "2", 3])
            self.assertFalse(response.fallback)
            self.assertEqual(response.personalization,
                             mc.Personalization.Value(
                                 "PERSONALIZATION_RECENT_MOVIES"))
            self.assertMovies(response.movies, 5)
            self.assertFalse({m.movie_id for m in response.movies} &
                             {"1", "2", "3"})
        popular = self.client.recommend("424242", 3)
        self.assertTrue(popular.fallback)
        self.assertEqual(popular.personalization,
                         mc.Personalization.Value("PERSONALIZATION_POPULAR"))
        self.assertEqual(len(popular.movies), 3)

    def test_similar_movies(self):
        response = self.client.similar_movies("50", 5)
        self.assertIsInstance(response, mc.SimilarMoviesResponse)
        self.assertEqual(response.model_version, "1")
        self.assertMovies(response.movies, 5)
        self.assertNotIn("50", [m.movie_id for m in response.movies])
        for movie in response.movies:
            self.assertAlmostEqual(movie.score, movie.retrieval_score,
                                   places=5)
        actions = self.client.similar_movies(50, 100, genres=["Action"],
                                             exclude_movie_ids=[4])
        self.assertTrue(actions.movies)
        self.assertTrue(all(m.genres == ["Action"] for m in actions.movies))
        self.assertNotIn("4", [m.movie_id for m in actions.movies])

    def test_search_movies(self):
        # The synthetic catalogue's titles are "Movie N (YEAR)".
        response = self.client.search_movies("movie 1", 5)
        self.assertIsInstance(response, mc.SearchMoviesResponse)
        self.assertEqual(response.model_version, "1")
        self.assertEqual(len(response.movies), 5)
        self.assertGreater(response.total_matches, 5)
        self.assertIn("Action", response.catalogue_genres)
        self.assertTrue(all(m.title.startswith("Movie 1")
                            for m in response.movies))
        scores = [m.score for m in response.movies]
        self.assertEqual(scores, sorted(scores, reverse=True))
        looked_up = self.client.search_movies(movie_ids=[50, "1"])
        self.assertEqual(sorted(m.movie_id for m in looked_up.movies),
                         ["1", "50"])
        with self.assertRaises(mc.MovierecError) as caught:
            self.client.search_movies(movie_ids=["999999"])
        self.assertEqual(caught.exception.code_name, "NOT_FOUND")
        self.assertEqual(caught.exception.method, "SearchMovies")

    def test_recommend_batch(self):
        response = self.client.recommend_batch([
            {"user_id": "138", "count": 3, "genres": ["Drama"]},
            mc.make_recommend_request("424242", 2),
            mc.RecommendRequest(recent_movie_ids=["1", "2"], count=4),
        ])
        self.assertIsInstance(response, mc.RecommendBatchResponse)
        self.assertEqual(response.model_version, "1")
        self.assertEqual([len(r.movies) for r in response.responses],
                         [3, 2, 4])
        self.assertEqual(
            [mc.Personalization.Name(r.personalization)
             for r in response.responses],
            ["PERSONALIZATION_KNOWN_USER", "PERSONALIZATION_POPULAR",
             "PERSONALIZATION_RECENT_MOVIES"])
        self.assertTrue(all(m.genres == ["Drama"]
                            for m in response.responses[0].movies))
        single = self.client.recommend("138", 3, genres=["Drama"])
        self.assertEqual(response.responses[0], single)
        # One invalid request fails the whole call, naming its index.
        with self.assertRaises(mc.MovierecError) as caught:
            self.client.recommend_batch([{"user_id": "1"},
                                         {"user_id": "1", "count": 101}])
        self.assertEqual(caught.exception.code_name, "INVALID_ARGUMENT")
        self.assertIn("requests[1]", caught.exception.details)
        self.assertEqual(caught.exception.method, "RecommendBatch")

    def test_errors_carry_the_code_and_message(self):
        import grpc  # noqa: PLC0415 (Debian's, as the package uses)
        cases = [
            (lambda: self.client.recommend("138", 101), "INVALID_ARGUMENT",
             "count"),
            (lambda: self.client.recommend("138", genres=["NoSuchGenre"]),
             "INVALID_ARGUMENT", "NoSuchGenre"),
            (lambda: self.client.recommend(""), "INVALID_ARGUMENT",
             "user_id"),
            (lambda: self.client.similar_movies("99999"), "NOT_FOUND",
             "99999"),
            (lambda: self.client.recommend("", recent_movie_ids=["99999"]),
             "NOT_FOUND", "recent_movie_ids"),
        ]
        for call, code, text in cases:
            with self.assertRaises(mc.MovierecError) as caught:
                call()
            error = caught.exception
            self.assertEqual(error.code, getattr(grpc.StatusCode, code))
            self.assertIn(text, error.details)
            self.assertIn(f"{code}: ", str(error))
            self.assertIsInstance(error.__cause__, grpc.RpcError)

    def test_deadlines(self):
        # A deadline already past when the call starts. (Not a microsecond
        # away: gRPC rounds a deadline up to its next millisecond, in which a
        # warm channel can finish a call.)
        with self.assertRaises(mc.MovierecError) as caught:
            self.client.recommend("138", timeout=-1)
        self.assertEqual(caught.exception.code_name, "DEADLINE_EXCEEDED")
        # The client's default deadline, and a call's own.
        with mc.MovierecClient(self.server.target, timeout=-1) as hasty:
            with self.assertRaises(mc.MovierecError) as caught:
                hasty.similar_movies("50")
            self.assertEqual(caught.exception.code_name, "DEADLINE_EXCEEDED")
            self.assertEqual(len(hasty.recommend("138", 2,
                                                 timeout=10).movies), 2)
        # A server that accepts the connection and never answers: the call
        # waits for its deadline, and no longer.
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
            port = silent.getsockname()[1]
            with mc.MovierecClient(f"127.0.0.1:{port}") as client:
                start = time.monotonic()
                with self.assertRaises(mc.MovierecError) as caught:
                    client.recommend_batch([{"user_id": "138"}], timeout=0.5)
                elapsed = time.monotonic() - start
        self.assertEqual(caught.exception.code_name, "DEADLINE_EXCEEDED")
        self.assertGreaterEqual(elapsed, 0.45)
        self.assertLess(elapsed, 5)

    def test_health(self):
        self.assertTrue(self.client.is_live())
        self.assertTrue(self.client.is_ready())
        self.assertEqual(self.client.check_health(mc.LIVENESS), "SERVING")
        self.assertEqual(self.client.check_health(), "SERVING")
        with self.assertRaises(mc.MovierecError) as caught:
            self.client.check_health("no.such.Service")
        self.assertEqual(caught.exception.code_name, "NOT_FOUND")

    def test_a_server_without_a_model(self):
        with tempfile.TemporaryDirectory() as empty, live_server.LiveServer(
                SERVER, empty) as server, \
                mc.MovierecClient(server.target) as client:
            self.assertTrue(client.is_live())
            self.assertFalse(client.is_ready())
            self.assertEqual(client.check_health(), "NOT_SERVING")
            with self.assertRaises(mc.MovierecError) as caught:
                client.recommend("138")
            self.assertEqual(caught.exception.code_name, "UNAVAILABLE")
            server.stop()
            self.assertFalse(client.is_live(timeout=2))


class Pki:
    """A CA, another CA, a server certificate for 127.0.0.1 and localhost,
    and client certificates of each CA, made by openssl under `directory`."""

    def __init__(self, directory):
        self.dir = directory
        self.make_ca("ca")
        self.make_ca("other-ca")
        self.make_signed("server", "ca",
                         "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                         "extendedKeyUsage=serverAuth\n")
        self.make_signed("client", "ca", "extendedKeyUsage=clientAuth\n")
        self.make_signed("other-client", "other-ca",
                         "extendedKeyUsage=clientAuth\n")

    def key(self, name):
        return os.path.join(self.dir, f"{name}.key")

    def pem(self, name):
        return os.path.join(self.dir, f"{name}.pem")

    @staticmethod
    def openssl(*args):
        run(["/usr/bin/openssl", *args])

    def make_ca(self, name):
        self.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                     "-subj", f"/CN=movierec test {name}", "-keyout",
                     self.key(name), "-out", self.pem(name))

    def make_signed(self, name, ca, extensions):
        csr = os.path.join(self.dir, f"{name}.csr")
        ext = os.path.join(self.dir, f"{name}.ext")
        with open(ext, "w", encoding="utf-8") as f:
            f.write(extensions)
        self.openssl("req", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
                     f"/CN=movierec test {name}", "-keyout", self.key(name),
                     "-out", csr)
        self.openssl("x509", "-req", "-in", csr, "-CA", self.pem(ca),
                     "-CAkey", self.key(ca), "-CAcreateserial", "-days", "2",
                     "-extfile", ext, "-out", self.pem(name))


class TlsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.pki_dir = tempfile.mkdtemp(prefix="movierec-pyclient-pki-")
        cls.pki = Pki(cls.pki_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki_dir, ignore_errors=True)

    def tls_server(self, mutual):
        pki = self.pki
        flags = [f"--tls_cert={pki.pem('server')}",
                 f"--tls_key={pki.key('server')}"]
        if mutual:
            flags.append(f"--tls_client_ca={pki.pem('ca')}")
        return live_server.LiveServer(SERVER, MODEL.model_base, flags)

    def assertRefused(self, client):  # noqa: N802
        with client, self.assertRaises(mc.MovierecError) as caught:
            client.recommend("138", 3)
        self.assertEqual(caught.exception.code_name, "UNAVAILABLE",
                         caught.exception)

    def test_tls(self):
        pki = self.pki
        with self.tls_server(mutual=False) as server:
            with open(pki.pem("ca"), "rb") as f:
                ca_bytes = f.read()
            # The CA as a path or as PEM bytes; a name the certificate has.
            for kwargs in ({"root_certificates": pki.pem("ca")},
                           {"root_certificates": ca_bytes},
                           {"root_certificates": ca_bytes,
                            "server_name": "localhost"}):
                with mc.MovierecClient(server.target, **kwargs) as client:
                    self.assertEqual(len(client.recommend("138", 3).movies),
                                     3, kwargs)
                    self.assertEqual(client.check_health(), "SERVING")
            # Plaintext, a CA that did not sign the server's certificate, a
            # name the certificate does not have.
            self.assertRefused(mc.MovierecClient(server.target))
            self.assertRefused(mc.MovierecClient(
                server.target, root_certificates=pki.pem("other-ca")))
            self.assertRefused(mc.MovierecClient(
                server.target, root_certificates=pki.pem("ca"),
                server_name="movierec.example.com"))

    def test_mutual_tls(self):
        pki = self.pki
        with self.tls_server(mutual=True) as server:
            with mc.MovierecClient(
                    server.target, root_certificates=pki.pem("ca"),
                    certificate_chain=pki.pem("client"),
                    private_key=pki.key("client")) as client:
                self.assertEqual(len(client.similar_movies("50", 2).movies),
                                 2)
                self.assertTrue(client.is_ready())
            self.assertRefused(mc.MovierecClient(
                server.target, root_certificates=pki.pem("ca")))
            self.assertRefused(mc.MovierecClient(
                server.target, root_certificates=pki.pem("ca"),
                certificate_chain=pki.pem("other-client"),
                private_key=pki.key("other-client")))
            self.assertRefused(mc.MovierecClient(server.target))
            # The command line's flags.
            target = ["--target", server.target]
            result = cli(*target, "--tls_ca", pki.pem("ca"), "--tls_cert",
                         pki.pem("client"), "--tls_key", pki.key("client"),
                         "recommend", "--user", "138", "--count", "2")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("model version 1", result.stdout)
            result = cli(*target, "--tls_ca", pki.pem("ca"), "recommend",
                         "--user", "138")
            self.assertEqual(result.returncode, 1)
            self.assertIn("error: UNAVAILABLE", result.stderr)


class RoundRobinTest(unittest.TestCase):
    """One target with two servers' addresses, as a headless Service's DNS
    name resolves to every pod."""

    def wait_for_calls(self, servers, expected):
        deadline = time.monotonic() + 10
        while True:
            counts = [recommend_calls(s) for s in servers]
            if sum(counts) >= expected or time.monotonic() > deadline:
                return counts
            time.sleep(0.05)

    def test_round_robin_calls_every_server(self):
        with live_server.LiveServer(SERVER, MODEL.model_base) as first, \
                live_server.LiveServer(SERVER, MODEL.model_base) as second:
            servers = (first, second)
            target = f"ipv4:127.0.0.1:{first.port},127.0.0.1:{second.port}"
            with mc.MovierecClient(target, round_robin=True) as client:
                for _ in range(40):
                    self.assertEqual(len(client.recommend("138", 2).movies),
                                     2)
            counts = self.wait_for_calls(servers, 40)
            self.assertEqual(sum(counts), 40, counts)
            self.assertTrue(all(counts), counts)

            # Without it (gRPC's pick_first), one server gets every call.
            with mc.MovierecClient(target) as client:
                for _ in range(10):
                    client.recommend("138", 2)
            after = self.wait_for_calls(servers, 50)
            self.assertEqual(sum(after), 50, after)
            self.assertEqual(sorted(a - c for a, c in zip(after, counts)),
                             [0, 10], (counts, after))
            # The command line's --round_robin.
            result = cli("--target", target, "--round_robin", "recommend",
                         "--user", "138", "--count", "1")
            self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
