// TLS for a client of the gRPC port, from PEM files: plaintext, TLS, or
// mutual TLS with the client's own certificate. The server side is
// server/tls.h.
#ifndef MOVIEREC_CLIENT_TLS_H_
#define MOVIEREC_CLIENT_TLS_H_

#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace movierec {

// PEM file names; empty means not given.
struct ClientTlsFiles {
  std::string ca;    // CA bundle the server's certificate must chain to;
                     // empty with `tls`: the system's roots
  std::string cert;  // the client's certificate, for mutual TLS
  std::string key;   // its private key
};

// Plaintext when `tls` is false and no file is given; TLS otherwise (a file
// implies TLS). InvalidArgument for a certificate without its key or the
// reverse; an error naming the file when one cannot be read or is not PEM.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientCredentials(
    bool tls, const ClientTlsFiles& files);

}  // namespace movierec

#endif  // MOVIEREC_CLIENT_TLS_H_
