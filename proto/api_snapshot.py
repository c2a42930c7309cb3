"""The committed descriptor snapshot of the public API, and the check that
the API keeps its promises: the .proto files of proto/movierec/v1/ compared
with the snapshot (api_descriptor.txtpb, a FileDescriptorSet in protobuf text
format), with the rules of `buf breaking` that protect clients already
generated from the snapshot. Additions pass; these break:

- a file, message, enum, service or RPC removed (a rename is a removal);
- a field removed or renumbered (its number gone, or its name under another
  number), renamed, or given another type or label (repeated, optional) or
  oneof;
- an enum value's number removed or renamed;
- an RPC's input or output type, or its streaming, changed.

Run with /usr/bin/python3 (Debian's python3-protobuf; protoc from
protobuf-compiler, or python3-grpc-tools):

    /usr/bin/python3 proto/api_snapshot.py          # check: exit 1 on a break
    /usr/bin/python3 proto/api_snapshot.py --write  # regenerate the snapshot

or `cmake --build build --target update_api_snapshot`. Regenerate after an
addition; a deliberate break needs the same, and its diff shows the break.
tests/proto/breaking_test.py runs the check.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2
from google.protobuf import text_format

PROTO_ROOT = os.path.dirname(os.path.abspath(__file__))
API_DIR = os.path.join(PROTO_ROOT, "movierec", "v1")
SNAPSHOT = os.path.join(API_DIR, "api_descriptor.txtpb")

_FIELD = descriptor_pb2.FieldDescriptorProto


def api_protos(proto_root=PROTO_ROOT):
    """The public API's .proto files, as paths relative to `proto_root`."""
    paths = sorted(glob.glob(os.path.join(proto_root, "movierec", "v1",
                                          "*.proto")))
    return [os.path.relpath(p, proto_root) for p in paths]


def descriptor_set(proto_root=PROTO_ROOT, files=None, source_info=False):
    """The FileDescriptorSet protoc makes of `files` (default: api_protos)
    under `proto_root`; RuntimeError with protoc's message on an error."""
    files = files if files is not None else api_protos(proto_root)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "set.binpb")
        args = [f"-I{proto_root}", f"--descriptor_set_out={out}"]
        if source_info:
            args.append("--include_source_info")
        args += files
        protoc = shutil.which("protoc")
        if protoc is not None:
            run = subprocess.run([protoc, *args], capture_output=True,
                                 text=True, check=False)
            code, message = run.returncode, run.stderr
        else:
            from grpc_tools import protoc as grpc_protoc  # python3-grpc-tools
            code, message = grpc_protoc.main(["protoc", *args]), ""
        if code != 0:
            raise RuntimeError(f"protoc failed ({code}) on {files}: {message}")
        with open(out, "rb") as f:
            return descriptor_pb2.FileDescriptorSet.FromString(f.read())


def read_snapshot(path=SNAPSHOT):
    with open(path, encoding="utf-8") as f:
        return text_format.Parse(f.read(), descriptor_pb2.FileDescriptorSet())


def snapshot_text(fds):
    header = ("# The public API's descriptors (proto/api_snapshot.py --write "
              "made this;\n# do not edit by hand). proto/api_snapshot.py "
              "checks that changes to\n# proto/movierec/v1 keep every "
              "promise made here.\n")
    return header + text_format.MessageToString(fds)


def _type_name(field):
    if field.type in (_FIELD.TYPE_MESSAGE, _FIELD.TYPE_ENUM,
                      _FIELD.TYPE_GROUP):
        return field.type_name.lstrip(".")
    return _FIELD.Type.Name(field.type)[len("TYPE_"):].lower()


def _label(field):
    if field.label == _FIELD.LABEL_REPEATED:
        return "repeated"
    if field.proto3_optional:
        return "optional"
    if field.label == _FIELD.LABEL_REQUIRED:
        return "required"
    return "singular"


def _oneof(message, field):
    if not field.HasField("oneof_index") or field.proto3_optional:
        return None
    return message.oneof_decl[field.oneof_index].name


