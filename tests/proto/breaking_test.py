"""The public API against its committed descriptor snapshot
(proto/movierec/v1/api_descriptor.txtpb; proto/api_snapshot.py): the current
.proto files break nothing the snapshot promises, and the check itself
catches each kind of break, shown on mutated copies of the .proto, naming
what broke, while additions pass.

Run with /usr/bin/python3 (Debian's python3-protobuf).
"""

import os
import shutil
import sys
import tempfile
import unittest

SOURCE_DIR = os.environ.get(
    "MOVIEREC_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "proto"))
import api_snapshot  # noqa: E402

FILTER = "movierec.v1.MovieFilter"
REQUEST = "movierec.v1.RecommendRequest"
SCORED = "movierec.v1.ScoredMovie"
SERVICE = "movierec.v1.Recommender"

# (name, [(old text, new text)] applied to recommender.proto, breaks).
MUTATIONS = [
    ("remove a field",
     [("  repeated string exclude_movie_ids = 4;\n", "")],
     [f"field 4 (exclude_movie_ids) of message {FILTER} was removed"]),
    ("renumber a field",
     [("  string user_id = 1;", "  string user_id = 9;")],
     [f"field 1 (user_id) of message {REQUEST} was renumbered to 9"]),
    ("rename a field",
     [("  string title = 2;", "  string name = 2;")],
     [f"field 2 (title) of message {SCORED} was renamed to name"]),
    ("change a field's type",
     [("  float score = 3;", "  double score = 3;")],
     [f"field 3 (score) of message {SCORED} changed type from float to "
      "double"]),
    ("change a field's message type",
     [("  MovieFilter filter = 4;", "  ScoredMovie filter = 4;")],
     [f"field 4 (filter) of message {REQUEST} changed type from {FILTER} to "
      f"{SCORED}"]),
    ("change a field's label",
     [("  repeated string genres = 1;", "  string genres = 1;")],
     [f"field 1 (genres) of message {FILTER} changed label from repeated to "
      "singular"]),
    ("rename an RPC",
     [("  rpc SimilarMovies(", "  rpc NearestMovies(")],
     [f"rpc {SERVICE}.SimilarMovies was removed (or renamed)"]),
    ("change an RPC's input type",
     [("rpc RecommendBatch(RecommendBatchRequest)",
       "rpc RecommendBatch(RecommendRequest)")],
     [f"rpc {SERVICE}.RecommendBatch changed its input type from "
      "movierec.v1.RecommendBatchRequest to movierec.v1.RecommendRequest"]),
    ("change an RPC's output type",
     [("returns (SimilarMoviesResponse)", "returns (RecommendResponse)")],
     [f"rpc {SERVICE}.SimilarMovies changed its output type from "
      "movierec.v1.SimilarMoviesResponse to movierec.v1.RecommendResponse"]),
    ("make an RPC streaming",
     [("returns (RecommendResponse);", "returns (stream RecommendResponse);")],
     [f"rpc {SERVICE}.Recommend changed server streaming from False to "
      "True"]),
    ("remove an enum value",
     [("  PERSONALIZATION_POPULAR = 3;\n", "")],
     ["enum value 3 (PERSONALIZATION_POPULAR) of enum "
      "movierec.v1.Personalization was removed"]),
    ("rename an enum value",
     [("  PERSONALIZATION_POPULAR = 3;", "  PERSONALIZATION_TOP = 3;")],
     ["enum value 3 (PERSONALIZATION_POPULAR) of enum "
      "movierec.v1.Personalization was renamed to PERSONALIZATION_TOP"]),
    ("rename a message",
     [("message SimilarMoviesResponse {", "message SimilarResponse {"),
      ("returns (SimilarMoviesResponse)", "returns (SimilarResponse)")],
     ["message movierec.v1.SimilarMoviesResponse was removed (or renamed)",
      f"rpc {SERVICE}.SimilarMovies changed its output type from "
      "movierec.v1.SimilarMoviesResponse to movierec.v1.SimilarResponse"]),
    ("rename an enum",
     [("enum Personalization {", "enum Personalisation {"),
      ("  Personalization personalization = 4;",
       "  Personalisation personalization = 4;")],
     ["enum movierec.v1.Personalization was removed (or renamed)",
      "field 4 (personalization) of message movierec.v1.RecommendResponse "
      "changed type from movierec.v1.Personalization to "
      "movierec.v1.Personalisation"]),
    ("rename the service",
     [("service Recommender {", "service Recommendations {")],
     [f"service {SERVICE} was removed (or renamed)"]),
    ("change the package",
     [("package movierec.v1;", "package movierec.v2;")],
     None),  # everything breaks; checked apart below
]

# Additions: a field, a message, an enum value, an RPC, an enum.
ADDITIONS = [
    ("  repeated string exclude_movie_ids = 4;\n",
     "  repeated string exclude_movie_ids = 4;\n"
     "  // Added.\n  int64 added_field = 6;\n"),
    ("enum Personalization {",
     "message AddedMessage {\n  string name = 1;\n}\n\n"
     "enum AddedEnum {\n  ADDED_ENUM_UNSPECIFIED = 0;\n}\n\n"
     "enum Personalization {"),
    ("  PERSONALIZATION_POPULAR = 3;\n",
     "  PERSONALIZATION_POPULAR = 3;\n  PERSONALIZATION_ADDED = 4;\n"),
    ("service Recommender {\n",
     "service Recommender {\n"
     "  rpc Added(AddedMessage) returns (AddedMessage);\n"),
]


class BreakingTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.snapshot = api_snapshot.read_snapshot()

    def mutated(self, edits):
        """The descriptors of a copy of proto/ with `edits` applied to
        recommender.proto, each of which must match exactly once."""
        with tempfile.TemporaryDirectory() as tmp:
            root = os.path.join(tmp, "proto")
            shutil.copytree(api_snapshot.PROTO_ROOT, root)
            path = os.path.join(root, "movierec", "v1", "recommender.proto")
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for old, new in edits:
                self.assertEqual(text.count(old), 1,
                                 f"the edit does not fit the proto: {old!r}")
                text = text.replace(old, new)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            return api_snapshot.descriptor_set(proto_root=root)

    def test_the_snapshot_covers_the_api(self):
        files = [f.name for f in self.snapshot.file]
        self.assertEqual(files, api_snapshot.api_protos())
        self.assertIn("Recommender",
                      [s.name for f in self.snapshot.file for s in f.service])

    def test_the_current_api_breaks_nothing(self):
        problems = api_snapshot.breaking_changes(
            self.snapshot, api_snapshot.descriptor_set())
        self.assertEqual(problems, [], "breaking changes against "
                         "proto/movierec/v1/api_descriptor.txtpb:\n" +
                         "\n".join(problems))

    def test_each_break_is_reported_naming_what_broke(self):
        for name, edits, want in MUTATIONS:
            if want is None:
                continue
            with self.subTest(mutation=name):
                got = api_snapshot.breaking_changes(self.snapshot,
                                                    self.mutated(edits))
                self.assertEqual(sorted(got), sorted(want))

    def test_a_changed_package_breaks_every_element(self):
        edits = next(e for n, e, _ in MUTATIONS if n == "change the package")
        got = api_snapshot.breaking_changes(self.snapshot, self.mutated(edits))
        self.assertIn("file movierec/v1/recommender.proto changed package "
                      "from movierec.v1 to movierec.v2", got)
        self.assertIn(f"service {SERVICE} was removed (or renamed)", got)
        self.assertIn(f"message {FILTER} was removed (or renamed)", got)

    def test_additions_pass(self):
        current = self.mutated(ADDITIONS)
        self.assertEqual(api_snapshot.breaking_changes(self.snapshot, current),
                         [])
        # The check is not blind to them: taken the other way, they are
        # removals.
        backwards = api_snapshot.breaking_changes(current, self.snapshot)
        self.assertIn(f"field 6 (added_field) of message {FILTER} was removed",
                      backwards)
        self.assertIn(f"rpc {SERVICE}.Added was removed (or renamed)",
                      backwards)


if __name__ == "__main__":
    unittest.main()
