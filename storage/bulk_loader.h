// The pipelined bulk write path behind flowstat::Loader: parse + encode on the caller's thread,
// sort + write on a background thread, with at most two batches in flight (bounded memory), and
// the rollups of the hours the writes have moved past refreshed on a third (the closing refresh
// then has only the last hours left).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "flowstat/loader.h"
#include "schema/event_view.h"
#include "storage/event_store.h"

namespace flowstat::storage {

class BulkLoader final : public Loader {
 public:
  // `writer` is held for the loader's lifetime: it makes this loader the store's only writer.
  BulkLoader(EventStore& store, util::WriterLease writer);
  ~BulkLoader() override;

  Status AddJson(std::string_view line) override;
  Status Add(const FlowEvent& event) override;
  uint64_t pending() const override { return batch_.events; }
  void SetCheckpoint(std::string_view name, std::string_view value) override;
  Status Commit() override;
  Status WaitWritten() override;
  Status Finish(AppendStats* stats) override;

 private:
  void WriteLoop();
  void RefreshLoop();
  // Stops the background refresh (waits for a pass under way); its first error, if any.
  Status StopRefresh();
  Status WriteStatus();

  EventStore& store_;
  const util::WriterLease writer_lease_;
  RecordBatch batch_;
  schema::EventView view_;

  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<RecordBatch> queue_;
  std::vector<RecordBatch> spare_;  // written and cleared, for Commit to fill again
  bool closing_ = false;
  bool writing_ = false;  // a batch taken from queue_ is being written
  bool refresh_stopped_ = false;
  uint64_t batches_written_ = 0;
  Status write_status_;
  Status refresh_status_;
  AppendStats totals_;
  // Last: they start after the members they use.
  std::thread write_thread_;
  std::thread refresh_thread_;
};

}  // namespace flowstat::storage
