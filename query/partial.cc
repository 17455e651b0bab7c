// Partials (flowstat/partial.h): merging, finishing, and the wire format of doc/partial-format.md.
#include "flowstat/partial.h"

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "partial_generated.h"
#include "query/reducer.h"
#include "schema/flatbuffer_view.h"

namespace flowstat {
namespace {

constexpr uint32_t kPartialVersion = 1;

// What two partials must agree on to be added: the query (as its statistics' ID would name it),
// the action filter and the window.
std::string Fingerprint(const Partial& p) {
  const auto [first, buckets] = query::BucketGrid(p.query, p.window);
  return query::StatisticId(p.query, first, buckets, Mode::kAccepted) + "/" +
         std::to_string(static_cast<int>(p.query.action)) + "/" + std::to_string(p.window.start_ms) + "/" +
         std::to_string(p.window.end_ms);
}

template <typename T, typename Key, typename Add>
std::vector<T> MergeSorted(const std::vector<T>& a, const std::vector<T>& b, Key key, Add add) {
  std::vector<T> out;
  out.reserve(a.size() + b.size());
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && key(a[i]) < key(b[j]))) {
      out.push_back(a[i++]);
    } else if (i == a.size() || key(b[j]) < key(a[i])) {
      out.push_back(b[j++]);
    } else {
      out.push_back(a[i++]);
      add(out.back(), b[j++]);
    }
  }
  return out;
}

std::vector<std::string> Union(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

void AddInto(PartialMode* into, const PartialMode& from) {
  for (size_t i = 0; i < into->serie.size() && i < from.serie.size(); ++i) into->serie[i] += from.serie[i];
  if (into->serie.size() < from.serie.size()) into->serie.resize(from.serie.size(), 0);
  into->bucket_ports = MergeSorted(
      into->bucket_ports, from.bucket_ports, [](const auto& e) { return e.first; },
      [](auto& e, const auto& o) {
        std::vector<uint16_t> ports;
        std::set_union(e.second.begin(), e.second.end(), o.second.begin(), o.second.end(), std::back_inserter(ports));
        e.second = std::move(ports);
      });
  into->pairs = MergeSorted(
      into->pairs, from.pairs, [](const auto& e) { return std::tie(e.source_id, e.destination_id); },
      [](auto& e, const auto& o) { e.sum += o.sum; });
  into->port_sums = MergeSorted(
      into->port_sums, from.port_sums, [](const auto& e) { return e.first; },
      [](auto& e, const auto& o) { e.second += o.second; });
  into->source_ids = Union(into->source_ids, from.source_ids);
  into->destination_ids = Union(into->destination_ids, from.destination_ids);
}

// A Repartition's entries in the answer's order — value descending, ties by key ascending — and
// cut to the limit, as the one-store reducer ranks them (query/reducer.cc).
void Rank(const Query& q, const PartialMode& m, FlowStatistic* out) {
  auto& points = out->data_points;
  if (q.metric == Metric::kFlows) {
    for (const auto& p : m.pairs) {
      DataPoint d;
      d.source_id = p.source_id;
      d.destination_id = p.destination_id;
      d.value = p.sum;
      if (d.value != 0) points.push_back(std::move(d));
    }
  } else {
    for (const auto& [port, sum] : m.port_sums) {
      DataPoint d;
      d.port = port;
      d.value = sum;
      if (d.value != 0) points.push_back(std::move(d));
    }
  }
  std::sort(points.begin(), points.end(), query::RanksBefore<DataPoint>);
  if (q.limit && *q.limit < points.size()) points.resize(static_cast<size_t>(*q.limit));
}

fbp::Count128 ToWire(Count c) { return fbp::Count128(static_cast<uint64_t>(c), static_cast<uint64_t>(c >> 64)); }
Count FromWire(const fbp::Count128& c) { return (static_cast<Count>(c.high()) << 64) | c.low(); }

}  // namespace

Result<Partial> MergePartials(const std::vector<Partial>& parts) {
  if (parts.empty()) return Status::InvalidArgument("no partial to merge");
  Partial merged = parts.front();
  const std::string fingerprint = Fingerprint(merged);
  for (size_t k = 1; k < parts.size(); ++k) {
    const Partial& p = parts[k];
    if (Fingerprint(p) != fingerprint || p.modes.size() != merged.modes.size()) {
      return Status::InvalidArgument("partial " + std::to_string(k) +
                                     " answers another query (or window) than partial 0: they cannot be merged");
    }
    for (size_t m = 0; m < p.modes.size(); ++m) AddInto(&merged.modes[m], p.modes[m]);
  }
  return merged;
}

