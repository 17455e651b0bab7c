// `nfdump -o csv` read as flow events; the mapping is in doc/formats.md.
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "schema/event_fields.h"
#include "schema/flow_logs.h"
#include "util/text.h"

namespace flowstat::schema {
namespace {

// The columns of `nfdump -o csv` up to 1.7.4, also assumed for `-q` output, which has no header.
constexpr std::string_view kClassicHeader =
    "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,"
    "ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr";

// nfdump's protocol names (its table of IANA keywords, upper case).
struct ProtocolName {
  std::string_view name;
  uint8_t number;
};
constexpr std::array<ProtocolName, 14> kProtocolNames = {{
    {"ICMP", 1},
    {"IGMP", 2},
    {"IPIP", 4},
    {"TCP", 6},
    {"EGP", 8},
    {"UDP", 17},
    {"IPv6", 41},
    {"RSVP", 46},
    {"GRE", 47},
    {"ESP", 50},
    {"AH", 51},
    {"ICMP6", 58},
    {"OSPF", 89},
    {"SCTP", 132},
}};

std::vector<std::string_view> SplitCells(std::string_view line) {
  std::vector<std::string_view> cells;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    cells.push_back(
        util::TrimBlanks(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) return cells;
    start = comma + 1;
  }
}

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  const auto value = util::ParseInteger<T>(text);
  if (value) *out = *value;
  return value.has_value();
}

class NfdumpCsvParser : public FlowLogParser {
 public:
  NfdumpCsvParser(std::string prefix, const date::time_zone* zone) : prefix_(std::move(prefix)), zone_(zone) {}

  Result<Outcome> ParseLine(std::string_view line, FlowEvent* event, std::string* skip_reason) override {
    const bool first = first_line_;
    first_line_ = false;
    if (in_summary_ || util::TrimBlanks(line) == "Summary") {
      // The block nfdump appends after the records: "Summary", its header, its figures.
      in_summary_ = true;
      *skip_reason = "summary";
      return Outcome::kSkipped;
    }
    if (first) {
      const bool named = !line.empty() && ((line[0] >= 'a' && line[0] <= 'z') || (line[0] >= 'A' && line[0] <= 'Z'));
      if (Status s = SetColumns(named ? line : kClassicHeader); !s.ok()) return Status::Incompatible(s.message());
      if (named) return Outcome::kHeader;
    }
    return Parse(line, event);
  }

 private:
  Status SetColumns(std::string_view header) {
    const std::vector<std::string_view> names = SplitCells(header);
    column_count_ = names.size();
    auto find = [&](std::initializer_list<std::string_view> candidates) {
      for (size_t i = 0; i < names.size(); ++i) {
        for (std::string_view c : candidates) {
          if (names[i] == c) return static_cast<int>(i);
        }
      }
      return -1;
    };
    first_seen_ = find({"ts", "firstSeen"});
    source_ = find({"sa", "srcAddr"});
    destination_ = find({"da", "dstAddr"});
    port_ = find({"dp", "dstPort"});
    protocol_ = find({"pr", "proto"});
    forwarding_ = find({"fwd", "fwdStatus"});
    exporter_ = find({"ra", "router"});
    flows_ = find({"fl", "flows"});
    for (auto [column, name] : {std::pair{first_seen_, "ts (or firstSeen)"}, std::pair{source_, "sa (or srcAddr)"},
                                std::pair{destination_, "da (or dstAddr)"}}) {
      if (column < 0) return Status::InvalidArgument(std::string("header: no column ") + name + " (not nfdump CSV?)");
    }
    return Status::Ok();
  }

