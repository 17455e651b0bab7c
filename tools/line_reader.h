// Reads a file, a pipe or standard input line by line with bounded memory: a line longer than the
// limit is reported as too long and skipped without being held in memory.
//
// Waiting is bounded: Next returns kIdle when no complete line arrived within the timeout (a slow
// pipe; a followed file that has not grown), so the caller can commit what it has meanwhile.
// Following (`tail -F`): at the end of the file it waits for more, reopens the path when the file
// was renamed away and a new one created (rotation), starts over when it was truncated
// (copy-truncate), and waits for a file that does not exist yet.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace flowstat::tools {

class LineReader {
 public:
  // `path` "-" reads standard input.
  LineReader(std::string path, size_t max_line_bytes, bool follow = false);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Empty on success, else a file-level error ("cannot open: ..."). A followed file that does
  // not exist yet is not an error.
  const std::string& open_error() const { return open_error_; }

  enum class Result {
    kLine,   // *line holds the next line (without '\n'), or it was too long (then empty)
    kIdle,   // no complete line within the timeout; more may come
    kEnd,    // end of input (never when following)
    kError,  // see read_error()
  };
  // The next line, its 1-based number in its file, and whether it was too long. Waits at most
  // `timeout_ms` (-1: as long as it takes) for it.
  Result Next(std::string_view* line, uint64_t* number, bool* too_long, int timeout_ms = -1);
  const std::string& read_error() const { return read_error_; }
  // Whether more than blanks past the last line returned is already read: the next line (whole
  // or begun) is there without waiting for input.
  bool MoreBuffered() const;

  uint64_t bytes_read() const { return bytes_read_; }
  // Size of the input in bytes, or 0 when unknown (a pipe, a followed file).
  uint64_t size() const { return size_; }

  // Where the next line starts: the file's identity and the offset and number of the lines read.
  struct Position {
    uint64_t device = 0, inode = 0, offset = 0, line = 0;
  };
  Position position() const { return {device_, inode_, buffer_offset_ + begin_, line_no_}; }
  // Continues from `p` if the file is still the one it names and is not shorter; else false
  // (then reading starts from the beginning of the file, as it is now).
  bool Resume(const Position& p);
  // Increases whenever a followed path turns out to be a new file (rotation or truncation).
  uint64_t file_generation() const { return file_generation_; }

 private:
  enum class Fill { kData, kIdle, kEnd, kError };
  Fill FillBuffer(int64_t deadline_ms);
  Fill ReadSome(int wait_ms);
  bool OpenPath();
  bool Rotated();
  bool PathIsAnotherFile() const;
  void Discard();  // drops the buffer's content (a too-long line being skipped)

  std::string path_;
  bool follow_;
  int fd_ = -1;
  bool owns_ = false;
  bool is_regular_ = false;
  size_t max_line_;
  // Not zeroed: a page is touched only when input fills it (a one-line --batch file touched all
  // 4 MB of a zeroed buffer, ~1 ms of each one-shot query).
  std::unique_ptr<char[]> buf_;
  size_t buf_size_ = 0;
  size_t begin_ = 0, end_ = 0, scanned_ = 0;
  bool skipping_ = false;       // inside a line that is too long, until its newline
  bool missing_ = false;        // the last open found no file at the path
  uint64_t buffer_offset_ = 0;  // file offset of buf_[0]
  uint64_t device_ = 0, inode_ = 0;
  uint64_t line_no_ = 0, bytes_read_ = 0, size_ = 0, file_generation_ = 0;
  std::string open_error_, read_error_;
};

}  // namespace flowstat::tools