std::vector<FlowStatistic> FinishPartial(const Partial& partial) {
  const Query& q = partial.query;
  const auto [first, buckets] = query::BucketGrid(q, partial.window);
  std::vector<FlowStatistic> out;
  for (const PartialMode& m : partial.modes) {
    FlowStatistic s;
    s.id = query::StatisticId(q, first, buckets, m.mode);
    s.type = q.type;
    s.metric = q.metric;
    s.mode = m.mode;
    if (q.type == StatisticType::kSerie) {
      s.data_points.resize(buckets);
      for (uint64_t i = 0; i < buckets; ++i) {
        s.data_points[i].timestamp_ms = first + static_cast<int64_t>(i) * q.average_interval_ms;
        if (i < m.serie.size()) s.data_points[i].value = m.serie[i];
      }
      for (const auto& [bucket, ports] : m.bucket_ports) {
        if (bucket < buckets) s.data_points[bucket].value = ports.size();
      }
    } else {
      Rank(q, m, &s);
    }
    s.source_ids = m.source_ids;
    s.destination_ids = m.destination_ids;
    s.source_tags = q.source_tags;
    s.destination_tags = q.destination_tags;
    s.user_identifier = q.user_identifier;
    out.push_back(std::move(s));
  }
  return out;
}

std::string EncodePartial(const Partial& partial) {
  flatbuffers::FlatBufferBuilder b;
  std::map<std::string_view, uint32_t> index;  // each string once
  std::vector<std::string_view> strings;
  auto ref = [&](std::string_view s) {
    auto [it, added] = index.emplace(s, static_cast<uint32_t>(strings.size()));
    if (added) strings.push_back(s);
    return it->second;
  };
  std::vector<flatbuffers::Offset<fbp::ModePart>> modes;
  for (const PartialMode& m : partial.modes) {
    std::vector<fbp::Count128> serie;
    for (Count c : m.serie) serie.push_back(ToWire(c));
    std::vector<flatbuffers::Offset<fbp::BucketPortSet>> bucket_ports;
    for (const auto& [bucket, ports] : m.bucket_ports) {
      bucket_ports.push_back(fbp::CreateBucketPortSet(b, bucket, b.CreateVector(ports)));
    }
    std::vector<fbp::PairSum> pairs;
    for (const auto& p : m.pairs) pairs.emplace_back(ref(p.source_id), ref(p.destination_id), ToWire(p.sum));
    std::vector<fbp::PortSum> port_sums;
    for (const auto& [port, sum] : m.port_sums) port_sums.emplace_back(port, ToWire(sum));
    std::vector<uint32_t> sources, destinations;
    for (const auto& id : m.source_ids) sources.push_back(ref(id));
    for (const auto& id : m.destination_ids) destinations.push_back(ref(id));
    modes.push_back(fbp::CreateModePart(b, m.mode == Mode::kAccepted ? 0 : 1, b.CreateVectorOfStructs(serie),
                                        b.CreateVector(bucket_ports), b.CreateVectorOfStructs(pairs),
                                        b.CreateVectorOfStructs(port_sums), b.CreateVector(sources),
                                        b.CreateVector(destinations)));
  }
  const Query& q = partial.query;
  auto string_list = [&](const std::vector<std::string>& list) { return b.CreateVectorOfStrings(list); };
  auto spec = fbp::CreateQuerySpec(
      b, b.CreateString(q.namespace_), q.recursive, partial.window.start_ms, partial.window.end_ms,
      q.average_interval_ms, static_cast<uint8_t>(q.metric), static_cast<uint8_t>(q.type),
      static_cast<uint8_t>(q.action), static_cast<uint8_t>(q.flow_mode), string_list(q.source_tags),
      string_list(q.destination_tags), string_list(q.source_ids), string_list(q.destination_ids),
      b.CreateString(q.user_identifier), q.limit.has_value(), q.limit.value_or(0));
  std::vector<flatbuffers::Offset<flatbuffers::String>> string_offsets;
  for (std::string_view s : strings) string_offsets.push_back(b.CreateString(s.data(), s.size()));
  auto modes_vector = b.CreateVector(modes);
  auto strings_vector = b.CreateVector(string_offsets);
  b.Finish(fbp::CreatePartial(b, kPartialVersion, spec, modes_vector, strings_vector), fbp::PartialIdentifier());
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

Result<Partial> DecodePartial(std::string_view bytes) {
  if (bytes.size() < 8 || !flatbuffers::BufferHasIdentifier(bytes.data(), fbp::PartialIdentifier())) {
    return Status::Incompatible("not a flowstat partial (no FSPT identifier)");
  }
  std::vector<uint64_t> scratch;
  const auto* data = schema::AlignedBytes(bytes, &scratch);
  flatbuffers::Verifier verifier(data, bytes.size());
  if (!fbp::VerifyPartialBuffer(verifier)) return Status::Corruption("damaged partial: its structure does not verify");
  const fbp::Partial* root = fbp::GetPartial(data);
  if (!schema::EachElementsAligned(root->modes(), &fbp::ModePart::serie) ||
      !schema::EachElementsAligned(root->modes(), &fbp::ModePart::pairs) ||
      !schema::EachElementsAligned(root->modes(), &fbp::ModePart::port_sums)) {
    return Status::Corruption("damaged partial: a list off its alignment");
  }
  if (root->version() != kPartialVersion) {
    return Status::Incompatible("partial of format version " + std::to_string(root->version()) + ", this build reads " +
                                std::to_string(kPartialVersion));
  }
  const auto* spec = root->query();
  if (!spec || !spec->namespace_()) return Status::Corruption("damaged partial: no query");
  const auto* strings = root->strings();
  const uint32_t string_count = strings ? strings->size() : 0;
  Status bad;
  auto str = [&](uint32_t i) -> std::string {
    if (i >= string_count) {
      bad = Status::Corruption("damaged partial: a string index out of range");
      return {};
    }
    return strings->Get(i)->str();
  };
  auto list = [](const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v) {
    std::vector<std::string> out;
    if (v) {
      for (const auto* s : *v) out.push_back(s->str());
    }
    return out;
  };
  Partial p;
  Query& q = p.query;
  q.namespace_ = spec->namespace_()->str();
  q.recursive = spec->recursive();
  q.start_absolute = spec->start_ms();
  q.end_absolute = spec->end_ms();
  q.average_interval_ms = spec->interval_ms();
  if (spec->metric() > 1 || spec->type() > 1 || spec->action() > 2 || spec->flow_mode() > 2) {
    return Status::Corruption("damaged partial: an unknown query choice");
  }
  q.metric = static_cast<Metric>(spec->metric());
  q.type = static_cast<StatisticType>(spec->type());
  q.action = static_cast<ActionFilter>(spec->action());
  q.flow_mode = static_cast<FlowMode>(spec->flow_mode());
  q.source_tags = list(spec->source_tags());
  q.destination_tags = list(spec->destination_tags());
  q.source_ids = list(spec->source_ids());
  q.destination_ids = list(spec->destination_ids());
  if (spec->user_identifier()) q.user_identifier = spec->user_identifier()->str();
  if (spec->has_limit()) q.limit = spec->limit();
  if (Status s = ValidateQuery(&q); !s.ok()) return Status::Corruption("damaged partial: its query: " + s.message());
  p.window = {spec->start_ms(), spec->end_ms()};
  if (p.window.end_ms <= p.window.start_ms) return Status::Corruption("damaged partial: an empty window");
  const uint64_t buckets = query::BucketGrid(q, p.window).second;  // a plain name: lambdas below use it
  if (q.type == StatisticType::kSerie && buckets > query::kMaxBuckets) {
    return Status::Corruption("damaged partial: more buckets than a Serie may hold");
  }
  if (root->modes()) {
    for (const fbp::ModePart* m : *root->modes()) {
      PartialMode mode;
      if (m->mode() > 1) return Status::Corruption("damaged partial: an unknown mode");
      mode.mode = m->mode() == 0 ? Mode::kAccepted : Mode::kRejected;
      if (m->serie()) {
        if (m->serie()->size() > buckets) return Status::Corruption("damaged partial: more buckets than its window");
        for (const auto* c : *m->serie()) mode.serie.push_back(FromWire(*c));
      }
      if (m->bucket_ports()) {
        for (const auto* set : *m->bucket_ports()) {
          std::vector<uint16_t> ports;
          if (set->ports()) ports.assign(set->ports()->begin(), set->ports()->end());
          mode.bucket_ports.emplace_back(set->bucket(), std::move(ports));
        }
      }
      if (m->pairs()) {
        for (const auto* s : *m->pairs())
          mode.pairs.push_back({str(s->source()), str(s->destination()), FromWire(s->sum())});
      }
      if (m->port_sums()) {
        for (const auto* s : *m->port_sums()) mode.port_sums.emplace_back(s->port(), FromWire(s->sum()));
      }
      if (m->source_ids()) {
        for (uint32_t i : *m->source_ids()) mode.source_ids.push_back(str(i));
      }
      if (m->destination_ids()) {
        for (uint32_t i : *m->destination_ids()) mode.destination_ids.push_back(str(i));
      }
      if (!bad.ok()) return bad;
      // The merge relies on every list being sorted with each key once.
      auto strictly_sorted = [](const auto& v, auto key) {
        for (size_t i = 1; i < v.size(); ++i) {
          if (!(key(v[i - 1]) < key(v[i]))) return false;
        }
        return true;
      };
      const bool sorted =
          strictly_sorted(mode.bucket_ports, [](const auto& e) { return e.first; }) &&
          strictly_sorted(mode.pairs, [](const auto& e) { return std::tie(e.source_id, e.destination_id); }) &&
          strictly_sorted(mode.port_sums, [](const auto& e) { return e.first; }) &&
          strictly_sorted(mode.source_ids, [](const auto& e) { return e; }) &&
          strictly_sorted(mode.destination_ids, [](const auto& e) { return e; }) &&
          std::all_of(mode.bucket_ports.begin(), mode.bucket_ports.end(), [&](const auto& e) {
            return e.first < buckets && std::is_sorted(e.second.begin(), e.second.end()) &&
                   std::adjacent_find(e.second.begin(), e.second.end()) == e.second.end();
          });
      if (!sorted) return Status::Corruption("damaged partial: a list out of order or with a key twice");
      p.modes.push_back(std::move(mode));
    }
  }
  return p;
}

}  // namespace flowstat
