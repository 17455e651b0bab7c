// `flowstat consume` (doc/scale-out.md): a Kafka consumer group member feeding one store.
//
// Exactly once, by the store: the next offset of every partition is a checkpoint
// ("kafka:TOPIC:PARTITION") committed in the same RocksDB write batch as the events read before
// it, so after a crash the consumer resumes where the store stands — what it stored is not read
// again, what it did not store is. When a partition is assigned the store's own checkpoint wins;
// a partition this store never held starts at the group's committed offset (another member
// stored up to there), else at the beginning. Offsets are committed to Kafka only once the
// events they cover are written to the store, and synchronously when partitions are revoked, so
// that the member taking them over starts exactly where this store stopped.
#include "tools/consume.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "flowstat/formats.h"
#include "flowstat/store.h"
#include "util/memory.h"

namespace flowstat::tools {
namespace {

using Clock = std::chrono::steady_clock;

volatile sig_atomic_t stop_requested = 0;
void RequestStop(int) { stop_requested = 1; }

std::string CheckpointName(const std::string& topic, int32_t partition) {
  return "kafka:" + topic + ":" + std::to_string(partition);
}

class Consumer {
 public:
  explicit Consumer(const ConsumeOptions& o) : o_(o) {}
  ~Consumer() {
    if (rk_) rd_kafka_destroy(rk_);
  }

  int Run() {
    OpenOptions open;
    open.cache_bytes = kWriterCacheBytes;  // no queries here
    open.dictionary_cache_bytes = o_.dictionary_cache_mb << 20;
    auto store = Store::Open(o_.db, open);
    if (!store.ok()) return Fail(store.status().message());
    store_ = std::move(*store);
    if (int rc = StartLoader(); rc != 0) return rc;
    if (int rc = Connect(); rc != 0) return rc;
    struct sigaction sa {};
    sa.sa_handler = RequestStop;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    auto last_message = Clock::now();
    while (!stop_requested && error_.empty()) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
      if (m) {
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          Take(*m);
          last_message = Clock::now();
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          std::fprintf(stderr, "flowstat consume: %s\n", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
      }
      if (!CommitIfDue()) break;
      if (!assigned_) last_message = Clock::now();  // idle counts once the group gave us partitions
      if (o_.stop_after_idle_ms > 0 && Clock::now() - last_message > std::chrono::milliseconds(o_.stop_after_idle_ms)) {
        break;
      }
    }
    Leave();
    rd_kafka_consumer_close(rk_);
    if (error_.empty()) {
      AppendStats totals;
      Status s = loader_->Finish(&totals);
      if (!s.ok()) return Fail(s.message());
    }
    loader_.reset();
    if (!error_.empty()) return Fail(error_);
    std::fprintf(stderr, "consumed %llu messages, %llu events stored, %llu bad lines skipped\n",
                 static_cast<unsigned long long>(messages_), static_cast<unsigned long long>(events_),
                 static_cast<unsigned long long>(bad_lines_));
    return 0;
  }

 private:
  static int Fail(const std::string& message) {
    std::fprintf(stderr, "flowstat consume: %s\n", message.c_str());
    return 1;
  }

  int StartLoader() {
    auto loader = store_->NewLoader();
    if (!loader.ok()) return Fail(loader.status().message());
    loader_ = std::move(*loader);
    return 0;
  }

  int Connect() {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    const std::pair<const char*, std::string> settings[] = {
        {"bootstrap.servers", o_.brokers}, {"group.id", o_.group},
        {"enable.auto.commit", "false"},   {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"}, {"enable.partition.eof", "false"},
        {"client.id", "flowstat-consume"}};
    for (const auto& [name, value] : settings) {
      if (rd_kafka_conf_set(conf, name, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return Fail(std::string(name) + ": " + err);
      }
    }
    for (const std::string& option : o_.kafka_options) {
      const size_t eq = option.find('=');
      if (eq == std::string::npos ||
          rd_kafka_conf_set(conf, option.substr(0, eq).c_str(), option.substr(eq + 1).c_str(), err, sizeof err) !=
              RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return Fail("--kafka-option " + option + ": " + (eq == std::string::npos ? "expected NAME=VALUE" : err));
      }
    }
    if (!o_.instance_id.empty() &&
        rd_kafka_conf_set(conf, "group.instance.id", o_.instance_id.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Fail(std::string("group.instance.id: ") + err);
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_rebalance_cb(conf, &Consumer::OnRebalance);
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);  // takes conf
    if (!rk_) return Fail(err);
    rd_kafka_poll_set_consumer(rk_);
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, o_.topic.c_str(), RD_KAFKA_PARTITION_UA);
    const rd_kafka_resp_err_t e = rd_kafka_subscribe(rk_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) return Fail(std::string("subscribe: ") + rd_kafka_err2str(e));
    return 0;
  }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                          void* opaque) {
    auto* self = static_cast<Consumer*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      self->Assign(partitions);
    } else {
      self->Revoke();
      rd_kafka_assign(rk, nullptr);
    }
  }

