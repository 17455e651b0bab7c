#include "storage/bulk_loader.h"

#include "util/memory.h"

namespace flowstat::storage {
namespace {

// Sealed batches waiting for the writing thread. Parsing is the slower side, so one keeps the
// writer busy; each more holds a batch's memory (~9 MB at 131,072 events) for nothing.
constexpr size_t kMaxQueuedBatches = 1;

// The background refresh takes the stale hours none of the last this many batches wrote: input in
// time order (with reporting jitter) has moved past them, so they are refreshed once, and a day's
// rollup once all its hours are. Input in no order keeps every hour unsettled, and leaves it all
// to the closing refresh.
constexpr uint64_t kQuietBatches = 2;

}  // namespace

BulkLoader::BulkLoader(EventStore& store, util::WriterLease writer)
    : store_(store),
      writer_lease_(std::move(writer)),
      write_thread_([this] { WriteLoop(); }),
      refresh_thread_([this] { RefreshLoop(); }) {}

BulkLoader::~BulkLoader() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  changed_.notify_all();
  write_thread_.join();
  if (refresh_thread_.joinable()) refresh_thread_.join();
}

Status BulkLoader::AddJson(std::string_view line) {
  Status s = schema::ParseEventJsonView(line, &view_);
  if (s.ok()) s = store_.CheckHorizon(view_);
  if (s.ok()) store_.Encode(writer_lease_, view_, &batch_);
  return s;
}

Status BulkLoader::Add(const FlowEvent& event) {
  schema::ViewOf(event, &view_);
  Status s = schema::ValidateBuiltView(&view_);
  if (s.ok()) s = store_.CheckHorizon(view_);
  if (s.ok()) store_.Encode(writer_lease_, view_, &batch_);
  return s;
}

Status BulkLoader::WriteStatus() {
  std::lock_guard lock(mu_);
  return write_status_;
}

void BulkLoader::SetCheckpoint(std::string_view name, std::string_view value) {
  for (auto& [n, v] : batch_.checkpoints) {
    if (n == name) {
      v.assign(value);
      return;
    }
  }
  batch_.checkpoints.emplace_back(std::string(name.substr(0, kMaxCheckpointName)), std::string(value));
}

Status BulkLoader::Commit() {
  if (batch_.events == 0 && batch_.checkpoints.empty()) return WriteStatus();
  store_.Seal(writer_lease_, &batch_);
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return queue_.size() < kMaxQueuedBatches; });
  queue_.push_back(std::move(batch_));
  if (spare_.empty()) {
    batch_ = RecordBatch();
  } else {
    batch_ = std::move(spare_.back());
    spare_.pop_back();
  }
  changed_.notify_all();
  return write_status_;
}

Status BulkLoader::WaitWritten() {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return queue_.empty() && !writing_; });
  return write_status_;
}

Status BulkLoader::Finish(AppendStats* stats) {
  Status s = Commit();
  {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return queue_.empty() && !writing_; });
    s = write_status_;
    if (stats) *stats = totals_;
    spare_.clear();
  }
  batch_ = RecordBatch();
  // The closing refresh takes what is left; never two refreshes of a day at once.
  if (Status refreshed = StopRefresh(); s.ok()) s = refreshed;
  store_.EndBulkLoad(writer_lease_);
  // The pages of freed batches and cache go back before the rollup refresh allocates its own on
  // other threads (measured: 4M events 183 MB peak RSS without, 162 MB with; the dictionary's
  // cache, 128M events: see bench/RESULTS.md).
  util::ReturnFreedMemory();
  return s.ok() ? store_.Flush(writer_lease_) : s;
}

void BulkLoader::WriteLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    changed_.wait(lock, [&] { return !queue_.empty() || closing_; });
    if (queue_.empty()) return;
    RecordBatch batch = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    lock.unlock();
    AppendStats stats;
    Status s = write_status_.ok() ? store_.WriteRecords(writer_lease_, &batch, &stats) : Status::Ok();
    batch.Clear();
    lock.lock();
    if (spare_.size() < kMaxQueuedBatches) spare_.push_back(std::move(batch));
    writing_ = false;
    ++batches_written_;
    if (!s.ok() && write_status_.ok()) write_status_ = s;
    totals_.accepted += stats.accepted;
    totals_.duplicates += stats.duplicates;
    changed_.notify_all();
  }
}

void BulkLoader::RefreshLoop() {
  std::unique_lock lock(mu_);
  uint64_t seen = 0;  // batches written when the last pass started
  while (true) {
    changed_.wait(lock, [&] { return closing_ || refresh_stopped_ || batches_written_ > seen; });
    if (closing_ || refresh_stopped_ || !refresh_status_.ok()) return;
    seen = batches_written_;
    lock.unlock();
    Status s = store_.RefreshSettledRollups(writer_lease_, kQuietBatches);
    lock.lock();
    if (!s.ok()) refresh_status_ = s;
  }
}

Status BulkLoader::StopRefresh() {
  {
    std::lock_guard lock(mu_);
    refresh_stopped_ = true;
  }
  changed_.notify_all();
  if (refresh_thread_.joinable()) refresh_thread_.join();
  std::lock_guard lock(mu_);
  return refresh_status_;
}

}  // namespace flowstat::storage
