#include "server/tls.h"

#include <grpcpp/security/server_credentials.h>

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace movierec {
namespace {

// The contents of a PEM file given as `what`. gRPC would accept garbage here
// and fail only in the first handshake, so the file is checked up front.
absl::StatusOr<std::string> ReadPem(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read the ", what, " file ", path));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (!absl::StrContains(contents.str(), "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", what, " file ", path, " is not PEM"));
  }
  return contents.str();
}

}  // namespace

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
  absl::StatusOr<std::string> pem = ReadPem(files.cert, "certificate");
  if (!pem.ok()) return pem.status();
  pair.cert_chain = *std::move(pem);
  pem = ReadPem(files.key, "private key");
  if (!pem.ok()) return pem.status();
  pair.private_key = *std::move(pem);
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!files.client_ca.empty()) {
    pem = ReadPem(files.client_ca, "client CA");
    if (!pem.ok()) return pem.status();
    options.pem_root_certs = *std::move(pem);
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  } else {
    options.client_certificate_request =
        GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  }
  return grpc::SslServerCredentials(options);
}

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
  absl::StatusOr<std::string> pem;
  if (!files.ca.empty()) {
    pem = ReadPem(files.ca, "CA");
    if (!pem.ok()) return pem.status();
    options.pem_root_certs = *std::move(pem);
  }
  if (!files.cert.empty()) {
    pem = ReadPem(files.cert, "certificate");
    if (!pem.ok()) return pem.status();
    options.pem_cert_chain = *std::move(pem);
    pem = ReadPem(files.key, "private key");
    if (!pem.ok()) return pem.status();
    options.pem_private_key = *std::move(pem);
  }
  return grpc::SslCredentials(options);
}

}  // namespace movierec
