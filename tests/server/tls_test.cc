// TLS and mutual TLS on the gRPC port (server/tls.h), with certificates this
// test generates with openssl (Debian's): a CA, a server certificate for
// 127.0.0.1 and localhost, a client certificate, and a client certificate of
// another CA. Each case is checked from both sides: the right client gets an
// answer, the wrong one (plaintext, no certificate, another CA's) is refused
// in the handshake. movierec-client's TLS flags are checked against a
// mutual-TLS server too.
#include "client/tls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tests/e2e/subprocess.h"
#include "tests/server/server_fixture.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::movierec::test::Subprocess;

// Runs a command to completion; its exit code, or -1.
int RunCommand(const std::vector<std::string>& argv, std::string* output) {
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Start(argv);
  if (!child.ok()) return -1;
  const std::optional<int> status = (*child)->WaitForExit(absl::Seconds(60));
  *output = (*child)->Output();
  if (!status.has_value() || !WIFEXITED(*status)) return -1;
  return WEXITSTATUS(*status);
}

// A key and certificate pair under `dir`/`name`.{key,pem}.
struct Pki {
  std::string dir;
  std::string Key(const std::string& name) const {
    return absl::StrCat(dir, "/", name, ".key");
  }
  std::string Pem(const std::string& name) const {
    return absl::StrCat(dir, "/", name, ".pem");
  }

  // A self-signed CA.
  void MakeCa(const std::string& name) {
    Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
             "/CN=movierec test " + name, "-keyout", Key(name), "-out",
             Pem(name)});
  }

  // A certificate signed by CA `ca`, with `extensions` (openssl x509v3
  // config lines).
  void MakeSigned(const std::string& name, const std::string& ca,
                  const std::string& extensions) {
    const std::string csr = absl::StrCat(dir, "/", name, ".csr");
    const std::string ext = absl::StrCat(dir, "/", name, ".ext");
    test::WriteFile(ext, extensions);
    Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-subj", "/CN=movierec test " + name, "-keyout",
             Key(name), "-out", csr});
    Openssl({"x509", "-req", "-in", csr, "-CA", Pem(ca), "-CAkey", Key(ca),
             "-CAcreateserial", "-days", "2", "-extfile", ext, "-out",
             Pem(name)});
  }

  static void Openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    std::string output;
    ASSERT_EQ(RunCommand(args, &output), 0) << "openssl failed:\n" << output;
  }
};

class TlsTest : public test::ServerFixture {
 protected:
  static void SetUpTestSuite() {
    pki_dir_ = new test::ScopedTempDir();
    pki_ = new Pki{pki_dir_->path()};
    pki_->MakeCa("ca");
    pki_->MakeCa("other-ca");
    pki_->MakeSigned("server", "ca",
                     "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                     "extendedKeyUsage=serverAuth\n");
    pki_->MakeSigned("client", "ca", "extendedKeyUsage=clientAuth\n");
    pki_->MakeSigned("other-client", "other-ca",
                     "extendedKeyUsage=clientAuth\n");
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete pki_dir_;
  }

  void StartTls(bool mutual) {
    WriteVersion();
    ServerOptions options = Options();
    options.tls.cert = pki_->Pem("server");
    options.tls.key = pki_->Key("server");
    if (mutual) options.tls.client_ca = pki_->Pem("ca");
    StartServer(options);
  }

  // A Recommend call for a known user through a channel of `credentials`.
  grpc::Status CallWith(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    auto stub = v1::Recommender::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->port()), credentials));
    v1::RecommendRequest request;
    request.set_user_id(KnownUser(0));
    request.set_count(3);
    v1::RecommendResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    const grpc::Status status = stub->Recommend(&context, request, &response);
    if (status.ok()) EXPECT_EQ(response.movies_size(), 3);
    return status;
  }

  std::shared_ptr<grpc::ChannelCredentials> Client(
      const std::string& ca, const std::string& cert = "") {
    ClientTlsFiles files;
    files.ca = pki_->Pem(ca);
    if (!cert.empty()) {
      files.cert = pki_->Pem(cert);
      files.key = pki_->Key(cert);
    }
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        ClientCredentials(true, files);
    EXPECT_OK(credentials.status());
    return credentials.ok() ? *credentials : nullptr;
  }

  static test::ScopedTempDir* pki_dir_;
  static Pki* pki_;
};

