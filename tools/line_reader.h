// Reads a file (or stdin) line by line with bounded memory: a line longer than the limit is
// reported as too long and skipped without being held in memory.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace flowstat::tools {

class LineReader {
 public:
  // `path` "-" reads standard input.
  LineReader(std::string path, size_t max_line_bytes);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Empty on success, else a file-level error ("cannot open: ...").
  const std::string& open_error() const { return open_error_; }

  // The next line (without '\n'), its 1-based number, and whether it was too long (then `line`
  // is empty). False at end of input or on a read error (see read_error()).
  bool Next(std::string_view* line, uint64_t* number, bool* too_long);
  const std::string& read_error() const { return read_error_; }

  uint64_t bytes_read() const { return bytes_read_; }
  // Size of the input in bytes, or 0 when unknown (a pipe).
  uint64_t size() const { return size_; }

 private:
  bool Fill();

  std::FILE* file_ = nullptr;
  bool owns_ = false;
  size_t max_line_;
  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  uint64_t line_no_ = 0, bytes_read_ = 0, size_ = 0;
  std::string open_error_, read_error_;
};

}  // namespace flowstat::tools
