// The line reader of `flowstat import` and `query --batch` on files: lines with and without a
// final newline, too-long lines, and what it says of the input it has already read.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tests/test_support.h"
#include "tools/line_reader.h"

namespace flowstat::testing {
namespace {

using tools::LineReader;

// Every line of `path`, each with whether more than blanks was buffered after it.
std::vector<std::pair<std::string, bool>> LinesOf(const std::string& path, size_t max_line = 1 << 20) {
  LineReader reader(path, max_line);
  std::vector<std::pair<std::string, bool>> lines;
  std::string_view line;
  uint64_t number = 0;
  bool too_long = false;
  while (reader.Next(&line, &number, &too_long) == LineReader::Result::kLine) {
    REQUIRE(number == lines.size() + 1);
    lines.emplace_back(too_long ? "<too long>" : std::string(line), reader.MoreBuffered());
  }
  return lines;
}

TEST_CASE("the line reader tells when the next line is already read", "[cli]") {
  TempDir dir;
  const std::string path = dir.Sub("lines");
  using Lines = std::vector<std::pair<std::string, bool>>;
  SECTION("one query, as a one-shot --batch gets it") {
    Write(path, "{\"namespace\":\"/\"}\n");
    CHECK(LinesOf(path) == Lines{{"{\"namespace\":\"/\"}", false}});
  }
  SECTION("blank lines after the last are not more input") {
    Write(path, "a\n\n \t\r\n");
    CHECK(LinesOf(path) == Lines{{"a", false}, {"", false}, {" \t\r", false}});
  }
  SECTION("a last line without its newline is more input") {
    Write(path, "a\n  \nb");
    CHECK(LinesOf(path) == Lines{{"a", true}, {"  ", true}, {"b", false}});
  }
  SECTION("a line too long is skipped, and what follows it is seen") {
    Write(path, "a\n" + std::string(40, 'x') + "\nb\n");
    CHECK(LinesOf(path, 16) == Lines{{"a", true}, {"<too long>", true}, {"b", false}});
  }
  SECTION("a byte order mark opening the file is not part of its first line; elsewhere it is data") {
    const std::string bom = "\xEF\xBB\xBF";
    Write(path, bom + "a,b\n" + bom + "c");
    CHECK(LinesOf(path) == Lines{{"a,b", true}, {bom + "c", false}});
    Write(path, bom);
    CHECK(LinesOf(path) == Lines{{"", false}});
  }
}

}  // namespace
}  // namespace flowstat::testing
