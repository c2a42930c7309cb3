#include "util/blas.h"

#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

extern "C" void sgemm_(const char* transa, const char* transb, const int* m,
                       const int* n, const int* k, const float* alpha,
                       const float* a, const int* lda, const float* b,
                       const int* ldb, const float* beta, float* c,
                       const int* ldc);

namespace movierec {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A 2x2 product through libblas.so.3 (column-major): also what makes sure
// the library is loaded.
void ExpectGemmWorks() {
  const int n = 2;
  const float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8};
  float c[4] = {};
  const float one = 1, zero = 0;
  sgemm_("N", "N", &n, &n, &n, &one, a, &n, b, &n, &zero, c, &n);
  EXPECT_FLOAT_EQ(c[0], 23);  // 1*5 + 3*6
  EXPECT_FLOAT_EQ(c[1], 34);  // 2*5 + 4*6
  EXPECT_FLOAT_EQ(c[2], 31);  // 1*7 + 3*8
  EXPECT_FLOAT_EQ(c[3], 46);  // 2*7 + 4*8
}

TEST(LoadedBlasTest, NamesTheRealLibrary) {
  ExpectGemmWorks();
  const BlasInfo info = LoadedBlas();
  ASSERT_FALSE(info.library.empty());
  EXPECT_TRUE(std::filesystem::path(info.library).is_absolute());
  EXPECT_FALSE(std::filesystem::is_symlink(info.library)) << info.library;
  EXPECT_THAT(std::filesystem::path(info.library).filename().string(),
              StartsWith("libblas.so"));
  // Debian puts OpenBLAS's libblas.so.3 in an openblas-* folder.
  EXPECT_EQ(info.openblas, info.library.find("openblas") != std::string::npos);
  if (info.openblas) {
    EXPECT_THAT(info.config, HasSubstr("OpenBLAS"));
    EXPECT_GE(info.threads, 1);
  } else {
    EXPECT_EQ(info.threads, 1);
    EXPECT_TRUE(info.config.empty());
  }
}

TEST(SetBlasThreadsTest, SetsOpenBlasThreadsOnly) {
  const bool openblas = LoadedBlas().openblas;
  EXPECT_EQ(SetBlasThreads(1), openblas);
  EXPECT_EQ(LoadedBlas().threads, 1);
  ExpectGemmWorks();
  EXPECT_EQ(SetBlasThreads(2), openblas);
  EXPECT_EQ(LoadedBlas().threads, openblas ? 2 : 1);
  ExpectGemmWorks();
  EXPECT_FALSE(SetBlasThreads(0));
  EXPECT_EQ(LoadedBlas().threads, openblas ? 2 : 1);
  SetBlasThreads(1);
}

TEST(BlasDescriptionTest, SaysLibraryAndThreads) {
  EXPECT_EQ(BlasDescription(BlasInfo{}), "no BLAS loaded");
  EXPECT_EQ(BlasDescription({"/usr/lib/blas/libblas.so.3", false, "", 1}),
            "/usr/lib/blas/libblas.so.3, 1 thread");
  EXPECT_EQ(BlasDescription({"/usr/lib/openblas-pthread/libblas.so.3", true,
                             "OpenBLAS 0.3.21 Zen", 2}),
            "OpenBLAS 0.3.21 Zen (/usr/lib/openblas-pthread/libblas.so.3), "
            "2 threads");
}

}  // namespace
}  // namespace movierec
