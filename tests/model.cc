#include "tests/model.h"

#include <algorithm>
#include <map>
#include <set>

namespace flowstat::testing {
namespace {

bool Under(const std::string& ns, const std::string& root, bool recursive) {
  if (ns == root) return true;
  if (!recursive) return false;
  std::string prefix = root == "/" ? "/" : root + "/";
  return ns.rfind(prefix, 0) == 0;
}

bool Carries(const std::vector<std::string>& tags, const std::vector<std::string>& wanted) {
  for (const auto& w : wanted) {
    if (std::find(tags.begin(), tags.end(), w) == tags.end()) return false;
  }
  return true;
}

bool Listed(const std::vector<std::string>& list, const std::string& id) {
  return list.empty() || std::find(list.begin(), list.end(), id) != list.end();
}

int64_t FloorTo(int64_t t, int64_t step) {
  int64_t q = t / step;
  if (t % step != 0 && t < 0) --q;
  return q * step;
}

}  // namespace

void Model::Add(const FlowEvent& e) {
  std::string key = FormatEventJson(e);
  auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
  if (it != keys_.end() && *it == key) return;
  keys_.insert(it, key);
  events_.push_back(e);
}

std::vector<FlowStatistic> Model::Answer(const Query& q) const {
  const Window w = *ResolveWindow(q);
  std::vector<FlowStatistic> out;
  for (Mode mode : {Mode::kAccepted, Mode::kRejected}) {
    if (q.action == ActionFilter::kAccept && mode != Mode::kAccepted) continue;
    if (q.action == ActionFilter::kReject && mode != Mode::kRejected) continue;
    const Action wanted = mode == Mode::kAccepted ? Action::kAccept : Action::kReject;
    const ObservedAction wanted_observed = mode == Mode::kAccepted ? ObservedAction::kAccept : ObservedAction::kReject;
    std::map<int64_t, Count> serie;
    std::map<int64_t, std::set<uint32_t>> serie_ports;
    std::map<std::pair<std::string, std::string>, Count> pairs;
    std::map<uint32_t, Count> ports;
    std::set<std::string> sources, destinations;
    for (const FlowEvent& e : events_) {
      if (e.timestamp_ms < w.start_ms || e.timestamp_ms >= w.end_ms) continue;
      if (!Under(e.namespace_, q.namespace_, q.recursive)) continue;
      if (!Carries(e.source_tags, q.source_tags) || !Carries(e.destination_tags, q.destination_tags)) continue;
      if (!Listed(q.source_ids, e.source_id) || !Listed(q.destination_ids, e.destination_id)) continue;
      if (q.metric == Metric::kPorts && !e.destination_port) continue;
      int times = 0;
      if (q.flow_mode != FlowMode::kObserved && e.action == wanted) ++times;
      if (q.flow_mode != FlowMode::kApplied && e.observed && e.observed_action == wanted_observed) ++times;
      if (times == 0) continue;
      sources.insert(e.source_id);
      destinations.insert(e.destination_id);
      const Count v = static_cast<Count>(e.value) * times;
      const int64_t bucket = FloorTo(e.timestamp_ms, q.average_interval_ms);
      if (q.type == StatisticType::kSerie) {
        serie[bucket] += v;
        if (e.destination_port) serie_ports[bucket].insert(*e.destination_port);
      } else if (q.metric == Metric::kFlows) {
        pairs[{e.source_id, e.destination_id}] += v;
      } else {
        ports[*e.destination_port] += v;
      }
    }
    FlowStatistic s;
    s.type = q.type;
    s.metric = q.metric;
    s.mode = mode;
    if (q.type == StatisticType::kSerie) {
      for (int64_t b = FloorTo(w.start_ms, q.average_interval_ms); b < w.end_ms; b += q.average_interval_ms) {
        DataPoint p;
        p.timestamp_ms = b;
        p.value = q.metric == Metric::kFlows ? serie[b] : serie_ports[b].size();
        s.data_points.push_back(p);
      }
    } else {
      for (const auto& [key, v] : pairs) {
        DataPoint p;
        p.source_id = key.first;
        p.destination_id = key.second;
        p.value = v;
        s.data_points.push_back(p);
      }
      for (const auto& [port, v] : ports) {
        DataPoint p;
        p.port = port;
        p.value = v;
        s.data_points.push_back(p);
      }
      // Maps iterate in key order, so a stable sort by value alone gives the ties by key.
      std::stable_sort(s.data_points.begin(), s.data_points.end(),
                       [](const DataPoint& a, const DataPoint& b) { return a.value > b.value; });
      if (q.limit && s.data_points.size() > *q.limit) s.data_points.resize(*q.limit);
    }
    s.source_ids.assign(sources.begin(), sources.end());
    s.destination_ids.assign(destinations.begin(), destinations.end());
    s.source_tags = q.source_tags;
    s.destination_tags = q.destination_tags;
    s.user_identifier = q.user_identifier;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace flowstat::testing
