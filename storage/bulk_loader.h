// The pipelined bulk write path behind flowstat::Loader: parse + encode on the caller's thread,
// sort + write on a background thread, with at most two batches in flight (bounded memory).
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
  Status write_status_;
  AppendStats totals_;
  std::thread write_thread_;  // last: starts after the members it uses
};

}  // namespace flowstat::storage
