// Tests of the streaming input (data/text_source.h) and of the RFC 4180 CSV
// reader (data/csv_reader.h) against the RFC's cases: quoted fields,
// embedded separators, doubled quotes, CRLF and LF, line breaks inside
// quotes, empty fields, a last line with or without a line end, and the
// malformed cases, refused with the file and the line.
#include "data/csv_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/text_source.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::movierec::test::ScopedTempDir;
using ::movierec::test::WriteFile;
using ::testing::ElementsAre;
using Records = std::vector<std::vector<std::string>>;

// Every record of `text`, or the reader's error.
absl::StatusOr<Records> ReadAll(absl::string_view text) {
  CsvReader reader(TextSource::FromText(text, "t.csv"));
  Records records;
  std::vector<std::string> fields;
  while (reader.Next(&fields)) records.push_back(fields);
  if (!reader.status().ok()) return reader.status();
  return records;
}

TEST(CsvReaderTest, PlainFieldsWithAndWithoutTrailingLineEnd) {
  const Records expected = {{"a", "b", "c"}, {"1", "2", "3"}};
  for (const char* text : {"a,b,c\n1,2,3\n", "a,b,c\n1,2,3"}) {
    ASSERT_OK_AND_ASSIGN(const Records records, ReadAll(text));
    EXPECT_EQ(records, expected) << text;
  }
}

TEST(CsvReaderTest, CrlfAndLfReadAlike) {
  ASSERT_OK_AND_ASSIGN(const Records crlf, ReadAll("a,b\r\n\"c\",d\r\n"));
  ASSERT_OK_AND_ASSIGN(const Records lf, ReadAll("a,b\n\"c\",d\n"));
  EXPECT_EQ(crlf, lf);
  EXPECT_EQ(crlf, (Records{{"a", "b"}, {"c", "d"}}));
  // A CR that ends no line is data.
  ASSERT_OK_AND_ASSIGN(const Records cr, ReadAll("a\rb,c\r"));
  EXPECT_EQ(cr, (Records{{"a\rb", "c"}}));
}

TEST(CsvReaderTest, QuotedFieldsHoldSeparatorsQuotesAndLineBreaks) {
  ASSERT_OK_AND_ASSIGN(
      const Records records,
      ReadAll("1,\"American President, The (1995)\",Comedy|Drama\n"
              "2,\"\"\"Great Performances\"\" Cats (1998)\",Musical\n"
              "3,\"two\r\nlines\nand three\",x\n"
              "4,\"\",\"\"\n"));
  EXPECT_THAT(
      records,
      ElementsAre(
          ElementsAre("1", "American President, The (1995)", "Comedy|Drama"),
          ElementsAre("2", "\"Great Performances\" Cats (1998)", "Musical"),
          ElementsAre("3", "two\r\nlines\nand three", "x"),
          ElementsAre("4", "", "")));
}

TEST(CsvReaderTest, EmptyFieldsAndEmptyLines) {
  ASSERT_OK_AND_ASSIGN(const Records records,
                       ReadAll("\n,a,,\n\r\n\n,\n\"\"\n\n"));
  // Empty lines are no records; "" alone is one empty field.
  EXPECT_EQ(records, (Records{{"", "a", "", ""}, {"", ""}, {""}}));
  ASSERT_OK_AND_ASSIGN(const Records none, ReadAll(""));
  EXPECT_TRUE(none.empty());
}

TEST(CsvReaderTest, RecordLineNumbersCountQuotedLineBreaks) {
  CsvReader reader(TextSource::FromText("a\n\"b\nc\"\n\nd\n", "t.csv"));
  std::vector<std::string> fields;
  std::vector<int> lines;
  while (reader.Next(&fields)) lines.push_back(reader.line_number());
  ASSERT_OK(reader.status());
  EXPECT_THAT(lines, ElementsAre(1, 2, 5));
}

TEST(CsvReaderTest, UnterminatedQuoteNamesTheLineItOpensOn) {
  EXPECT_TRUE(IsError(ReadAll("a,b\nc,\"d\ne\n").status(),
                      absl::StatusCode::kInvalidArgument,
                      {"t.csv:2:", "field 2", "unterminated quoted field"}));
}

