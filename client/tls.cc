#include "client/tls.h"

#include "absl/status/status.h"
#include "util/file_util.h"
#include "util/status_macros.h"

namespace movierec {

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientCredentials(
    bool tls, const ClientTlsFiles& files) {
  if (!tls && files.ca.empty() && files.cert.empty() && files.key.empty()) {
    return grpc::InsecureChannelCredentials();
  }
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate needs its private key and the reverse "
        "(--tls_cert and --tls_key)");
  }
  grpc::SslCredentialsOptions options;
  if (!files.ca.empty()) {
    MOVIEREC_ASSIGN_OR_RETURN(options.pem_root_certs,
                              ReadPemFile(files.ca, "CA"));
  }
  if (!files.cert.empty()) {
    MOVIEREC_ASSIGN_OR_RETURN(options.pem_cert_chain,
                              ReadPemFile(files.cert, "certificate"));
    MOVIEREC_ASSIGN_OR_RETURN(options.pem_private_key,
                              ReadPemFile(files.key, "private key"));
  }
  return grpc::SslCredentials(options);
}

}  // namespace movierec
