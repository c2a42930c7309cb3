// TLS for the gRPC port, from PEM files: the server's credentials (TLS, or
// mutual TLS when a client CA is given). The client side is client/tls.h.
#ifndef MOVIEREC_SERVER_TLS_H_
#define MOVIEREC_SERVER_TLS_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace movierec {

// PEM file names; empty means not given.
struct ServerTlsFiles {
  std::string cert;       // the server's certificate chain
  std::string key;        // its private key
  std::string client_ca;  // CA bundle a client certificate must chain to
                          // (mutual TLS); empty: clients are not asked for one
};

// Plaintext when no file is given; TLS with `cert` and `key`; mutual TLS
// (a client without a certificate signed by `client_ca` is refused in the
// handshake) when `client_ca` is given as well. InvalidArgument for a key
// without a certificate or the reverse, or a client CA without both;
// an error naming the file when one cannot be read or is not PEM.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const ServerTlsFiles& files);

}  // namespace movierec

#endif  // MOVIEREC_SERVER_TLS_H_