  // Where each assigned partition starts: the further of this store's checkpoint and the group's
  // committed offset, else the beginning. Offsets reach Kafka only after the events they cover
  // are stored somewhere, so a committed offset past this store's checkpoint means another
  // member stored up to there since this store held the partition; a checkpoint past it means
  // this store holds events Kafka was not told about (a crash, or a commit refused during a
  // rebalance), and the next commit tells it.
  void Assign(rd_kafka_topic_partition_list_t* partitions) {
    const rd_kafka_resp_err_t e = rd_kafka_committed(rk_, partitions, 10000);
    if (e) std::fprintf(stderr, "flowstat consume: reading the group's offsets: %s\n", rd_kafka_err2str(e));
    for (int i = 0; i < partitions->cnt; ++i) {
      rd_kafka_topic_partition_t& p = partitions->elems[i];
      const int64_t group_offset = e || p.err ? -1 : p.offset;
      const int64_t stored = StoredOffset(CheckpointName(p.topic, p.partition));
      const char* origin = "";
      if (stored >= 0 && stored >= group_offset) {
        p.offset = stored;
        origin = " (this store's checkpoint)";
        if (stored > group_offset) {
          next_[{p.topic, p.partition}] = stored;
          kafka_behind_ = true;
        }
      } else {
        p.offset = group_offset >= 0 ? group_offset : RD_KAFKA_OFFSET_BEGINNING;
      }
      std::fprintf(stderr, "flowstat consume: %s[%d] from offset %lld%s\n", p.topic, p.partition,
                   static_cast<long long>(p.offset), origin);
    }
    rd_kafka_assign(rk_, partitions);
    assigned_ = true;
    awaiting_assignment_ = false;
  }

  // The next offset this store holds for a partition; -1 when none. A checkpoint that is not an
  // offset (a damaged store) stops the consumer rather than restart the partition from a guess.
  int64_t StoredOffset(const std::string& name) {
    auto saved = store_->Checkpoint(name);
    if (!saved.ok()) return -1;
    int64_t offset = -1;
    const auto [end, ec] = std::from_chars(saved->data(), saved->data() + saved->size(), offset);
    if (ec != std::errc() || end != saved->data() + saved->size() || offset < 0) {
      if (error_.empty()) error_ = "checkpoint " + name + ": '" + *saved + "' is not an offset (a damaged store)";
      return -1;
    }
    return offset;
  }

  // Before partitions go to another member: everything read is written, and Kafka knows.
  void Revoke() {
    if (!error_.empty()) return;
    SetCheckpoints();
    Status s = loader_->Finish(nullptr);
    loader_.reset();  // the store's one writer: gone before the next one
    if (!s.ok()) {
      error_ = s.message();
      return;
    }
    // Refused or not, offsets of partitions given up are not committed later: by then their new
    // owner may have committed further. Those this store gets back, Assign puts back.
    awaiting_assignment_ = !CommitToKafka(/*async=*/false);
    next_.clear();
    kafka_behind_ = false;
    if (StartLoader() != 0) error_ = "cannot restart the loader after a rebalance";
    last_commit_ = Clock::now();
  }

