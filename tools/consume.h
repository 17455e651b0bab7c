// `flowstat consume`: a Kafka topic into a store, each batch's offsets stored with its events.
#pragma once

#include <string>
#include <vector>

#include "flowstat/loader.h"

namespace flowstat::tools {

struct ConsumeOptions {
  std::string db;
  std::string brokers;  // bootstrap servers, host:port,...
  std::string topic;
  std::string group;
  std::string instance_id;  // group.instance.id: static membership, a restart gets its partitions back
  std::string format = "auto";
  std::string namespace_prefix;
  std::string time_zone = "UTC";
  int64_t commit_interval_ms = 1000;
  size_t batch_events = 65536;
  int64_t stop_after_idle_ms = 0;          // > 0: exit once no message came for this long (tests, backfills)
  std::vector<std::string> kafka_options;  // NAME=VALUE librdkafka settings (security, timeouts)
  size_t dictionary_cache_mb = kDefaultDictionaryCacheBytes >> 20;  // addresses and details kept, MiB
};

// Exit codes: 0 stopped by a signal or idle (everything consumed is committed), 1 an error,
// 2 bad options.
int RunConsume(const ConsumeOptions& options);

}  // namespace flowstat::tools
