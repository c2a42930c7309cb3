"""A stand-in for grpcurl, for testing the README's grpcurl commands where
grpcurl itself is not installed (Debian 12 does not package it).

It does what grpcurl does for the subset of its command line the README
uses, the same way: it knows no movierec .proto file, and learns every
service and message from the server's reflection service
(grpc.reflection.v1alpha, which gRPC C++ 1.51 serves), unless -proto names
files to use instead, as in grpcurl.

    grpcurl_lite.py -plaintext [-d JSON] [-import-path DIR -proto FILE]
                    HOST:PORT (list [SERVICE] | describe SYMBOL | SERVICE/METHOD)

Output follows grpcurl's: `list` prints sorted names, `describe` a
protobuf-like text, a call prints the response as JSON (lowerCamelCase
names, default values left out); an RPC error prints "ERROR:", its Code
and Message on stderr and exits 64 + the status code; bad usage exits 2.

Debian packages: python3-grpcio, python3-grpc-tools, grpc-proto.
"""

import importlib
import os
import sys
import tempfile

import grpc
from google.protobuf import descriptor_pb2
from google.protobuf import descriptor_pool
from google.protobuf import json_format
from google.protobuf import message_factory
from grpc_tools import protoc

GRPC_PROTO_DIR = "/usr/share/grpc-proto"
_PACKAGE = "movierec_grpc_proto"  # not `grpc`, grpcio's own package


class UsageError(Exception):
    pass


def _reflection_modules(stub_dir):
    proto = f"{_PACKAGE}/grpc/reflection/v1alpha/reflection.proto"
    code = protoc.main(["grpc_tools.protoc", f"-I{_PACKAGE}={GRPC_PROTO_DIR}",
                        f"--python_out={stub_dir}",
                        f"--grpc_python_out={stub_dir}", proto])
    if code != 0:
        raise RuntimeError(f"protoc failed on {GRPC_PROTO_DIR}/"
                           "grpc/reflection/v1alpha/reflection.proto "
                           "(Debian package grpc-proto)")
    sys.path.insert(0, stub_dir)
    prefix = f"{_PACKAGE}.grpc.reflection.v1alpha"
    return (importlib.import_module(f"{prefix}.reflection_pb2"),
            importlib.import_module(f"{prefix}.reflection_pb2_grpc"))


class Reflection:
    """Asks the server's reflection service, and keeps what it learnt in a
    descriptor pool."""

    def __init__(self, channel, stub_dir):
        self.pb2, pb2_grpc = _reflection_modules(stub_dir)
        self.stub = pb2_grpc.ServerReflectionStub(channel)
        self.pool = descriptor_pool.DescriptorPool()
        self.added = set()

    def _ask(self, **request):
        responses = list(self.stub.ServerReflectionInfo(
            iter([self.pb2.ServerReflectionRequest(**request)]), timeout=10))
        response = responses[0]
        if response.HasField("error_response"):
            error = response.error_response
            raise LookupError(f"Symbol not found: {request} (code "
                              f"{error.error_code}: {error.error_message})")
        return response

    def services(self):
        return sorted(s.name for s in
                      self._ask(list_services="").list_services_response.service)

    def load_symbol(self, symbol):
        files = self._ask(file_containing_symbol=symbol) \
            .file_descriptor_response.file_descriptor_proto
        self._add_files([descriptor_pb2.FileDescriptorProto.FromString(b)
                         for b in files])

    def _add_files(self, protos):
        by_name = {p.name: p for p in protos}

        def add(proto):
            if proto.name in self.added:
                return
            for dependency in proto.dependency:
                if dependency in by_name:
                    add(by_name[dependency])
                elif dependency not in self.added:
                    more = self._ask(file_by_filename=dependency) \
                        .file_descriptor_response.file_descriptor_proto
                    for b in more:
                        p = descriptor_pb2.FileDescriptorProto.FromString(b)
                        by_name[p.name] = p
                    add(by_name[dependency])
            self.pool.Add(proto)
            self.added.add(proto.name)

        for proto in protos:
            add(proto)


class ProtoFiles:
    """-import-path/-proto: descriptors from .proto files, no reflection."""

    def __init__(self, import_paths, protos, stub_dir):
        out = os.path.join(stub_dir, "set.pb")
        args = ["grpc_tools.protoc", f"--descriptor_set_out={out}",
                "--include_imports"]
        args += [f"-I{p}" for p in import_paths] + list(protos)
        if protoc.main(args) != 0:
            raise UsageError(f"cannot compile {protos} from {import_paths}")
        with open(out, "rb") as f:
            files = descriptor_pb2.FileDescriptorSet.FromString(f.read())
        self.pool = descriptor_pool.DescriptorPool()
        for proto in files.file:
            self.pool.Add(proto)
        self._services = sorted(s.full_name for p in files.file
                                for s in self.pool.FindFileByName(p.name)
                                .services_by_name.values())

    def services(self):
        return self._services

    def load_symbol(self, symbol):
        pass


