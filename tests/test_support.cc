#include "tests/test_support.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstring>
#include <fstream>

namespace flowstat::testing {
namespace {

const std::vector<std::string> kNamespaces = {"/",       "/a",  "/a/b",    "/a/b/c",   "/a/bc",
                                              "/a/b-eu", "/ab", "/x/ü/名", "/a/b/c/d", "/a/b/x"};
const std::vector<std::string> kQueryNamespaces = {"/", "/a", "/a/b", "/a/b/c", "/ab", "/x", "/x/ü", "/zzz", "/a/b-eu"};
const std::vector<std::string> kIds = {"s1", "s2", "s3", "d1", "d2", "d3", "ïd-ü", "a=b", "x y", "S1", "s10", "z"};
const std::vector<std::string> kTags = {"app=web", "app=db",       "tier=frontend", "tier=backend", "k=v=w",
                                        "ü=名前",  "$identity=pu", "@x=y z",        "env=prod",     "app=web2"};
const std::vector<uint16_t> kPorts = {22, 80, 443, 8080, 0, 65535, 53};

template <typename T>
const T& Pick(std::mt19937_64& rng, const std::vector<T>& v) {
  return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}

bool Chance(std::mt19937_64& rng, double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }

int64_t Between(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

std::vector<std::string> SomeTags(std::mt19937_64& rng, int max) {
  std::vector<std::string> tags;
  for (int n = static_cast<int>(Between(rng, 0, max)); n > 0; --n) tags.push_back(Pick(rng, kTags));
  return tags;
}

}  // namespace

void Write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

TempDir::TempDir() {
  static int counter = 0;
  path_ = (std::filesystem::temp_directory_path() /
           ("flowstat-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
              .string();
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::unique_ptr<Store> OpenStore(const std::string& dir, OpenOptions options) {
  auto store = Store::Open(dir, options);
  INFO(store.status().message());
  REQUIRE(store.ok());
  return std::move(*store);
}

std::vector<std::string> VerifyProblems(Store& store) {
  std::vector<std::string> problems;
  REQUIRE(store.Verify(&problems, nullptr).ok());
  return problems;
}

std::set<std::string> StoredEventsJson(Store& store) {
  Query everything;
  everything.namespace_ = "/";
  everything.start_absolute = 0;
  everything.end_absolute = 4102444800000;  // 2100-01-01
  everything.flow_mode = FlowMode::kAll;
  REQUIRE(ValidateQuery(&everything).ok());
  std::set<std::string> stored;
  REQUIRE(store.ScanEvents(everything, 0, [&](const FlowEvent& e) { return stored.insert(FormatEventJson(e)), true; })
              .ok());
  return stored;
}

FlowEvent MakeEvent(int64_t t, const std::string& ns, const std::string& src, const std::string& dst, Action action,
                    uint64_t value) {
  FlowEvent e;
  e.timestamp_ms = t;
  e.namespace_ = ns;
  e.source_id = src;
  e.destination_id = dst;
  e.action = action;
  e.value = value;
  e.destination_port = 443;
  return e;
}

std::vector<FlowEvent> RandomEvents(std::mt19937_64& rng, size_t n) {
  std::vector<FlowEvent> events;
  const int64_t span = 3 * 86400000LL;
  for (size_t i = 0; i < n; ++i) {
    if (!events.empty() && Chance(rng, 0.08)) {  // a retried report
      events.push_back(Pick(rng, events));
      continue;
    }
    int64_t t = kBaseMs + Between(rng, 0, span - 1);
    if (Chance(rng, 0.1)) t = t / 3600000 * 3600000;  // exactly on an hour edge
    FlowEvent e = MakeEvent(t, Pick(rng, kNamespaces), Pick(rng, kIds), Pick(rng, kIds),
                            Chance(rng, 0.3) ? Action::kReject : Action::kAccept, 1);
    if (Chance(rng, 0.3)) e.value = static_cast<uint64_t>(Between(rng, 1, 1000));
    if (Chance(rng, 0.01)) e.value = kMaxEventValue;
    e.destination_port.reset();
    if (Chance(rng, 0.9)) e.destination_port = Pick(rng, kPorts);
    e.source_tags = SomeTags(rng, 4);
    e.destination_tags = SomeTags(rng, 4);
    e.observed = Chance(rng, 0.25);
    e.observed_action = static_cast<ObservedAction>(Between(rng, 0, 2));
    if (Chance(rng, 0.2)) e.protocol = static_cast<uint8_t>(Between(rng, 0, 255));
    if (Chance(rng, 0.2)) e.encrypted = Chance(rng, 0.5);
    if (Chance(rng, 0.1)) e.policy_id = Numbered("p", Between(rng, 0, 3));
    if (Chance(rng, 0.1)) e.source_ip = Numbered("10.0.0.", Between(rng, 0, 3));
    events.push_back(std::move(e));
  }
  return events;
}

Query RandomQuery(std::mt19937_64& rng) {
  static const int64_t kIntervals[] = {1000, 60000, 900000, 3600000, 7200000, 86400000, 5400000};
  Query q;
  q.namespace_ = Pick(rng, kQueryNamespaces);
  q.recursive = Chance(rng, 0.8);
  q.average_interval_ms = kIntervals[Between(rng, 0, 6)];
  const int64_t span = 3 * 86400000LL;
  int64_t start = kBaseMs + Between(rng, -3600000, span);
  int64_t length = Between(rng, 1, Chance(rng, 0.5) ? 7200000 : span);
  if (q.average_interval_ms == 1000) length = std::min<int64_t>(length, 3600000);
  if (Chance(rng, 0.2)) start = start / 3600000 * 3600000;
  if (Chance(rng, 0.15)) start = start / 86400000 * 86400000;  // whole days: day rollups
  if (Chance(rng, 0.2)) {
    q.now_ms = start + length;
    q.start_relative = length;
  } else {
    q.start_absolute = start;
    q.end_absolute = start + length;
  }
  q.metric = Chance(rng, 0.5) ? Metric::kFlows : Metric::kPorts;
  q.type = Chance(rng, 0.5) ? StatisticType::kSerie : StatisticType::kRepartition;
  q.action = static_cast<ActionFilter>(Between(rng, 0, 2));
  q.flow_mode = static_cast<FlowMode>(Between(rng, 0, 2));
  if (Chance(rng, 0.3)) q.source_tags = SomeTags(rng, 2);
  if (Chance(rng, 0.3)) q.destination_tags = SomeTags(rng, 2);
  if (Chance(rng, 0.25)) q.source_ids = {Pick(rng, kIds), Chance(rng, 0.5) ? Pick(rng, kIds) : "unknown"};
  if (Chance(rng, 0.25)) q.destination_ids = {Pick(rng, kIds)};
  if (Chance(rng, 0.3)) q.limit = static_cast<uint64_t>(Between(rng, 0, 6));
  if (Chance(rng, 0.3)) q.user_identifier = "user-" + std::to_string(Between(rng, 0, 9));
  return q;
}

std::string Comparable(std::vector<FlowStatistic> list, bool require_ids) {
  for (auto& s : list) {
    if (require_ids) CHECK(!s.id.empty());
    s.id.clear();
  }
  return FormatStatisticsJson(list);
}

std::string ShiftVectorOffAlignment(std::string buffer, std::string_view first_element) {
  const size_t data = buffer.find(first_element);
  if (data == std::string::npos || data % 8 != 0 || data < 4 ||
      buffer.find(first_element, data + 1) != std::string::npos) {
    return {};
  }
  auto load = [&](size_t at) {
    uint32_t v;
    std::memcpy(&v, buffer.data() + at, 4);
    return v;
  };
  auto store = [&](size_t at, uint32_t v) { std::memcpy(buffer.data() + at, &v, 4); };
  const size_t length_field = data - 4;
  for (size_t field = 0; field + 4 <= length_field; field += 4) {
    if (field + load(field) != length_field) continue;  // an offset is relative to where it lies
    store(field, load(field) + 4);
    store(data, 1);
    return buffer;
  }
  return {};
}

}  // namespace flowstat::testing
