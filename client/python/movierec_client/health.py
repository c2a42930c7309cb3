"""grpc.health.v1.Health/Check without generated stubs.

Debian has no grpcio-health-checking, so the two messages of
grpc/health/v1/health.proto are declared here, in a descriptor pool of their
own: they never clash with another copy of them in the default pool (such as
grpcio-health-checking's, should a program import both).
"""

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

CHECK_METHOD = "/grpc.health.v1.Health/Check"

_FIELD = descriptor_pb2.FieldDescriptorProto


def _file_descriptor():
    proto = descriptor_pb2.FileDescriptorProto(
        name="movierec_client/grpc/health/v1/health.proto",
        package="grpc.health.v1", syntax="proto3")
    request = proto.message_type.add(name="HealthCheckRequest")
    request.field.add(name="service", number=1, type=_FIELD.TYPE_STRING,
                      label=_FIELD.LABEL_OPTIONAL, json_name="service")
    response = proto.message_type.add(name="HealthCheckResponse")
    status = response.enum_type.add(name="ServingStatus")
    for number, name in enumerate(
            ("UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN")):
        status.value.add(name=name, number=number)
    response.field.add(
        name="status", number=1, type=_FIELD.TYPE_ENUM,
        type_name=".grpc.health.v1.HealthCheckResponse.ServingStatus",
        label=_FIELD.LABEL_OPTIONAL, json_name="status")
    return proto


def _message_class(descriptor):
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(
        descriptor.file.pool).GetPrototype(descriptor)


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file_descriptor())
HealthCheckRequest = _message_class(
    _POOL.FindMessageTypeByName("grpc.health.v1.HealthCheckRequest"))
HealthCheckResponse = _message_class(
    _POOL.FindMessageTypeByName("grpc.health.v1.HealthCheckResponse"))


def status_name(response):
    """'SERVING', 'NOT_SERVING', ... of a HealthCheckResponse."""
    return HealthCheckResponse.DESCRIPTOR.enum_types_by_name[
        "ServingStatus"].values_by_number[response.status].name
