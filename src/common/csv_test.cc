// Tests of CSV line splitting and of reading one column of a file.
#include "common/csv.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tandem {
namespace {

using Pairs = std::vector<std::pair<size_t, std::string>>;

CsvColumn Numbered(size_t index, bool header = false) {
  CsvColumn column;
  column.index = index;
  column.header = header;
  return column;
}

TEST(CsvTest, SplitsQuotedFields) {
  auto f = ParseCsvLine("a,\"b,c\",\"d \"\"q\"\"\",,e\r");
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->size(), 5u);
  EXPECT_EQ((*f)[1], "b,c");
  EXPECT_EQ((*f)[2], "d \"q\"");
  EXPECT_EQ((*f)[3], "");
  EXPECT_EQ((*f)[4], "e");
  auto empty = ParseCsvLine("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 1u);
  EXPECT_EQ(ParseCsvLine("\"open").status().message(), "unterminated quoted field");
  EXPECT_EQ(ParseCsvLine("\"a\"b,c").status().message(), "text after a closing quote");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("plain"), "plain");
  auto back = ParseCsvLine(CsvField("x\"y,z") + "," + CsvField("w"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)[0], "x\"y,z");
  // The overload that reuses its vector splits the same way.
  std::vector<std::string> fields = {"stale"};
  ASSERT_TRUE(ParseCsvLine("1,2", &fields).ok());
  EXPECT_EQ(fields, (std::vector<std::string>{"1", "2"}));
  EXPECT_FALSE(ParseCsvLine("\"open", &fields).ok());
}

TEST(CsvColumnTest, ParsesTheColumnOption) {
  auto first = CsvColumn::Parse("", false);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->index, 0u);
  EXPECT_TRUE(first->name.empty());
  EXPECT_FALSE(first->header);
  auto third = CsvColumn::Parse("3", true);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->index, 2u);
  EXPECT_TRUE(third->header);
  auto named = CsvColumn::Parse("phone", false);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->name, "phone");
  EXPECT_TRUE(named->header) << "a name implies a header line";
  for (const char* bad : {"0", "-2"}) {
    auto c = CsvColumn::Parse(bad, false);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(c.status().message(), "--column counts from 1") << bad;
  }
}

TEST(CsvColumnTest, ReadsLineByLine) {
  CsvColumnReader reader(Numbered(1));
  auto cell = reader.Next("Al,+16502530001\r");
  ASSERT_TRUE(cell.ok());
  ASSERT_TRUE(cell->has_value());
  EXPECT_EQ((*cell)->line, 1u);
  EXPECT_EQ(*(*cell)->value, "+16502530001");
  EXPECT_FALSE(reader.Next("")->has_value()) << "blank line";
  EXPECT_FALSE(reader.Next("\r")->has_value()) << "blank line with CR";
  auto short_line = reader.Next("Bo");
  ASSERT_TRUE(short_line.ok() && short_line->has_value());
  EXPECT_EQ((*short_line)->line, 4u);
  EXPECT_EQ((*short_line)->value.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ((*short_line)->value.status().message(), "has no column 2");
  auto bad = reader.Next("Cy,\"650");
  ASSERT_TRUE(bad.ok() && bad->has_value());
  EXPECT_EQ((*bad)->value.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*bad)->value.status().message(), "malformed CSV: unterminated quoted field");
  auto quoted = reader.Next("\"Doe, Jane\",\" 650 253 0002\"");
  ASSERT_TRUE(quoted.ok() && quoted->has_value());
  EXPECT_EQ(*(*quoted)->value, " 650 253 0002") << "cells are not trimmed";
  EXPECT_EQ(reader.lines(), 6u);
}

TEST(CsvColumnTest, FirstColumnOfBareLines) {
  CsvColumnReader reader(CsvColumn{});
  auto cell = reader.Next("(650) 253-0002");
  ASSERT_TRUE(cell.ok() && cell->has_value());
  EXPECT_EQ(*(*cell)->value, "(650) 253-0002");
  auto spaces = reader.Next("  ");
  ASSERT_TRUE(spaces.ok() && spaces->has_value()) << "spaces are a cell unless asked otherwise";
  EXPECT_EQ(*(*spaces)->value, "  ");
  CsvColumnReader lenient(CsvColumn{}, /*whitespace_is_blank=*/true);
  EXPECT_FALSE(lenient.Next(" \t")->has_value());
}

TEST(CsvColumnTest, HeaderLines) {
  CsvColumnReader numbered(Numbered(0, /*header=*/true));
  EXPECT_FALSE(numbered.Next("\"not csv")->has_value()) << "an unnamed header is skipped unread";
  EXPECT_EQ(*(*numbered.Next("+16502530001"))->value, "+16502530001");

  CsvColumnReader named(*CsvColumn::Parse("mobile", false));
  EXPECT_FALSE(named.Next("name,mobile\r")->has_value());
  auto cell = named.Next("A,+16502530001");
  ASSERT_TRUE(cell.ok() && cell->has_value());
  EXPECT_EQ((*cell)->line, 2u);
  EXPECT_EQ(*(*cell)->value, "+16502530001");

  CsvColumnReader missing(*CsvColumn::Parse("phone", false));
  auto st = missing.Next("name,mobile");
  EXPECT_EQ(st.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.status().message(), "no column named 'phone'");

  CsvColumnReader malformed(*CsvColumn::Parse("phone", false));
  EXPECT_EQ(malformed.Next("\"name").status().message(), "line 1: malformed CSV header");
}

TEST(CsvColumnTest, ReadsAWholeText) {
  auto values = ReadCsvColumn("name,phone\nAl,+16502530001\n\"Bo, Jr\",650 253 0002\nbad \"quote\n\"Cy\n",
                              Numbered(1, /*header=*/true));
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ(values->cells, (Pairs{{2, "+16502530001"}, {3, "650 253 0002"}}));
  EXPECT_EQ(values->problems,
            (Pairs{{4, "has no column 2"}, {5, "malformed CSV: unterminated quoted field"}}));

  auto lines =
      ReadCsvColumn("+16502530001\r\n\n  \n(650) 253-0002", CsvColumn{}, /*whitespace_is_blank=*/true);
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(lines->cells, (Pairs{{1, "+16502530001"}, {4, "(650) 253-0002"}}));
  EXPECT_TRUE(lines->problems.empty());

  EXPECT_EQ(ReadCsvColumn("name,mobile\n", *CsvColumn::Parse("phone", false)).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tandem
