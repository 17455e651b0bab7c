// The public Store: storage::EventStore for the layout, query::Evaluate for the answers, and
// the boundary where no exception may pass.
#include <new>

#include "flowstat/store.h"
#include "query/engine.h"
#include "schema/event_fields.h"
#include "storage/bulk_loader.h"
#include "storage/event_store.h"

namespace flowstat {
namespace {

template <typename Fn>
auto Guard(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return Status::IOError("out of memory");
  } catch (const std::exception& e) {
    return Status::IOError(std::string("internal error: ") + e.what());
  }
}

class StoreImpl final : public Store {
 public:
  explicit StoreImpl(std::unique_ptr<storage::EventStore> store) : store_(std::move(store)) {}

  Status Append(const FlowEvent& event) override { return AppendBatch(std::span(&event, 1), nullptr); }

  Status AppendBatch(std::span<const FlowEvent> events, AppendStats* stats) override {
    return Guard([&] {
      auto writer = store_->EnterWriter();
      return writer.ok() ? store_->Write(*writer, events, stats) : writer.status();
    });
  }

  Result<std::unique_ptr<Loader>> NewLoader() override {
    return Guard([&]() -> Result<std::unique_ptr<Loader>> {
      auto writer = store_->EnterWriter();
      if (!writer.ok()) return writer.status();
      return std::unique_ptr<Loader>(new storage::BulkLoader(*store_, std::move(*writer)));
    });
  }

  Status Flush() override {
    return Guard([&] {
      auto writer = store_->EnterWriter();
      return writer.ok() ? store_->Flush(*writer) : writer.status();
    });
  }

  Status FlushSettled() override {
    return Guard([&] {
      auto writer = store_->EnterWriter();
      return writer.ok() ? store_->FlushSettled(*writer) : writer.status();
    });
  }

  Status Expire(int64_t before_ms, const std::string& namespace_, bool keep_rollups) override {
    return Remove(namespace_, before_ms, keep_rollups);
  }

  Status DeleteNamespace(const std::string& namespace_) override {
    return Remove(namespace_, kMaxTimestampMs + 1, false);
  }

  Result<StoreInfo> Info() override {
    return Guard([&]() -> Result<StoreInfo> { return store_->Info(); });
  }

  Status Backup(const std::string& dir) override {
    return Guard([&] { return store_->Backup(dir); });
  }

  Status Sync() override {
    return Guard([&] { return store_->Sync(); });
  }

  Status Compact() override {
    return Guard([&] {
      auto writer = store_->EnterWriter();
      return writer.ok() ? store_->Compact(*writer) : writer.status();
    });
  }

  Status SetCacheBytes(size_t bytes) override {
    return Guard([&] {
      store_->SetCacheBytes(bytes);
      return Status::Ok();
    });
  }

  Result<std::string> Checkpoint(std::string_view name) override {
    return Guard([&]() -> Result<std::string> { return store_->ReadCheckpoint(name); });
  }

  Status Verify(std::vector<std::string>* problems, uint64_t* keys_checked) override {
    return Guard([&] { return store_->Verify(problems, keys_checked); });
  }

  Result<std::vector<FlowStatistic>> Query(const flowstat::Query& query, QueryStats* stats) override {
    return Guard([&]() -> Result<std::vector<FlowStatistic>> {
      flowstat::Query q = query;
      Status s = ValidateQuery(&q);
      if (!s.ok()) return s;
      storage::EventStore::ReadView view(*store_);
      return query::Evaluate(*store_, view, q, stats);
    });
  }

  Result<Partial> QueryPartial(const flowstat::Query& query) override {
    return Guard([&]() -> Result<Partial> {
      flowstat::Query q = query;
      Status s = ValidateQuery(&q);
      if (!s.ok()) return s;
      storage::EventStore::ReadView view(*store_);
      Partial partial;
      auto done = query::Evaluate(*store_, view, q, nullptr, &partial);
      if (!done.ok()) return done.status();
      return partial;
    });
  }

  Status ScanEvents(const flowstat::Query& query, uint64_t limit,
                    const std::function<bool(const FlowEvent&)>& visit) override {
    return Guard([&]() -> Status {
      flowstat::Query q = query;
      Status s = ValidateQuery(&q);
      if (!s.ok()) return s;
      storage::EventStore::ReadView view(*store_);
      return query::ScanEvents(*store_, view, q, limit, visit);
    });
  }

 private:
  Status Remove(const std::string& namespace_, int64_t before_ms, bool keep_rollups) {
    return Guard([&]() -> Status {
      storage::EventStore::RemoveSpec spec;
      spec.namespace_ = namespace_;
      spec.before_ms = before_ms;
      spec.keep_rollups = keep_rollups;
      if (Status s = schema::NormalizeNamespace("namespace", &spec.namespace_); !s.ok()) return s;
      auto writer = store_->EnterWriter();
      return writer.ok() ? store_->Remove(*writer, spec) : writer.status();
    });
  }

  std::unique_ptr<storage::EventStore> store_;
};

}  // namespace

Status Store::CopyBesideWriter(const std::string& path, const std::string& dir) {
  return Guard([&] { return storage::CopyBesideWriter(path, dir); });
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, const OpenOptions& options) {
  return Guard([&]() -> Result<std::unique_ptr<Store>> {
    auto store = storage::EventStore::Open(path, options);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(new StoreImpl(std::move(store.value())));
  });
}

}  // namespace flowstat
