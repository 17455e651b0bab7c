#include "tools/line_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

namespace flowstat::tools {
namespace {

// A UTF-8 byte order mark, as Windows editors and spreadsheet exports write it, opens the file: it
// is not part of the first line (a CSV header's first name, a JSON object).
void SkipByteOrderMark(std::string_view* line) {
  if (line->starts_with("\xEF\xBB\xBF")) line->remove_prefix(3);
}

constexpr int kFollowPollMs = 100;  // how often a followed file is checked for growth

// The most one read() brings in. The lines it holds are parsed while they are still in the
// core's L2 cache; filling the whole 4 MB buffer at once left most of them to come from memory
// a second time (W2M import: 0.96-0.97x the wall in three runs of 9-15 alternated pairs).
constexpr size_t kReadBytes = 256 << 10;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

LineReader::LineReader(std::string path, size_t max_line_bytes, bool follow)
    : path_(std::move(path)), follow_(follow && path_ != "-"), max_line_(max_line_bytes) {
  buf_size_ = std::max<size_t>(max_line_bytes * 2, 4 << 20);
  buf_ = std::make_unique_for_overwrite<char[]>(buf_size_);
  if (path_ == "-") {
    fd_ = STDIN_FILENO;
    return;
  }
  // A followed file may appear later; one that exists but cannot be read (a directory, no
  // permission) is an error at once, not a wait without end.
  if (!OpenPath() && follow_ && missing_) open_error_.clear();
}

LineReader::~LineReader() {
  if (owns_ && fd_ >= 0) ::close(fd_);
}

bool LineReader::OpenPath() {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    missing_ = errno == ENOENT;
    open_error_ = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    open_error_ = "cannot read: is a directory";
    return false;
  }
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    open_error_ = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  if (::fstat(fd, &st) != 0) {
    open_error_ = std::string("cannot open: ") + std::strerror(errno);
    ::close(fd);
    return false;
  }
  if (owns_ && fd_ >= 0) ::close(fd_);
  fd_ = fd;
  owns_ = true;
  is_regular_ = S_ISREG(st.st_mode);
  device_ = st.st_dev;
  inode_ = st.st_ino;
  if (is_regular_ && !follow_) size_ = static_cast<uint64_t>(st.st_size);
  return true;
}

bool LineReader::Resume(const Position& p) {
  if (fd_ < 0 || !is_regular_ || p.device != device_ || p.inode != inode_) return false;
  struct stat st;
  if (::fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) < p.offset) return false;
  if (::lseek(fd_, static_cast<off_t>(p.offset), SEEK_SET) < 0) return false;
  begin_ = end_ = scanned_ = 0;
  buffer_offset_ = p.offset;
  line_no_ = p.line;
  return true;
}

bool LineReader::PathIsAnotherFile() const {
  struct stat by_path;
  return ::stat(path_.c_str(), &by_path) == 0 &&
         (static_cast<uint64_t>(by_path.st_dev) != device_ || static_cast<uint64_t>(by_path.st_ino) != inode_);
}

// Whether the path now names another file than the one open (rotation), or the open file shrank
// below what was read (copy-truncate). Switches to the new file; the rest of the old one was read.
bool LineReader::Rotated() {
  struct stat by_path, open_file;
  if (::stat(path_.c_str(), &by_path) != 0) return false;  // renamed away, not recreated yet
  if (fd_ >= 0 && ::fstat(fd_, &open_file) == 0 && by_path.st_dev == open_file.st_dev &&
      by_path.st_ino == open_file.st_ino) {
    if (static_cast<uint64_t>(open_file.st_size) >= buffer_offset_ + end_) return false;
    ::lseek(fd_, 0, SEEK_SET);  // truncated in place: start over
  } else if (!OpenPath()) {
    return false;
  }
  begin_ = end_ = scanned_ = 0;
  skipping_ = false;
  buffer_offset_ = 0;
  line_no_ = 0;
  ++file_generation_;
  return true;
}

void LineReader::Discard() {
  buffer_offset_ += end_;
  begin_ = end_ = scanned_ = 0;
}

