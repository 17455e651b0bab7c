#include "tools/generate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "flowstat/event.h"

namespace flowstat::tools {
namespace {

struct App {
  const char* name;
  const char* tier;
  std::vector<uint16_t> ports;
};

const std::vector<App> kApps = {
    {"frontend", "frontend", {443, 80}},
    {"web", "frontend", {443, 8443}},
    {"api", "backend", {8080, 443}},
    {"auth", "backend", {8443}},
    {"payments", "backend", {8080}},
    {"orders", "backend", {8080}},
    {"search", "backend", {9200}},
    {"postgres", "db", {5432}},
    {"mysql", "db", {3306}},
    {"redis", "cache", {6379}},
    {"memcached", "cache", {11211}},
    {"kafka", "queue", {9092}},
    {"dns", "infra", {53}},
    {"ntp", "infra", {123}},
    {"prometheus", "infra", {9090}},
};
const std::map<std::string, std::vector<std::string>> kCalls = {
    {"frontend", {"backend", "cache", "infra"}},
    {"backend", {"db", "cache", "queue", "backend", "infra"}},
    {"db", {"infra"}},
    {"cache", {"infra"}},
    {"queue", {"infra"}},
    {"infra", {"infra"}},
};
// Siblings that share a prefix with another namespace (/acme/prod-eu, /acme/prodx) are traps
// for a query on /acme/prod.
const std::vector<std::string> kNamespaces = {
    "/acme/prod/web", "/acme/prod/payments",   "/acme/prod/data", "/acme/prod-eu/web", "/acme/staging/web",
    "/acme/dev",      "/acme/prodx",           "/acme/prod",      "/globex/prod/api",  "/globex/dev",
    "/initech/prod",  "/initech/prod/billing", "/umbrella",       "/ünïcode/名前",
};
struct External {
  const char* name;
  bool scanner;
};
const std::vector<External> kExternals = {
    {"internet", true}, {"corp-vpn", false}, {"partner-a", false}, {"scanner-net", true}, {"saas-s3", false}};

struct Endpoint {
  std::string id, ns, tier, ip;
  std::vector<uint16_t> ports;
  std::vector<std::string> tags;
  bool external = false;
  bool scanner = false;
};

class Generator {
 public:
  explicit Generator(const GenerateOptions& o) : o_(o), rng_(o.seed) { BuildEstate(); }

  FlowEvent Next() {
    FlowEvent e;
    e.timestamp_ms = Time();
    const double kind = Uniform();
    if (kind < 0.06) {
      InboundFromExternal(&e);
    } else if (kind < 0.10) {
      OutboundToExternal(&e);
    } else {
      Internal(&e);
    }
    e.observed = Uniform() < 0.05;
    e.observed_action = !e.observed ? ObservedAction::kNotApplicable
                                    : (Uniform() < 0.3 ? ObservedAction::kReject : ObservedAction::kAccept);
    e.value = Uniform() < 0.7 ? 1 : std::min<uint64_t>(1 + static_cast<uint64_t>(Exponential(0.2)), 500);
    e.protocol = (*e.destination_port == 53 || *e.destination_port == 123) ? 17 : 6;
    e.encrypted = Uniform() < 0.3;
    if (e.action == Action::kReject) e.drop_reason = Uniform() < 0.5 ? "policy" : "syn-ack";
    e.policy_id = e.source_id.substr(0, 12) + e.destination_id.substr(0, 12);
    e.policy_namespace = e.namespace_.substr(0, std::max<size_t>(1, e.namespace_.rfind('/')));
    return e;
  }

 private:
  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  double Exponential(double rate) { return std::exponential_distribution<double>(rate)(rng_); }
  size_t Index(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  std::string Hex(int digits) {
    static const char kHex[] = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < digits; ++i) s += kHex[Index(16)];
    return s;
  }
  std::string Ip(const char* prefix) {
    return std::string(prefix) + std::to_string(Index(256)) + "." + std::to_string(1 + Index(254));
  }

  void BuildEstate() {
    for (uint32_t i = 0; i < o_.pus; ++i) {
      Endpoint p;
      p.id = Hex(24);
      // Popular namespaces hold most PUs (Pareto), the rest spread evenly.
      size_t ns = Uniform() < 0.7 ? std::min<size_t>(static_cast<size_t>(std::pow(1 - Uniform(), -1 / 1.1)) - 1,
                                                     kNamespaces.size() - 1)
                                  : Index(kNamespaces.size());
      p.ns = kNamespaces[ns];
      const App& app = kApps[Index(kApps.size())];
      p.tier = app.tier;
      p.ports = app.ports;
      p.ip = Ip("10.") + "." + std::to_string(Index(256));
      const char* env = p.ns.find("/prod") != std::string::npos     ? "prod"
                        : p.ns.find("staging") != std::string::npos ? "staging"
                                                                    : "dev";
      p.tags = {"$identity=processingunit",
                "$namespace=" + p.ns,
                "$name=" + std::string(app.name) + "-" + std::to_string(i),
                std::string("app=") + app.name,
                std::string("tier=") + app.tier,
                std::string("env=") + env,
                "version=v" + std::to_string(1 + Index(4)),
                std::string("team=") + (const char*[]){"red", "blue", "green", "core"}[Index(4)]};
      if (Uniform() < 0.3) p.tags.push_back("pci=true");
      if (Uniform() < 0.05) p.tags.push_back("owner=ops=team a/b");  // '=' and spaces inside a value
      by_tier_[p.tier].push_back(pus_.size());
      pus_.push_back(std::move(p));
    }
    for (const External& x : kExternals) {
      Endpoint e;
      e.id = "ext-" + Hex(16);
      e.external = true;
      e.scanner = x.scanner;
      e.tags = {"$identity=externalnetwork", std::string("$name=") + x.name, std::string("ext=") + x.name};
      externals_.push_back(std::move(e));
    }
    double total = 0;
    for (uint32_t i = 0; i < o_.pus; ++i) cumulative_.push_back(total += 1.0 / std::pow(i + 1, 0.9));
  }