def _field_type(field):
    names = {1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32",
             8: "bool", 9: "string", 12: "bytes", 13: "uint32"}
    if field.message_type is not None:
        return "." + field.message_type.full_name
    if field.enum_type is not None:
        return "." + field.enum_type.full_name
    return names.get(field.type, f"type{field.type}")


def describe(source, symbol):
    source.load_symbol(symbol)
    pool = source.pool
    try:
        service = pool.FindServiceByName(symbol)
    except KeyError:
        service = None
    if service is not None:
        lines = [f"{symbol} is a service:", f"service {service.name} {{"]
        for method in service.methods:
            lines.append(f"  rpc {method.name} ( .{method.input_type.full_name}"
                         f" ) returns ( .{method.output_type.full_name} );")
        return "\n".join(lines + ["}"])
    try:
        message = pool.FindMessageTypeByName(symbol)
    except KeyError:
        raise LookupError(f"Symbol not found: {symbol}") from None
    lines = [f"{symbol} is a message:", f"message {message.name} {{"]
    for field in message.fields:
        label = "repeated " if field.label == field.LABEL_REPEATED else ""
        lines.append(f"  {label}{_field_type(field)} {field.name} = "
                     f"{field.number};")
    return "\n".join(lines + ["}"])


def invoke(source, channel, full_method, data):
    service_name, _, method_name = full_method.replace(".", "/").rpartition("/")
    service_name = full_method[:len(service_name)]
    source.load_symbol(service_name)
    service = source.pool.FindServiceByName(service_name)
    method = service.methods_by_name[method_name]
    factory = message_factory.MessageFactory(source.pool)
    request_class = factory.GetPrototype(method.input_type)
    response_class = factory.GetPrototype(method.output_type)
    request = json_format.Parse(data or "{}", request_class())
    call = channel.unary_unary(f"/{service_name}/{method_name}",
                               request_serializer=request_class.SerializeToString,
                               response_deserializer=response_class.FromString)
    response = call(request, timeout=10)
    return json_format.MessageToJson(response, indent=2)


def parse(argv):
    options = {"plaintext": False, "d": None, "import-path": [], "proto": []}
    rest = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "-plaintext":
            options["plaintext"] = True
        elif arg in ("-d", "-import-path", "-proto"):
            if i + 1 == len(argv):
                raise UsageError(f"{arg} needs a value")
            key = arg[1:]
            if key == "d":
                options["d"] = argv[i + 1]
            else:
                options[key].append(argv[i + 1])
            i += 1
        elif arg.startswith("-"):
            raise UsageError(f"unsupported option {arg}")
        else:
            rest.append(arg)
        i += 1
    if not options["plaintext"]:
        raise UsageError("only -plaintext is supported (no TLS here)")
    if not rest:
        raise UsageError("no address")
    return options, rest[0], rest[1:]


_EXIT_BASE = 64  # grpcurl exits 64 + the status code on an RPC error


def main(argv):
    try:
        options, address, command = parse(argv)
    except UsageError as error:
        print(f"Usage error: {error}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="grpcurl-lite-") as stub_dir, \
            grpc.insecure_channel(address) as channel:
        try:
            if options["proto"]:
                source = ProtoFiles(options["import-path"], options["proto"],
                                    stub_dir)
            else:
                source = Reflection(channel, stub_dir)
            if not command or command[0] == "list":
                if len(command) > 1:
                    source.load_symbol(command[1])
                    service = source.pool.FindServiceByName(command[1])
                    print("\n".join(sorted(m.full_name for m in service.methods)))
                else:
                    print("\n".join(source.services()))
            elif command[0] == "describe" and len(command) == 2:
                print(describe(source, command[1]))
            elif len(command) == 1 and "/" in command[0]:
                print(invoke(source, channel, command[0], options["d"]))
            else:
                print(f"Usage error: cannot run {command}", file=sys.stderr)
                return 2
        except grpc.RpcError as error:
            code = error.code()
            name = "".join(w.capitalize() for w in code.name.split("_"))
            print(f"ERROR:\n  Code: {name}\n  Message: {error.details()}",
                  file=sys.stderr)
            return _EXIT_BASE + code.value[0]
        except (LookupError, UsageError) as error:
            print(f"Failed: {error}", file=sys.stderr)
            return 1
        except json_format.ParseError as error:
            print(f"Error invoking method: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