// Reads what is available into the buffer, waiting at most `wait_ms` for a pipe to have some.
LineReader::Fill LineReader::ReadSome(int wait_ms) {
  if (begin_ > 0) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    buffer_offset_ += begin_;
    end_ -= begin_;
    begin_ = 0;
  }
  if (!is_regular_) {
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, wait_ms);
    if (r == 0 || (r < 0 && errno == EINTR)) return Fill::kIdle;
  }
  while (true) {
    const ssize_t n = ::read(fd_, buf_.get() + end_, std::min(kReadBytes, buf_size_ - end_));
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      bytes_read_ += static_cast<uint64_t>(n);
      return Fill::kData;
    }
    if (n == 0) return Fill::kEnd;
    if (errno == EINTR) return Fill::kIdle;
    if (errno == EAGAIN) return Fill::kIdle;
    read_error_ = std::string("read error: ") + std::strerror(errno);
    return Fill::kError;
  }
}

LineReader::Fill LineReader::FillBuffer(int64_t deadline_ms) {
  while (true) {
    const int64_t left = deadline_ms < 0 ? -1 : std::max<int64_t>(0, deadline_ms - NowMs());
    if (fd_ < 0) {  // a followed file that does not exist yet
      if (OpenPath()) {
        ++file_generation_;
        continue;
      }
    } else {
      const Fill r = ReadSome(left < 0 ? -1 : static_cast<int>(std::min<int64_t>(left, 1 << 30)));
      if (r != Fill::kEnd || !follow_) return r;
      if (begin_ < end_ && end_ < buf_size_ && PathIsAnotherFile()) {
        buf_[end_++] = '\n';  // the old file's last line, unterminated: it will get no more bytes
        return Fill::kData;
      }
      if (Rotated()) continue;
    }
    if (left == 0) return Fill::kIdle;
    const int64_t nap = left < 0 ? kFollowPollMs : std::min<int64_t>(left, kFollowPollMs);
    std::this_thread::sleep_for(std::chrono::milliseconds(nap));
    if (deadline_ms >= 0 && NowMs() >= deadline_ms) {
      // One more look before giving up: a write that landed during the nap.
      if (fd_ >= 0 && ReadSome(0) == Fill::kData) return Fill::kData;
      return Fill::kIdle;
    }
  }
}

bool LineReader::MoreBuffered() const {
  const std::string_view rest(buf_.get() + begin_, end_ - begin_);
  return !skipping_ && rest.find_first_not_of(" \t\r\n") != std::string_view::npos;
}

LineReader::Result LineReader::Next(std::string_view* line, uint64_t* number, bool* too_long, int timeout_ms) {
  if (!open_error_.empty() && !follow_) return Result::kEnd;
  // The clock is read only when the buffer runs dry, not for each line.
  std::optional<int64_t> deadline;
  *too_long = false;
  while (true) {
    const char* base = buf_.get();
    const void* nl = std::memchr(base + begin_ + scanned_, '\n', end_ - begin_ - scanned_);
    if (nl) {
      const size_t pos = static_cast<const char*>(nl) - base;
      *line = std::string_view(base + begin_, pos - begin_);
      begin_ = pos + 1;
      scanned_ = 0;
      *number = ++line_no_;
      if (skipping_ || line->size() > max_line_) *too_long = true, *line = {};
      skipping_ = false;
      if (*number == 1) SkipByteOrderMark(line);
      return Result::kLine;
    }
    scanned_ = end_ - begin_;
    if (skipping_ || scanned_ > max_line_) {  // too long: drop what we hold, skip to its newline
      skipping_ = true;
      Discard();
    }
    if (!deadline) deadline = timeout_ms < 0 ? -1 : NowMs() + timeout_ms;
    switch (FillBuffer(*deadline)) {
      case Fill::kData:
        continue;
      case Fill::kIdle:
        return Result::kIdle;
      case Fill::kError:
        return Result::kError;
      case Fill::kEnd:
        if (begin_ == end_ && !skipping_) return Result::kEnd;
        *line = skipping_ ? std::string_view() : std::string_view(base + begin_, end_ - begin_);  // no newline
        *too_long = skipping_;
        skipping_ = false;
        begin_ = end_;
        scanned_ = 0;
        *number = ++line_no_;
        if (*number == 1) SkipByteOrderMark(line);
        return Result::kLine;
    }
  }
}

}  // namespace flowstat::tools