  const Endpoint& PopularPu() {
    double r = Uniform() * cumulative_.back();
    size_t i = std::lower_bound(cumulative_.begin(), cumulative_.end(), r) - cumulative_.begin();
    return pus_[std::min(i, pus_.size() - 1)];
  }

  // Diurnal arrival (more traffic in the day), then reporting jitter: events arrive out of order.
  int64_t Time() {
    const double span = o_.days * 86400000.0;
    const double start = static_cast<double>(o_.end_ms) - span;
    double t;
    do {
      t = start + Uniform() * span;
    } while (Uniform() >= 0.55 + 0.45 * std::sin(2 * M_PI * (std::fmod(t, 86400000.0) / 86400000.0 - 0.25)));
    t += std::normal_distribution<double>(0, 20000)(rng_);
    return std::clamp<int64_t>(static_cast<int64_t>(t), static_cast<int64_t>(start), o_.end_ms - 1);
  }

  static void SetEnds(FlowEvent* e, const Endpoint& src, const Endpoint& dst) {
    e->source_id = src.id;
    e->destination_id = dst.id;
    e->source_tags = src.tags;
    e->destination_tags = dst.tags;
    e->source_type = src.external ? EndpointType::kExternalNetwork : EndpointType::kProcessingUnit;
    e->destination_type = dst.external ? EndpointType::kExternalNetwork : EndpointType::kProcessingUnit;
  }

  void InboundFromExternal(FlowEvent* e) {
    const Endpoint& src = externals_[Index(externals_.size())];
    const Endpoint& dst = PopularPu();
    SetEnds(e, src, dst);
    const bool scan = src.scanner && Uniform() < 0.7;
    e->destination_port = scan ? static_cast<uint16_t>(1 + Index(65535)) : dst.ports[Index(dst.ports.size())];
    e->action = scan || Uniform() < 0.2 ? Action::kReject : Action::kAccept;
    e->namespace_ = dst.ns;
    e->source_ip = Ip("198.51.");
    e->destination_ip = dst.ip;
  }

  void OutboundToExternal(FlowEvent* e) {
    const Endpoint& src = PopularPu();
    const Endpoint& dst = externals_[Index(externals_.size())];
    SetEnds(e, src, dst);
    static const uint16_t kPorts[] = {443, 443, 443, 80, 53, 123};
    e->destination_port = kPorts[Index(6)];
    e->action = Uniform() < 0.05 ? Action::kReject : Action::kAccept;
    e->namespace_ = src.ns;
    e->source_ip = src.ip;
    e->destination_ip = Ip("52.216.");
  }

  void Internal(FlowEvent* e) {
    const Endpoint& src = PopularPu();
    const auto& tiers = kCalls.at(src.tier);
    const auto& candidates = by_tier_[tiers[Index(tiers.size())]];
    const Endpoint& dst =
        candidates.empty()
            ? PopularPu()
            : pus_[candidates[static_cast<size_t>(std::pow(1 - Uniform(), -1 / 1.3)) % candidates.size()]];
    SetEnds(e, src, dst);
    e->destination_port = dst.ports[Index(dst.ports.size())];
    e->action = Uniform() < 0.04 ? Action::kReject : Action::kAccept;
    e->namespace_ = Uniform() < 0.5 ? dst.ns : src.ns;
    e->source_ip = src.ip;
    e->destination_ip = dst.ip;
  }

  const GenerateOptions& o_;
  std::mt19937_64 rng_;
  std::vector<Endpoint> pus_, externals_;
  std::map<std::string, std::vector<size_t>> by_tier_;
  std::vector<double> cumulative_;
};

// Every 20th event carries an RFC 3339 timestamp instead of epoch ms, as some reporters do.
std::string Rfc3339Line(std::string line, int64_t ms) {
  std::string t = FormatTimeSeconds(ms);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms % 1000));
  t.insert(t.size() - 1, frac);
  const std::string prefix = "{\"timestamp\":" + std::to_string(ms);
  return "{\"timestamp\":\"" + t + "\"" + line.substr(prefix.size());
}

}  // namespace

void Generate(const GenerateOptions& options, std::FILE* out) {
  Generator gen(options);
  std::mt19937_64 dup_rng(options.seed ^ 0x9e3779b97f4a7c15ull);
  std::string previous;
  for (uint64_t i = 0; i < options.events; ++i) {
    // About 1% of reports are retried: the same event again (doc/input.md, identity stores it once).
    std::string line;
    if (!previous.empty() && dup_rng() % 100 == 0) {
      line = previous;
    } else {
      FlowEvent e = gen.Next();
      line = FormatEventJson(e);
      if (i % 20 == 19) line = Rfc3339Line(line, e.timestamp_ms);
    }
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), out);
    line.pop_back();
    previous = std::move(line);
  }
}

}  // namespace flowstat::tools
