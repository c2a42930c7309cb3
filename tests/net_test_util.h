// Helpers of the tests that talk to a server over the network: gRPC health
// checks without generated stubs (Debian's gRPC 1.51 ships none for
// grpc.health.v1), plain HTTP GETs (the /metrics page, Prometheus' API),
// Prometheus text-format lookups, free ports, and waiting on a condition
// with a deadline.
#ifndef MOVIEREC_TESTS_NET_TEST_UTIL_H_
#define MOVIEREC_TESTS_NET_TEST_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace movierec::test {

// grpc.health.v1.HealthCheckResponse.ServingStatus.
inline constexpr int kServing = 1;
inline constexpr int kNotServing = 2;

// How many times longer a wait for the server may take in this build than in
// a plain one. Under ThreadSanitizer each of gRPC's suppressed false races
// (tests/tsan.supp) still costs a report's stack restoration, about 100 us:
// dropping 10,000 calls makes some 105,000 of them, which delay the server's
// next answers by 10 s or more (measured on 2 cores).
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MOVIEREC_TEST_TSAN 1
#endif
#endif
#ifdef MOVIEREC_TEST_TSAN
inline constexpr int kWaitScale = 4;
#else
inline constexpr int kWaitScale = 1;
#endif

// Ten seconds from now: the deadline of the tests' calls.
std::chrono::system_clock::time_point CallDeadline();

// A length-delimited protobuf field (a string or a message), hand-encoded.
std::string StringField(int number, const std::string& value);

struct HealthAnswer {
  grpc::Status status;
  int serving_status = -1;  // kServing, kNotServing, 0 (UNKNOWN)
};

// grpc.health.v1.Health/Check for `service` ("" for the whole server).
HealthAnswer CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& service);

// GET `path` from 127.0.0.1:port over HTTP/1.0: the whole response, headers
// included; empty (and a test failure) when the port does not answer, unless
// `quiet`.
std::string HttpGet(int port, const std::string& path, bool quiet = false);
// The body of an HTTP response (after the blank line).
std::string HttpBody(const std::string& response);

// The value of the sample `series` (name and labels, as exposed) in a
// Prometheus text page.
std::optional<double> MetricValue(const std::string& page,
                                  const std::string& series);
// The sum of the samples that are `series` once their `version` label (the
// model version that answered, server/metrics.h) is left out: a request
// metric over every version. nullopt when there is none.
std::optional<double> MetricValueAnyVersion(const std::string& page,
                                            const std::string& series);

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// Calls `done` until it returns true or `timeout` passes; returns its last
// answer. For conditions that no notification signals (another process's
// state); sleeps `poll` between tries.
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout,
             absl::Duration poll = absl::Milliseconds(20));

}  // namespace movierec::test

#endif  // MOVIEREC_TESTS_NET_TEST_UTIL_H_
