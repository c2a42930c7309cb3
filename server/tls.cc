#include "server/tls.h"

#include "absl/status/status.h"
#include "util/file_util.h"
#include "util/status_macros.h"

namespace movierec {

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const ServerTlsFiles& files) {
  if (files.cert.empty() && files.key.empty() && files.client_ca.empty()) {
    return grpc::InsecureServerCredentials();
  }
  if (files.cert.empty() || files.key.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate and a private key (--tls_cert and "
        "--tls_key); a client CA (--tls_client_ca) needs both too");
  }
  grpc::SslServerCredentialsOptions options;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  MOVIEREC_ASSIGN_OR_RETURN(pair.cert_chain,
                            ReadPemFile(files.cert, "certificate"));
  MOVIEREC_ASSIGN_OR_RETURN(pair.private_key,
                            ReadPemFile(files.key, "private key"));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!files.client_ca.empty()) {
    MOVIEREC_ASSIGN_OR_RETURN(options.pem_root_certs,
                              ReadPemFile(files.client_ca, "client CA"));
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  } else {
    options.client_certificate_request =
        GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace movierec