def _index(fds):
    """{full name: (kind, descriptor, parent message or None)} for every
    message, enum and service of `fds`, and {file name: package}."""
    items, files = {}, {}

    def add_messages(prefix, messages):
        for m in messages:
            name = f"{prefix}.{m.name}" if prefix else m.name
            items[name] = ("message", m, None)
            add_enums(name, m.enum_type)
            add_messages(name, m.nested_type)

    def add_enums(prefix, enums):
        for e in enums:
            items[f"{prefix}.{e.name}" if prefix else e.name] = ("enum", e,
                                                                 None)

    for f in fds.file:
        files[f.name] = f.package
        add_messages(f.package, f.message_type)
        add_enums(f.package, f.enum_type)
        for s in f.service:
            name = f"{f.package}.{s.name}" if f.package else s.name
            items[name] = ("service", s, None)
    return items, files


def _message_changes(name, old, new):
    problems = []
    new_by_number = {f.number: f for f in new.field}
    new_by_name = {f.name: f for f in new.field}
    for f in old.field:
        what = f"field {f.number} ({f.name}) of message {name}"
        g = new_by_number.get(f.number)
        if g is None:
            moved = new_by_name.get(f.name)
            if moved is not None:
                problems.append(f"{what} was renumbered to {moved.number}")
            else:
                problems.append(f"{what} was removed")
            continue
        if g.name != f.name:
            problems.append(f"{what} was renamed to {g.name}")
        if _type_name(g) != _type_name(f):
            problems.append(f"{what} changed type from {_type_name(f)} to "
                            f"{_type_name(g)}")
        if _label(g) != _label(f):
            problems.append(f"{what} changed label from {_label(f)} to "
                            f"{_label(g)}")
        if _oneof(new, g) != _oneof(old, f):
            problems.append(f"{what} moved from oneof {_oneof(old, f)} to "
                            f"oneof {_oneof(new, g)}")
    return problems


def _enum_changes(name, old, new):
    problems = []
    new_by_number = {v.number: v for v in new.value}
    for v in old.value:
        g = new_by_number.get(v.number)
        what = f"enum value {v.number} ({v.name}) of enum {name}"
        if g is None:
            problems.append(f"{what} was removed")
        elif g.name != v.name:
            problems.append(f"{what} was renamed to {g.name}")
    return problems


def _service_changes(name, old, new):
    problems = []
    new_methods = {m.name: m for m in new.method}
    for m in old.method:
        what = f"rpc {name}.{m.name}"
        g = new_methods.get(m.name)
        if g is None:
            problems.append(f"{what} was removed (or renamed)")
            continue
        for part in ("input_type", "output_type"):
            before, after = (getattr(m, part).lstrip("."),
                             getattr(g, part).lstrip("."))
            if before != after:
                problems.append(f"{what} changed its {part.replace('_', ' ')}"
                                f" from {before} to {after}")
        for part in ("client_streaming", "server_streaming"):
            if getattr(m, part) != getattr(g, part):
                problems.append(f"{what} changed {part.replace('_', ' ')} "
                                f"from {getattr(m, part)} to "
                                f"{getattr(g, part)}")
    return problems


def breaking_changes(old, new):
    """What `new` (a FileDescriptorSet) breaks of `old`, one sentence each
    naming the element; empty when every change is an addition."""
    problems = []
    old_items, old_files = _index(old)
    new_items, new_files = _index(new)
    for f, package in sorted(old_files.items()):
        if f not in new_files:
            problems.append(f"file {f} was removed")
        elif new_files[f] != package:
            problems.append(f"file {f} changed package from {package} to "
                            f"{new_files[f]}")
    checks = {"message": _message_changes, "enum": _enum_changes,
              "service": _service_changes}
    for name, (kind, before, _) in sorted(old_items.items()):
        after = new_items.get(name)
        if after is None or after[0] != kind:
            problems.append(f"{kind} {name} was removed (or renamed)")
            continue
        problems += checks[kind](name, before, after[1])
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help="regenerate the snapshot from the .proto files")
    args = parser.parse_args()
    current = descriptor_set()
    if args.write:
        with open(SNAPSHOT, "w", encoding="utf-8") as f:
            f.write(snapshot_text(current))
        print(f"wrote {os.path.relpath(SNAPSHOT, os.getcwd())}")
        return 0
    problems = breaking_changes(read_snapshot(), current)
    for p in problems:
        print(f"breaking change: {p}", file=sys.stderr)
    if not problems:
        print("no breaking change against the snapshot")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
