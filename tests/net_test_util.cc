#include "tests/net_test_util.h"

#include <arpa/inet.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <future>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace movierec::test {
namespace {

using ::google::protobuf::UnknownFieldSet;

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return bytes;
}

}  // namespace

std::chrono::system_clock::time_point CallDeadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(10);
}

std::string StringField(int number, const std::string& value) {
  std::string out(1, static_cast<char>((number << 3) | 2));
  uint64_t size = value.size();
  do {
    const uint8_t byte = size & 0x7F;
    size >>= 7;
    out.push_back(static_cast<char>(size != 0 ? byte | 0x80 : byte));
  } while (size != 0);
  return out + value;
}

HealthAnswer CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& service) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(CallDeadline());
  const grpc::ByteBuffer request =
      ToBuffer(service.empty() ? "" : StringField(1, service));
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response,
                 [&done](grpc::Status status) { done.set_value(status); });
  HealthAnswer answer;
  answer.status = done.get_future().get();
  if (!answer.status.ok()) return answer;
  UnknownFieldSet fields;
  EXPECT_TRUE(fields.ParseFromString(FromBuffer(response)));
  answer.serving_status = 0;  // UNKNOWN: proto3 leaves out a zero
  for (int i = 0; i < fields.field_count(); ++i) {
    if (fields.field(i).number() == 1 &&
        fields.field(i).type() == google::protobuf::UnknownField::TYPE_VARINT) {
      answer.serving_status = static_cast<int>(fields.field(i).varint());
    }
  }
  return answer;
}

std::string HttpGet(int port, const std::string& path, bool quiet) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    ADD_FAILURE() << "socket failed";
    return "";
  }
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    if (!quiet) ADD_FAILURE() << "cannot connect to 127.0.0.1:" << port;
    ::close(fd);
    return response;
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (::send(fd, request.data(), request.size(), 0) !=
      static_cast<ssize_t>(request.size())) {
    ADD_FAILURE() << "cannot send the HTTP request";
  }
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

std::string HttpBody(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

std::optional<double> MetricValue(const std::string& page,
                                  const std::string& series) {
  for (const absl::string_view line : absl::StrSplit(page, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double value = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) {
        return value;
      }
    }
  }
  return std::nullopt;
}

std::optional<double> MetricValueAnyVersion(const std::string& page,
                                            const std::string& series) {
  std::optional<double> sum;
  for (const absl::string_view line : absl::StrSplit(page, '\n')) {
    const size_t at = line.find(",version=\"");
    const size_t space = line.rfind(' ');
    if (at == absl::string_view::npos || space == absl::string_view::npos ||
        space < at) {
      continue;
    }
    const size_t end = line.find('"', at + 10);
    if (end == absl::string_view::npos || end > space) continue;
    // The series without ',version="V"'.
    const std::string without =
        absl::StrCat(line.substr(0, at), line.substr(end + 1, space - end - 1));
    double value = 0;
    if (without == series && absl::SimpleAtod(line.substr(space + 1), &value)) {
      sum = sum.value_or(0) + value;
    }
  }
  return sum;
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  socklen_t length = sizeof(address);
  int port = 0;
  if (fd >= 0 &&
      ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  if (fd >= 0) ::close(fd);
  if (port == 0) ADD_FAILURE() << "cannot find a free port";
  return port;
}

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout,
             absl::Duration poll) {
  const absl::Time give_up = absl::Now() + timeout;
  for (;;) {
    if (done()) return true;
    if (absl::Now() >= give_up) return false;
    absl::SleepFor(poll);
  }
}

}  // namespace movierec::test
