#include "tools/line_reader.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace flowstat::tools {

LineReader::LineReader(std::string path, size_t max_line_bytes) : max_line_(max_line_bytes) {
  buf_.resize(std::max<size_t>(max_line_bytes * 2, 4 << 20));
  if (path == "-") {
    file_ = stdin;
    return;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    open_error_ = std::string("cannot open: ") + std::strerror(errno);
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    open_error_ = "cannot read: is a directory";
    return;
  }
  file_ = std::fopen(path.c_str(), "rb");
  if (!file_) {
    open_error_ = std::string("cannot open: ") + std::strerror(errno);
    return;
  }
  owns_ = true;
  if (S_ISREG(st.st_mode)) size_ = static_cast<uint64_t>(st.st_size);
}

LineReader::~LineReader() {
  if (owns_ && file_) std::fclose(file_);
}

bool LineReader::Fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  size_t n = std::fread(buf_.data() + end_, 1, buf_.size() - end_, file_);
  if (n == 0) {
    if (std::ferror(file_)) read_error_ = std::string("read error: ") + std::strerror(errno);
    eof_ = true;
    return false;
  }
  end_ += n;
  bytes_read_ += n;
  return true;
}

bool LineReader::Next(std::string_view* line, uint64_t* number, bool* too_long) {
  if (!file_) return false;
  *too_long = false;
  size_t scanned = 0;  // bytes after begin_ known to hold no newline (Fill moves begin_)
  while (true) {
    const void* nl = std::memchr(buf_.data() + begin_ + scanned, '\n', end_ - begin_ - scanned);
    if (nl) {
      size_t pos = static_cast<const char*>(nl) - buf_.data();
      *line = std::string_view(buf_.data() + begin_, pos - begin_);
      begin_ = pos + 1;
      *number = ++line_no_;
      if (line->size() > max_line_) *too_long = true, *line = {};
      return true;
    }
    scanned = end_ - begin_;
    if (scanned > max_line_) {  // too long: drop what we hold, skip to the next newline
      *too_long = true;
      while (true) {
        begin_ = end_ = 0;
        if (!Fill()) break;
        if (const void* p = std::memchr(buf_.data(), '\n', end_)) {
          begin_ = static_cast<const char*>(p) - buf_.data() + 1;
          break;
        }
      }
      *line = {};
      *number = ++line_no_;
      return true;
    }
    if (!Fill()) {
      if (begin_ == end_) return false;
      *line = std::string_view(buf_.data() + begin_, end_ - begin_);  // last line, no newline
      begin_ = end_;
      *number = ++line_no_;
      return true;
    }
  }
}

}  // namespace flowstat::tools