TEST(CsvReaderTest, RefusesQuotesOutsideQuotedFields) {
  EXPECT_TRUE(IsError(ReadAll("a,b\"c\n").status(),
                      absl::StatusCode::kInvalidArgument,
                      {"t.csv:1:", "field 2", "quote inside an unquoted"}));
  EXPECT_TRUE(IsError(ReadAll("ok\n\"a\"b,c\n").status(),
                      absl::StatusCode::kInvalidArgument,
                      {"t.csv:2:", "field 1", "after the closing quote"}));
}

TEST(CsvReaderTest, OtherSeparator) {
  CsvReader reader(TextSource::FromText("a;\"b;c\"\n", "t.csv"), ';');
  std::vector<std::string> fields;
  ASSERT_TRUE(reader.Next(&fields));
  EXPECT_THAT(fields, ElementsAre("a", "b;c"));
}

TEST(TextSourceTest, MissingFileIsNotFoundNamingIt) {
  EXPECT_TRUE(IsError(TextSource::OpenFile("/nonexistent/x.csv").status(),
                      absl::StatusCode::kNotFound, {"/nonexistent/x.csv"}));
}

// Lines and quoted fields that straddle the reader's chunks come out whole.
TEST(TextSourceTest, FileReadAcrossChunks) {
  ScopedTempDir dir;
  std::string text;
  const std::string long_field(3000, 'x');
  const int rows = static_cast<int>(3 * TextSource::kChunkSize / 3000);
  for (int i = 0; i < rows; ++i) {
    text += std::to_string(i) + ",\"" + long_field + "\r\n\"\"\"\r\n";
  }
  text += "end,\"last\"";  // no line end
  WriteFile(dir.File("big.csv"), text);

  ASSERT_OK_AND_ASSIGN(TextSource source,
                       TextSource::OpenFile(dir.File("big.csv")));
  CsvReader reader(std::move(source));
  std::vector<std::string> fields;
  int count = 0;
  while (reader.Next(&fields)) {
    if (count < rows) {
      ASSERT_THAT(fields,
                  ElementsAre(std::to_string(count), long_field + "\r\n\""));
      ASSERT_EQ(reader.line_number(), 2 * count + 1);
    } else {
      EXPECT_THAT(fields, ElementsAre("end", "last"));
    }
    ++count;
  }
  ASSERT_OK(reader.status());
  EXPECT_EQ(count, rows + 1);

  ASSERT_OK_AND_ASSIGN(TextSource lines_source,
                       TextSource::OpenFile(dir.File("big.csv")));
  LineReader lines(std::move(lines_source));
  absl::string_view line;
  int line_count = 0;
  std::string last;
  while (lines.Next(&line)) {
    ++line_count;
    last = std::string(line);
    if (line_count % 2 == 1 && line_count < 2 * rows) {
      ASSERT_EQ(line.size(),
                std::to_string(line_count / 2).size() + 2 + long_field.size())
          << "line " << line_count;
    }
  }
  ASSERT_OK(lines.status());
  EXPECT_EQ(line_count, 2 * rows + 1);
  EXPECT_EQ(lines.line_number(), 2 * rows + 1);
  EXPECT_EQ(last, "end,\"last\"");
}

TEST(LineReaderTest, SkipsEmptyLinesButCountsThem) {
  LineReader reader(TextSource::FromText("a\r\n\n\r\nb\nc", "t"));
  absl::string_view line;
  std::vector<std::pair<std::string, int>> got;
  while (reader.Next(&line)) got.emplace_back(line, reader.line_number());
  EXPECT_THAT(got, ElementsAre(std::make_pair("a", 1), std::make_pair("b", 4),
                               std::make_pair("c", 5)));
  EXPECT_TRUE(IsError(reader.Error("bad"), absl::StatusCode::kInvalidArgument,
                      {"t:5: bad"}));
}

}  // namespace
}  // namespace movierec
