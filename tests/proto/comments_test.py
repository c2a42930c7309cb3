"""Every service, RPC, message, field, oneof, enum and enum value of the
public API (proto/movierec/v1/*.proto) has a leading comment: the API's
reference is its .proto file, and what generated clients show. Read from the
descriptors protoc makes with --include_source_info, so that what counts as
a comment is what protoc attaches to the element.

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

# Field numbers of descriptor.proto: where each kind of element sits in a
# SourceCodeInfo.Location path.
FILE_MESSAGES, FILE_ENUMS, FILE_SERVICES = 4, 5, 6
MESSAGE_FIELDS, MESSAGE_NESTED, MESSAGE_ENUMS, MESSAGE_ONEOFS = 2, 3, 4, 8
ENUM_VALUES = 2
SERVICE_METHODS = 2


def missing_comments(fds):
    """'<kind> <full name>' of every element of `fds` without a leading
    comment (whitespace alone does not count)."""
    missing = []
    for f in fds.file:
        comments = {tuple(loc.path): loc.leading_comments.strip()
                    for loc in f.source_code_info.location}

        def check(kind, name, path):
            if not comments.get(tuple(path)):
                missing.append(f"{kind} {name} ({f.name})")

        def enum(e, name, path):
            check("enum", name, path)
            for i, v in enumerate(e.value):
                check("enum value", f"{name}.{v.name}",
                      path + [ENUM_VALUES, i])

        def message(m, name, path):
            check("message", name, path)
            for i, field in enumerate(m.field):
                check("field", f"{name}.{field.name}",
                      path + [MESSAGE_FIELDS, i])
            for i, oneof in enumerate(m.oneof_decl):
                if not any(field.proto3_optional and field.oneof_index == i
                           for field in m.field):  # synthetic: no source
                    check("oneof", f"{name}.{oneof.name}",
                          path + [MESSAGE_ONEOFS, i])
            for i, nested in enumerate(m.nested_type):
                message(nested, f"{name}.{nested.name}",
                        path + [MESSAGE_NESTED, i])
            for i, e in enumerate(m.enum_type):
                enum(e, f"{name}.{e.name}", path + [MESSAGE_ENUMS, i])

        for i, m in enumerate(f.message_type):
            message(m, f"{f.package}.{m.name}", [FILE_MESSAGES, i])
        for i, e in enumerate(f.enum_type):
            enum(e, f"{f.package}.{e.name}", [FILE_ENUMS, i])
        for i, s in enumerate(f.service):
            name = f"{f.package}.{s.name}"
            check("service", name, [FILE_SERVICES, i])
            for j, method in enumerate(s.method):
                check("rpc", f"{name}.{method.name}",
                      [FILE_SERVICES, i, SERVICE_METHODS, j])
    return missing


class CommentsTest(unittest.TestCase):

    def test_every_element_of_the_api_has_a_leading_comment(self):
        fds = api_snapshot.descriptor_set(source_info=True)
        self.assertTrue(fds.file, "no .proto file in proto/movierec/v1")
        missing = missing_comments(fds)
        self.assertEqual(missing, [], "without a leading comment:\n" +
                         "\n".join(missing))

    def test_a_missing_or_trailing_only_comment_is_named(self):
        # A copy of proto/ with comments taken away, and one moved after
        # its field (a trailing comment is not a leading one).
        with tempfile.TemporaryDirectory() as tmp:
            root = os.path.join(tmp, "proto")
            shutil.copytree(api_snapshot.PROTO_ROOT, root)
            path = os.path.join(root, "movierec", "v1", "recommender.proto")
            with open(path, encoding="utf-8") as f:
                text = f.read()
            edits = [
                ("  // The title as in u.item, release year included, e.g. "
                 "\"Toy Story (1995)\".\n  string title = 2;",
                 "  string title = 2;  // the title"),
                ("// Many RecommendRequests, answered together.\n"
                 "message RecommendBatchRequest {",
                 "message RecommendBatchRequest {"),
                ("  // Never sent by the server (the proto3 zero value).\n"
                 "  PERSONALIZATION_UNSPECIFIED = 0;",
                 "\n  PERSONALIZATION_UNSPECIFIED = 0;"),
            ]
            for old, new in edits:
                self.assertEqual(text.count(old), 1,
                                 f"not in the proto: {old}")
                text = text.replace(old, new)
            start = text.index("  // The movies nearest to a movie")
            end = text.index("  rpc SimilarMovies(")
            text = text[:start] + text[end:]
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            missing = missing_comments(api_snapshot.descriptor_set(
                proto_root=root, source_info=True))
        where = " (movierec/v1/recommender.proto)"
        self.assertEqual(sorted(missing), sorted(m + where for m in [
            "field movierec.v1.ScoredMovie.title",
            "message movierec.v1.RecommendBatchRequest",
            "enum value movierec.v1.Personalization."
            "PERSONALIZATION_UNSPECIFIED",
            "rpc movierec.v1.Recommender.SimilarMovies",
        ]))


if __name__ == "__main__":
    unittest.main()