  // Before leaving the group: everything read is stored and Kafka has its offsets, so that the
  // members taking these partitions over start where this store stops. A group rebalancing at
  // this moment (another member joining or leaving) refuses commits: keep serving it — polling
  // lets the rebalance complete and gives the partitions back, with the offsets Kafka lacks —
  // and retry, for a bounded time. (Leaving then revokes the partitions, and the callback finds
  // nothing left to do.)
  void Leave() {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (!CommitNow() || awaiting_assignment_) {
      if (!error_.empty()) return;
      if (Clock::now() > deadline) {
        std::fprintf(stderr, "flowstat consume: leaving before Kafka took this store's offsets\n");
        return;
      }
      if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 200)) {
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) Take(*m);
        rd_kafka_message_destroy(m);
      }
    }
  }

  // Stores what was read with its offsets, then commits them to Kafka synchronously: false if
  // Kafka refused them.
  bool CommitNow() {
    if (!error_.empty() || !kafka_behind_) return true;
    return !StoreRead() || CommitToKafka(/*async=*/false);
  }

  // Writes the events read, with their offsets as checkpoints, to the store and waits until they
  // are written; false (error_ set) when that failed.
  bool StoreRead() {
    SetCheckpoints();
    Status s = loader_->Commit();
    if (s.ok()) s = loader_->WaitWritten();
    if (!s.ok()) error_ = s.message();
    return s.ok();
  }

  void Take(const rd_kafka_message_t& m) {
    ++messages_;
    const std::string topic = rd_kafka_topic_name(m.rkt);
    std::string_view value(static_cast<const char*>(m.payload), m.len);
    size_t line_no = 0;
    while (!value.empty()) {
      const size_t end = value.find('\n');
      std::string_view line = value.substr(0, end);
      value = end == std::string_view::npos ? std::string_view() : value.substr(end + 1);
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      Status s = AddLine(line);
      if (!s.ok()) {
        ++bad_lines_;
        std::fprintf(stderr, "%s[%d]@%lld:%zu: %s\n", topic.c_str(), m.partition, static_cast<long long>(m.offset),
                     line_no, s.message().c_str());
      }
    }
    next_[{topic, m.partition}] = m.offset + 1;
    kafka_behind_ = true;
  }

  Status AddLine(std::string_view line) {
    const std::string format = o_.format == "auto" ? DetectFormat(line) : o_.format;
    if (format == "jsonl") {
      Status s = loader_->AddJson(line);
      if (s.ok()) ++events_;
      return s;
    }
    if (format == "csv") return Status::InvalidArgument("CSV needs a header line: not readable from messages");
    auto& parser = parsers_[format];
    if (!parser) {
      auto made = NewFlowLogParser(format, o_.namespace_prefix, o_.time_zone);
      if (!made.ok()) return made.status();
      parser = std::move(*made);
    }
    std::string reason;
    auto outcome = parser->ParseLine(line, &event_, &reason);
    if (!outcome.ok()) return outcome.status();
    if (*outcome != FlowLogParser::Outcome::kEvent) return Status::Ok();
    Status s = loader_->Add(event_);
    if (s.ok()) ++events_;
    return s;
  }

  void SetCheckpoints() {
    for (const auto& [tp, offset] : next_)
      loader_->SetCheckpoint(CheckpointName(tp.first, tp.second), std::to_string(offset));
  }

  // Every commit interval (or full batch): the batch with its offsets to the store, then — once
  // written — the offsets to Kafka, where they only serve to show the group's lag.
  bool CommitIfDue() {
    const bool full = loader_->pending() >= o_.batch_events;
    const bool due = Clock::now() - last_commit_ >= std::chrono::milliseconds(o_.commit_interval_ms);
    if (!full && !(due && !next_.empty())) return true;
    const bool stored = StoreRead();
    last_commit_ = Clock::now();
    if (stored) CommitToKafka(/*async=*/true);
    return stored;
  }

  // True once Kafka has the offsets (an asynchronous commit: once sent).
  bool CommitToKafka(bool async) {
    if (next_.empty()) return true;
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(next_.size()));
    for (const auto& [tp, offset] : next_) {
      rd_kafka_topic_partition_list_add(list, tp.first.c_str(), tp.second)->offset = offset;
    }
    const rd_kafka_resp_err_t e = rd_kafka_commit(rk_, list, async ? 1 : 0);
    rd_kafka_topic_partition_list_destroy(list);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      std::fprintf(stderr, "flowstat consume: committing offsets to Kafka: %s (this store has them; %s)\n",
                   rd_kafka_err2str(e),
                   async ? "the next commit carries them"
                         : "a member taking these partitions over may read again what this store holds");
      return false;
    }
    if (!async) kafka_behind_ = false;
    return true;
  }

  const ConsumeOptions& o_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Loader> loader_;
  rd_kafka_t* rk_ = nullptr;
  std::map<std::pair<std::string, int32_t>, int64_t> next_;  // next offset to read, per partition read
  std::map<std::string, std::unique_ptr<FlowLogParser>> parsers_;
  FlowEvent event_;
  Clock::time_point last_commit_ = Clock::now();
  std::string error_;
  bool assigned_ = false;
  bool awaiting_assignment_ = false;  // partitions revoked while Kafka refused their offsets
  bool kafka_behind_ = false;         // next_ holds offsets Kafka may not have (a synchronous commit clears it)
  uint64_t messages_ = 0, events_ = 0, bad_lines_ = 0;
};

}  // namespace

int RunConsume(const ConsumeOptions& options) {
  util::LimitMallocArenas(2);  // a writing process's memory (util/memory.h)
  return Consumer(options).Run();
}

}  // namespace flowstat::tools