test::ScopedTempDir* TlsTest::pki_dir_ = nullptr;
Pki* TlsTest::pki_ = nullptr;

TEST_F(TlsTest, TlsAnswersATlsClientAndRefusesPlaintext) {
  StartTls(/*mutual=*/false);
  EXPECT_TRUE(CallWith(Client("ca")).ok());
  // A client certificate is not asked for, and does no harm.
  EXPECT_TRUE(CallWith(Client("ca", "client")).ok());
  const grpc::Status plaintext = CallWith(grpc::InsecureChannelCredentials());
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE)
      << plaintext.error_message();
}

TEST_F(TlsTest, AClientRefusesAServerItsCaDidNotSign) {
  StartTls(/*mutual=*/false);
  const grpc::Status status = CallWith(Client("other-ca"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
}

TEST_F(TlsTest, MutualTlsNeedsAClientCertificateOfTheClientCa) {
  StartTls(/*mutual=*/true);
  EXPECT_TRUE(CallWith(Client("ca", "client")).ok());
  for (const auto& [what, credentials] : std::vector<
           std::pair<std::string, std::shared_ptr<grpc::ChannelCredentials>>>{
           {"no client certificate", Client("ca")},
           {"another CA's client certificate", Client("ca", "other-client")},
           {"plaintext", grpc::InsecureChannelCredentials()}}) {
    const grpc::Status status = CallWith(credentials);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << what << ": " << status.error_message();
  }
}

TEST_F(TlsTest, StartRefusesIncompleteOrUnreadableTlsFiles) {
  WriteVersion();
  const auto start = [&](const std::string& cert, const std::string& key,
                         const std::string& client_ca) {
    ServerOptions options = Options();
    options.tls = {cert, key, client_ca};
    return MovierecServer::Start(options).status();
  };
  const std::string cert = pki_->Pem("server");
  const std::string key = pki_->Key("server");
  EXPECT_TRUE(IsError(start(cert, "", ""), absl::StatusCode::kInvalidArgument,
                      {"--tls_key"}));
  EXPECT_TRUE(IsError(start("", key, ""), absl::StatusCode::kInvalidArgument,
                      {"--tls_cert"}));
  EXPECT_TRUE(IsError(start("", "", pki_->Pem("ca")),
                      absl::StatusCode::kInvalidArgument, {"--tls_client_ca"}));
  const std::string missing = dir_.File("missing.pem");
  EXPECT_TRUE(IsError(start(cert, missing, ""), absl::StatusCode::kNotFound,
                      {"private key", missing}));
  const std::string not_pem = dir_.File("not.pem");
  test::WriteFile(not_pem, "hello");
  EXPECT_TRUE(IsError(start(cert, key, not_pem),
                      absl::StatusCode::kInvalidArgument,
                      {"client CA", not_pem, "not PEM"}));
}

TEST_F(TlsTest, ClientFlagsTalkMutualTls) {
  StartTls(/*mutual=*/true);
  const std::string target =
      absl::StrCat("--target=127.0.0.1:", server_->port());
  const std::string user = "--user=" + KnownUser(0);
  std::string output;
  EXPECT_EQ(RunCommand({MOVIEREC_CLIENT_BIN, target, user, "--count=2",
                        "--tls_ca=" + pki_->Pem("ca"),
                        "--tls_cert=" + pki_->Pem("client"),
                        "--tls_key=" + pki_->Key("client")},
                       &output),
            0)
      << output;
  EXPECT_THAT(output, ::testing::HasSubstr("model version 1"));

  EXPECT_NE(RunCommand({MOVIEREC_CLIENT_BIN, target, user, "--timeout=5s",
                        "--tls_ca=" + pki_->Pem("ca")},
                       &output),
            0)
      << output;
  EXPECT_THAT(output, ::testing::HasSubstr("UNAVAILABLE"));
  EXPECT_EQ(RunCommand({MOVIEREC_CLIENT_BIN, target, user,
                        "--tls_cert=" + pki_->Pem("client")},
                       &output),
            2)
      << output;
  EXPECT_THAT(output, ::testing::HasSubstr("--tls_key"));
}

}  // namespace
}  // namespace movierec