  Result<Outcome> Parse(std::string_view line, FlowEvent* event) const {
    const std::vector<std::string_view> cells = SplitCells(line);
    if (cells.size() != column_count_) {
      return Status::InvalidArgument("expected " + std::to_string(column_count_) + " columns, got " +
                                     std::to_string(cells.size()));
    }
    auto cell = [&](int column) { return column < 0 ? std::string_view() : cells[static_cast<size_t>(column)]; };
    *event = FlowEvent();
    if (Status s = ParseLocalTime(cell(first_seen_), &event->timestamp_ms); !s.ok()) return s;
    event->action = Action::kAccept;
    if (forwarding_ >= 0) {
      unsigned status = 0;
      if (!ParseNumber(cell(forwarding_), &status) || status > 255) {
        return FieldError(
            "fwd", "must be an integer from 0 to 255, got '" + std::string(cell(forwarding_).substr(0, 32)) + "'");
      }
      // RFC 7270 forwarding status: 0b10xxxxxx is "dropped".
      if (status >= 128 && status <= 191) event->action = Action::kReject;
    }
    if (protocol_ >= 0) {
      uint8_t protocol = 0;
      if (Status s = ParseProtocol(cell(protocol_), &protocol); !s.ok()) return s;
      event->protocol = protocol;
    }
    const bool icmp = event->protocol == 1 || event->protocol == 58;
    if (port_ >= 0 && !icmp) {
      uint16_t port = 0;
      if (!ParseNumber(cell(port_), &port)) {
        return FieldError("dp",
                          "must be an integer from 0 to 65535, got '" + std::string(cell(port_).substr(0, 32)) + "'");
      }
      event->destination_port = port;
    }
    event->value = 1;
    if (flows_ >= 0 && !ParseNumber(cell(flows_), &event->value)) {
      return FieldError("flows", "must be a positive integer, got '" + std::string(cell(flows_).substr(0, 32)) + "'");
    }
    if (cell(source_).empty()) return FieldError("sa", "missing");
    if (cell(destination_).empty()) return FieldError("da", "missing");
    event->source_id = std::string(cell(source_));
    event->destination_id = std::string(cell(destination_));
    event->source_ip = event->source_id;
    event->destination_ip = event->destination_id;
    event->source_type = EndpointType::kExternalNetwork;
    event->destination_type = EndpointType::kExternalNetwork;
    event->namespace_ = prefix_;
    if (!cell(exporter_).empty()) {
      if (event->namespace_ != "/") event->namespace_ += '/';
      event->namespace_ += cell(exporter_);
    }
    if (Status s = ValidateEvent(event); !s.ok()) return s;
    return Outcome::kEvent;
  }

  // "YYYY-MM-DD HH:MM:SS" with an optional ".fff", a local time of `zone_`. In the hour a
  // daylight-saving change repeats, the earlier instant.
  Status ParseLocalTime(std::string_view text, int64_t* ms) const {
    auto bad = [&] {
      return FieldError("ts",
                        "must be a time 'YYYY-MM-DD HH:MM:SS[.fff]', got '" + std::string(text.substr(0, 32)) + "'");
    };
    int year = 0;
    unsigned month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
    if (text.size() != 19 && !(text.size() == 23 && text[19] == '.')) return bad();
    if (text[4] != '-' || text[7] != '-' || text[10] != ' ' || text[13] != ':' || text[16] != ':') return bad();
    if (!ParseNumber(text.substr(0, 4), &year) || !ParseNumber(text.substr(5, 2), &month) ||
        !ParseNumber(text.substr(8, 2), &day) || !ParseNumber(text.substr(11, 2), &hour) ||
        !ParseNumber(text.substr(14, 2), &minute) || !ParseNumber(text.substr(17, 2), &second)) {
      return bad();
    }
    if (text.size() == 23 && !ParseNumber(text.substr(20, 3), &millis)) return bad();
    const date::year_month_day ymd{date::year{year}, date::month{month}, date::day{day}};
    if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) return bad();
    const auto local = date::local_days{ymd} + std::chrono::hours(hour) + std::chrono::minutes(minute) +
                       std::chrono::seconds(second) + std::chrono::milliseconds(millis);
    const auto utc = zone_->to_sys(local, date::choose::earliest);
    *ms = std::chrono::duration_cast<std::chrono::milliseconds>(utc.time_since_epoch()).count();
    if (*ms < 0 || *ms > kMaxTimestampMs) return FieldError("ts", "out of range");
    return Status::Ok();
  }

  static Status ParseProtocol(std::string_view text, uint8_t* out) {
    unsigned number = 0;
    if (ParseNumber(text, &number)) {
      if (number > 255) return FieldError("pr", "protocol number above 255");
      *out = static_cast<uint8_t>(number);
      return Status::Ok();
    }
    for (const ProtocolName& p : kProtocolNames) {
      if (util::EqualsIgnoreCase(p.name, text)) {
        *out = p.number;
        return Status::Ok();
      }
    }
    return FieldError("pr", "unknown protocol '" + std::string(text.substr(0, 32)) + "'");
  }

  std::string prefix_;
  const date::time_zone* zone_;
  bool first_line_ = true;
  bool in_summary_ = false;
  size_t column_count_ = 0;
  int first_seen_ = -1, source_ = -1, destination_ = -1, port_ = -1, protocol_ = -1, forwarding_ = -1, exporter_ = -1,
      flows_ = -1;
};

}  // namespace

std::unique_ptr<FlowLogParser> NewNfdumpCsvParser(std::string namespace_prefix, const date::time_zone* zone) {
  return std::make_unique<NfdumpCsvParser>(std::move(namespace_prefix), zone);
}

}  // namespace flowstat::schema
