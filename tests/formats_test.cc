// Flow logs of other systems (doc/formats.md) on records from their own documentation
// (tests/data/formats/*/README.md names each source): every mapped field checked by hand.
#include <catch2/catch.hpp>

#include <fstream>

#include "flowstat/formats.h"

namespace flowstat::testing {
namespace {

std::vector<std::string> Lines(const std::string& name) {
  std::ifstream in(std::string(FLOWSTAT_SOURCE_DIR) + "/tests/data/formats/" + name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  REQUIRE(!lines.empty());
  return lines;
}

FlowEvent ParseOk(const VpcFlowLogParser& p, const std::string& line) {
  FlowEvent e;
  std::string reason;
  auto outcome = p.Parse(line, &e, &reason);
  INFO(line);
  REQUIRE(outcome.ok());
  REQUIRE(*outcome == VpcFlowLogParser::Outcome::kEvent);
  return e;
}

// Every line of a sample through a parser made by NewFlowLogParser.
struct ParsedLine {
  Status status;
  FlowLogParser::Outcome outcome = FlowLogParser::Outcome::kSkipped;
  FlowEvent event;
  std::string skip_reason;
};

std::vector<ParsedLine> ParseFile(const std::string& format, const std::string& name, const std::string& prefix = "",
                                  const std::string& zone = "UTC") {
  auto parser = NewFlowLogParser(format, prefix, zone);
  REQUIRE(parser.ok());
  std::vector<ParsedLine> out;
  for (const std::string& line : Lines(name)) {
    ParsedLine p;
    auto r = (*parser)->ParseLine(line, &p.event, &p.skip_reason);
    p.status = r.status();
    if (r.ok()) p.outcome = *r;
    out.push_back(std::move(p));
  }
  return out;
}

const FlowEvent& EventOf(const ParsedLine& p) {
  INFO(p.status.message());
  REQUIRE(p.status.ok());
  REQUIRE(p.outcome == FlowLogParser::Outcome::kEvent);
  return p.event;
}

std::string SkipOf(const ParsedLine& p) {
  INFO(p.status.message());
  REQUIRE(p.status.ok());
  REQUIRE(p.outcome == FlowLogParser::Outcome::kSkipped);
  return p.skip_reason;
}

using Tags = std::vector<std::string>;

}  // namespace

TEST_CASE("VPC Flow Logs: the default records of the AWS documentation", "[formats]") {
  const auto lines = Lines("vpc/aws-docs-default.log");
  VpcFlowLogParser p;
  CHECK_FALSE(VpcFlowLogParser::IsHeader(lines[0]));
  FlowEvent ssh = ParseOk(p, lines[0]);
  CHECK(ssh.timestamp_ms == 1418530010000);  // start, seconds
  CHECK(ssh.namespace_ == "/aws/123456789010");
  CHECK(ssh.source_id == "172.31.16.139");
  CHECK(ssh.source_ip == "172.31.16.139");
  CHECK(ssh.destination_id == "172.31.16.21");
  CHECK(ssh.destination_ip == "172.31.16.21");
  CHECK(ssh.destination_port == 22);
  CHECK(ssh.protocol == 6);
  CHECK(ssh.action == Action::kAccept);
  CHECK(ssh.value == 1);
  CHECK(ssh.source_tags.empty());
  CHECK(ssh.destination_tags ==
        std::vector<std::string>{"interface-id=eni-1235b8ca123456789"});  // no direction: ingress
  FlowEvent rdp = ParseOk(p, lines[1]);
  CHECK(rdp.action == Action::kReject);
  CHECK(rdp.destination_port == 3389);
  for (int i : {2, 3}) {
    FlowEvent e;
    std::string reason;
    auto outcome = p.Parse(lines[i], &e, &reason);
    REQUIRE(outcome.ok());
    CHECK(*outcome == VpcFlowLogParser::Outcome::kSkipped);
    CHECK(reason == (i == 2 ? "NODATA" : "SKIPDATA"));
  }
}

TEST_CASE("VPC Flow Logs: an S3 file with its header line", "[formats]") {
  const auto lines = Lines("vpc/s3-delivery-with-header.log");
  VpcFlowLogParser p("/cloud");
  REQUIRE(VpcFlowLogParser::IsHeader(lines[0]));
  REQUIRE(p.SetHeader(lines[0]).ok());
  FlowEvent e = ParseOk(p, lines[1]);
  CHECK(e.namespace_ == "/cloud/AWS_ACCOUNT_ID");
  CHECK(e.source_id == "10.0.134.187");
  CHECK(e.destination_id == "10.0.14.231");
  CHECK(e.destination_port == 31566);
  CHECK(e.timestamp_ms == 1617604407000);
}

TEST_CASE("VPC Flow Logs: a custom format maps packet addresses, direction and services", "[formats]") {
  const auto lines = Lines("vpc/handwritten-custom-format.log");
  VpcFlowLogParser p;
  REQUIRE(p.SetHeader(lines[0]).ok());
  FlowEvent egress = ParseOk(p, lines[1]);
  CHECK(egress.namespace_ == "/aws/111122223333/vpc-0a1b2c3d");
  CHECK(egress.source_tags == std::vector<std::string>{"interface-id=eni-0a1b2c3d", "instance-id=i-0a1b2c3d",
                                                       "subnet-id=subnet-0a1b2c3d", "vpc-id=vpc-0a1b2c3d"});
  CHECK(egress.destination_tags == std::vector<std::string>{"aws-service=S3"});
  CHECK(egress.destination_port == 443);
  FlowEvent natted = ParseOk(p, lines[2]);
  CHECK(natted.source_id == "203.0.113.7");  // pkt-srcaddr before srcaddr
  CHECK(natted.destination_id == "10.0.1.5");
  CHECK(natted.action == Action::kReject);
  CHECK(natted.destination_tags.size() == 4);  // ingress: the interface is the destination
  FlowEvent icmp6 = ParseOk(p, lines[3]);
  CHECK(icmp6.source_id == "2001:db8::1");
  CHECK(icmp6.protocol == 58);
  CHECK_FALSE(icmp6.destination_port.has_value());  // no port for ICMP
}

TEST_CASE("VPC Flow Logs: bad headers and records are clear errors", "[formats]") {
  VpcFlowLogParser p;
  Status s = p.SetHeader("version account-id srcaddr dstaddr end log-status");
  CHECK(s.message().find("'action'") != std::string::npos);
  s = p.SetHeader("version srcaddr dstaddr action end");
  CHECK(s.message().find("'start'") != std::string::npos);
  CHECK(p.SetHeader("start action srcaddr dstaddr start").message().find("twice") != std::string::npos);
  VpcFlowLogParser d;
  FlowEvent e;
  std::string reason;
  const char* bad[][2] = {
      {"2 1 eni-1 10.0.0.1 10.0.0.2 1 22 6 1 1 1418530010 1418530070 ACCEPT", "expected 14 fields, got 13"},
      {"2 1 eni-1 10.0.0.1 10.0.0.2 1 22 6 1 1 yesterday 1418530070 ACCEPT OK", "start:"},
      {"2 1 eni-1 10.0.0.1 10.0.0.2 1 70000 6 1 1 1418530010 1418530070 ACCEPT OK", "dstport:"},
      {"2 1 eni-1 10.0.0.1 10.0.0.2 1 22 6 1 1 1418530010 1418530070 MAYBE OK", "action:"},
      {"2 1 eni-1 - 10.0.0.2 1 22 6 1 1 1418530010 1418530070 ACCEPT OK", "srcaddr: missing"},
      {"2 1 eni-1 10.0.0.1 10.0.0.2 1 22 300 1 1 1418530010 1418530070 ACCEPT OK", "protocol:"},
      // Text formats carry bytes as they come: a byte that is not UTF-8 would make every JSON
      // answer naming this namespace, tag or ID invalid.
      {"2 1 eni-1 10.0.0.1 10.0.0.2 1 22 6 1 1 1418530010 1418530070 ACCEPT OK", nullptr},
      {"2 12\x96 eni-1 10.0.0.1 10.0.0.2 1 22 6 1 1 1418530010 1418530070 ACCEPT OK", "namespace: invalid UTF-8"},
      {"2 1 eni-\xc3 10.0.0.1 10.0.0.2 1 22 6 1 1 1418530010 1418530070 ACCEPT OK", "destinationTags: invalid UTF-8"},
      {"2 1 eni-1 10.0.0.\xff 10.0.0.2 1 22 6 1 1 1418530010 1418530070 ACCEPT OK", "sourceID: invalid UTF-8"},
  };
  for (const auto& [line, want] : bad) {
    auto r = d.Parse(line, &e, &reason);
    INFO(line);
    if (want == nullptr) {  // the well-formed twin of the lines after it
      CHECK(r.ok());
      continue;
    }
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find(want) != std::string::npos);
  }
  // Runs of spaces separate fields like one space does.
  auto r = d.Parse("2  1   eni-1 10.0.0.1 10.0.0.2 1 22 6 1 1 1418530010 1418530070   ACCEPT OK", &e, &reason);
  REQUIRE(r.ok());
  CHECK(e.destination_port == 22);
}

TEST_CASE("Hubble: the exporter output of Cilium's documentation", "[formats]") {
  const auto lines = ParseFile("hubble", "hubble/cilium-docs-exporter.jsonl");
  REQUIRE(lines.size() == 2);
  CHECK(SkipOf(lines[0]) == "DROPPED INVALID_SOURCE_IP");  // not a policy's decision
  const FlowEvent& e = EventOf(lines[1]);
  CHECK(e.timestamp_ms == 1692619938510);  // 2023-08-21T12:12:18.510175415Z, truncated to ms
  CHECK(e.namespace_ == "/k8s/default");   // no direction: the source's namespace
  CHECK(e.source_id == "default/xwing");
  CHECK(e.source_type == EndpointType::kProcessingUnit);
  CHECK(e.destination_id == "default/deathstar-7848d6c4d5-th9v2");
  CHECK(e.destination_type == EndpointType::kProcessingUnit);
  CHECK(e.source_ip == "10.244.1.60");
  CHECK(e.destination_ip == "10.244.1.5");
  CHECK(e.protocol == 6);
  CHECK(e.destination_port == 80);
  CHECK(e.action == Action::kReject);  // DROPPED, POLICY_DENIED
  CHECK_FALSE(e.observed);
  CHECK(e.value == 1);
  CHECK(e.source_tags.empty());
  CHECK(e.destination_tags.empty());
}

TEST_CASE("Hubble: the printer test lines of the Hubble CLI, jsonpb and json", "[formats]") {
  const auto lines = ParseFile("hubble", "hubble/hubble-printer-test.jsonl");
  REQUIRE(lines.size() == 3);
  CHECK(SkipOf(lines[0]) == "DROPPED (no drop_reason_desc)");
  CHECK(SkipOf(lines[1]) == "DROPPED (no drop_reason_desc)");  // a bare -o json Flow reads alike
  CHECK(SkipOf(lines[2]) == "Type L7");
}

TEST_CASE("Hubble: every mapped field, hand-written cases", "[formats]") {
  const auto lines = ParseFile("hubble", "hubble/handwritten.jsonl", "/clusters/eu");
  REQUIRE(lines.size() == 11);
  const FlowEvent& ingress = EventOf(lines[0]);
  CHECK(ingress.timestamp_ms == 1763557200123);          // 9 fractional digits truncated
  CHECK(ingress.namespace_ == "/clusters/eu/payments");  // ingress: the destination is local
  CHECK(ingress.source_id == "shop/frontend-7d9c-abcde");
  CHECK(ingress.destination_id == "payments/api-5f6b-xyz12");
  CHECK(ingress.source_tags == Tags{"app=frontend", "io.kubernetes.pod.namespace=shop"});
  CHECK(ingress.destination_tags == Tags{"app=api", "tier=backend"});
  CHECK(ingress.destination_port == 8080);
  CHECK(ingress.action == Action::kAccept);

  const FlowEvent& world = EventOf(lines[1]);
  CHECK(world.namespace_ == "/clusters/eu/shop");  // egress: the source is local
  CHECK(world.destination_id == "reserved:world");
  CHECK(world.destination_type == EndpointType::kExternalNetwork);
  CHECK(world.destination_tags == Tags{"reserved=world"});
  CHECK(world.protocol == 17);
  CHECK(world.destination_port == 53);

  const FlowEvent& audit = EventOf(lines[2]);
  CHECK(audit.action == Action::kAccept);
  CHECK(audit.observed);
  CHECK(audit.observed_action == ObservedAction::kReject);
  CHECK(audit.timestamp_ms == 1763557202500);
  CHECK(audit.namespace_ == "/clusters/eu/core");
  CHECK(audit.source_id == "reserved:world");                                // the first reserved: label
  CHECK(audit.source_tags == Tags{"cidr=2001:db8::/64", "reserved=world"});  // no '=': the source is the key
  CHECK(audit.source_ip == "2001:db8::1");
  CHECK(audit.protocol == 132);
  CHECK(audit.destination_port == 38412);

  const FlowEvent& auth = EventOf(lines[3]);
  CHECK(auth.action == Action::kReject);  // AUTH_REQUIRED
  CHECK(auth.protocol == 1);
  CHECK_FALSE(auth.destination_port.has_value());  // ICMP has no port
  CHECK(auth.namespace_ == "/clusters/eu/shop");

  CHECK(SkipOf(lines[4]) == "reply");
  CHECK(SkipOf(lines[5]) == "reply");  // the older field name
  CHECK(SkipOf(lines[6]) == "verdict ERROR");
  CHECK(SkipOf(lines[7]) == "no Type and no l4");
  CHECK(SkipOf(lines[8]) == "node_status");

  const FlowEvent& redirected = EventOf(lines[9]);
  CHECK(redirected.action == Action::kAccept);
  CHECK(redirected.namespace_ == "/clusters/eu");  // no Kubernetes namespace anywhere
  CHECK(redirected.source_id == "reserved:host");
  CHECK(redirected.source_tags == Tags{"reserved=host", "reserved=remote-node"});
  CHECK(redirected.destination_id == "identity:6");
  CHECK(redirected.destination_type == EndpointType::kExternalNetwork);

  const FlowEvent& deny = EventOf(lines[10]);
  CHECK(deny.action == Action::kReject);  // POLICY_DENY
  CHECK(deny.protocol == 58);
  CHECK_FALSE(deny.destination_port.has_value());
}

TEST_CASE("Hubble: malformed records are clear errors", "[formats]") {
  auto parser = NewFlowLogParser("hubble", "");
  REQUIRE(parser.ok());
  const char* bad[][2] = {
      {R"({"flow":{"time":"2025-11-19T13:00:00Z","verdict":"FORWARDED","l4":{"TCP":{"destination_port":80}})",
       "not a JSON object"},
      {R"({"flow":"FORWARDED"})", "flow: must be an object"},
      {R"({"flow":{"verdict":"FORWARDED","l4":{"TCP":{}},"source":{"pod_name":"a"},"destination":{"pod_name":"b"}}})",
       "flow.time: missing"},
      {R"({"flow":{"time":"yesterday","verdict":"FORWARDED","l4":{"TCP":{}}}})", "flow.time:"},
      {R"({"flow":{"time":"2025-11-19T13:00:00Z","verdict":7,"l4":{"TCP":{}}}})", "flow.verdict: must be a string"},
      {R"({"flow":{"time":"2025-11-19T13:00:00Z","verdict":"FORWARDED","l4":{"TCP":{"destination_port":70000}}}})",
       "flow.l4.TCP.destination_port"},
      {R"({"time":"2025-11-19T13:00:00Z","verdict":"FORWARDED","l4":{"UDP":{}},"source":{"labels":"app=x"}})",
       "source.labels: must be an array"},
      {R"({"flow":{"time":"2025-11-19T13:00:00Z","verdict":"FORWARDED","is_reply":"no","l4":{"TCP":{}}}})",
       "flow.is_reply: must be true or false"},
  };
  for (const auto& [line, want] : bad) {
    FlowEvent e;
    std::string reason;
    auto r = (*parser)->ParseLine(line, &e, &reason);
    INFO(line);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(r.status().message().find(want) != std::string::npos);
  }
  // Members in another order read the same.
  FlowEvent a, b;
  std::string reason;
  REQUIRE((*parser)
              ->ParseLine(R"({"flow":{"time":"2025-11-19T13:00:00Z","verdict":"FORWARDED","l4":{"TCP":)"
                          R"({"destination_port":80}},"source":{"namespace":"x","pod_name":"p"}}})",
                          &a, &reason)
              .ok());
  REQUIRE((*parser)
              ->ParseLine(R"({"flow":{"source":{"pod_name":"p","namespace":"x"},"l4":{"TCP":)"
                          R"({"destination_port":80}},"verdict":"FORWARDED","time":"2025-11-19T13:00:00Z"}})",
                          &b, &reason)
              .ok());
  CHECK(a == b);
}

TEST_CASE("nfdump: genuine nfdump 1.7.1 CSV of NetFlow v9 and v5 flows", "[formats]") {
  // The flows tests/data/formats/nfdump/README.md says the datagrams described (seed 7).
  struct Sent {
    const char* time;
    const char* source;
    const char* destination;
    int port;  // -1: ICMP, none
    int protocol;
    Action action;
  };
  const Sent sent[] = {
      {"2025-11-19T12:53:25Z", "10.1.1.13", "192.0.2.4", 8080, 6, Action::kReject},    // fwd 191
      {"2025-11-19T12:29:41Z", "10.1.0.17", "192.0.2.14", 22, 17, Action::kReject},    // fwd 130
      {"2025-11-19T12:20:28Z", "10.1.1.3", "192.0.2.36", -1, 1, Action::kAccept},      // fwd 64
      {"2025-11-19T12:44:32Z", "10.1.0.19", "192.0.2.38", 22, 6, Action::kAccept},     // fwd 64
      {"2025-11-19T12:51:45Z", "10.1.1.10", "192.0.2.27", 8080, 17, Action::kReject},  // fwd 129
      {"2025-11-19T12:46:52Z", "10.1.1.4", "192.0.2.38", 5432, 17, Action::kReject},   // fwd 191
      {"2025-11-19T12:25:17Z", "10.1.0.19", "192.0.2.4", 53, 6, Action::kAccept},      // v5: no status
      {"2025-11-19T12:19:03Z", "10.1.3.25", "192.0.2.21", -1, 1, Action::kAccept},     // v5, ICMP
  };
  for (const char* file : {"nfdump/nfdump-1.7.1.csv", "nfdump/nfdump-1.7.1-q.csv"}) {
    const auto lines = ParseFile("nfdump", file);
    const bool headed = std::string(file).find("-q") == std::string::npos;
    INFO(file);
    REQUIRE(lines.size() == std::size(sent) + (headed ? 4 : 0));
    if (headed) CHECK(lines[0].outcome == FlowLogParser::Outcome::kHeader);
    for (size_t i = 0; i < std::size(sent); ++i) {
      const FlowEvent& e = EventOf(lines[i + (headed ? 1 : 0)]);
      INFO(i);
      CHECK(e.timestamp_ms == *ParseTime(sent[i].time));
      CHECK(e.namespace_ == "/netflow/127.0.0.1");  // the exporter, column ra
      CHECK(e.source_id == sent[i].source);
      CHECK(e.source_ip == sent[i].source);
      CHECK(e.destination_id == sent[i].destination);
      CHECK(e.destination_ip == sent[i].destination);
      CHECK(e.protocol == sent[i].protocol);
      if (sent[i].port < 0) {
        CHECK_FALSE(e.destination_port.has_value());
      } else {
        CHECK(e.destination_port == sent[i].port);
      }
      CHECK(e.action == sent[i].action);
      CHECK(e.value == 1);
    }
    if (headed) {
      for (size_t i = std::size(sent) + 1; i < lines.size(); ++i) CHECK(SkipOf(lines[i]) == "summary");
    }
  }
}

TEST_CASE("nfdump: the CSV of 1.7.5 and later, time zones", "[formats]") {
  const auto lines = ParseFile("nfdump", "nfdump/handwritten-1.7.5.csv", "/edge");
  REQUIRE(lines.size() == 5);
  CHECK(lines[0].outcome == FlowLogParser::Outcome::kHeader);
  const FlowEvent& tcp = EventOf(lines[1]);
  CHECK(tcp.timestamp_ms == 1763556805190);  // 2025-11-19 12:53:25.190 UTC
  CHECK(tcp.namespace_ == "/edge");          // no exporter column
  CHECK(tcp.action == Action::kAccept);      // no forwarding status column
  CHECK(tcp.destination_port == 8080);
  const FlowEvent& udp = EventOf(lines[2]);
  CHECK(udp.source_id == "2001:db8::5");
  CHECK(udp.value == 3);  // the flows column
  const FlowEvent& icmp = EventOf(lines[3]);
  CHECK_FALSE(icmp.destination_port.has_value());  // "8.0" is ICMP type.code, not a port
  CHECK(EventOf(lines[4]).protocol == 6);          // a protocol by number
  CHECK(EventOf(lines[4]).value == 2);

  // Local times of a zone: Zurich is UTC+1 in November, UTC+2 in July; the hour that repeats
  // when summer time ends reads as its first instant, one that it skips as the transition.
  const auto zurich = ParseFile("nfdump", "nfdump/handwritten-1.7.5.csv", "", "Europe/Zurich");
  CHECK(EventOf(zurich[1]).timestamp_ms == 1763556805190 - 3600 * 1000);
  auto parser = NewFlowLogParser("nfdump", "", "Europe/Zurich");
  REQUIRE(parser.ok());
  FlowEvent e;
  std::string reason;
  REQUIRE((*parser)
              ->ParseLine("firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows", &e, &reason)
              .ok());
  REQUIRE((*parser)->ParseLine("2025-07-01 12:00:00.000,0,TCP,a,1,b,2,1,1,1", &e, &reason).ok());
  CHECK(e.timestamp_ms == *ParseTime("2025-07-01T10:00:00Z"));
  REQUIRE((*parser)->ParseLine("2025-10-26 02:30:00.000,0,TCP,a,1,b,2,1,1,1", &e, &reason).ok());
  CHECK(e.timestamp_ms == *ParseTime("2025-10-26T00:30:00Z"));
  // The hour summer time skips: no clock showed 02:30, read as the instant the clocks moved.
  REQUIRE((*parser)->ParseLine("2025-03-30 02:30:00.000,0,TCP,a,1,b,2,1,1,1", &e, &reason).ok());
  CHECK(e.timestamp_ms == *ParseTime("2025-03-30T01:00:00Z"));
  CHECK_FALSE(NewFlowLogParser("nfdump", "", "Mars/Olympus_Mons").ok());
}

TEST_CASE("nfdump: bad headers and records are clear errors", "[formats]") {
  auto parser = NewFlowLogParser("nfdump", "");
  REQUIRE(parser.ok());
  FlowEvent e;
  std::string reason;
  auto refused = NewFlowLogParser("nfdump", "");
  REQUIRE(refused.ok());
  auto header = (*refused)->ParseLine("start,end,source,destination", &e, &reason);
  REQUIRE_FALSE(header.ok());
  CHECK(header.status().code() == Status::Code::kIncompatible);  // the import stops at line 1
  CHECK(header.status().message().find("no column ts") != std::string::npos);

  const char* bad[][2] = {
      {"2025-11-19 13:00:00,0.1,TCP,10.0.0.1,1,10.0.0.2,80,1,1", "expected 10 columns, got 9"},
      {"2025-11-19T13:00:00Z,0.1,TCP,10.0.0.1,1,10.0.0.2,80,1,1,1", "ts: must be a time"},
      {"2025-02-30 13:00:00,0.1,TCP,10.0.0.1,1,10.0.0.2,80,1,1,1", "ts: must be a time"},
      {"2025-11-19 13:00:00,0.1,QUIC,10.0.0.1,1,10.0.0.2,80,1,1,1", "pr: unknown protocol"},
      {"2025-11-19 13:00:00,0.1,TCP,10.0.0.1,1,10.0.0.2,http,1,1,1", "dp: must be an integer"},
      {"2025-11-19 13:00:00,0.1,TCP,,1,10.0.0.2,80,1,1,1", "sa: missing"},
      {"2025-11-19 13:00:00,0.1,TCP,10.0.0.1,1,10.0.0.2,80,1,1,0", "value: out of range"},
      {"2025-11-19 13:00:00,0.1,TCP,10.0.0.1,1,10.0.0.2,80,1,1,many", "flows: must be a positive integer"},
      {"2025-11-19 13:00:00,0.1,TCP,10.0.0.1\xe2\x82,1,10.0.0.2,80,1,1,1", "sourceID: invalid UTF-8"},
  };
  REQUIRE((*parser)
              ->ParseLine("firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows", &e, &reason)
              .ok());
  for (const auto& [line, want] : bad) {
    auto r = (*parser)->ParseLine(line, &e, &reason);
    INFO(line);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(r.status().message().find(want) != std::string::npos);
  }
  // Runs of spaces around cells, as nfdump pads some, are not part of them.
  REQUIRE((*parser)->ParseLine("2025-11-19 13:00:00, 0.1, TCP ,  10.0.0.1,1,10.0.0.2, 80 ,1,1,1", &e, &reason).ok());
  CHECK(e.source_id == "10.0.0.1");
  CHECK(e.destination_port == 80);
}

TEST_CASE("the format of an input is recognized from its first line", "[formats]") {
  CHECK(DetectFormat(Lines("hubble/cilium-docs-exporter.jsonl")[0]) == "hubble");
  CHECK(DetectFormat(Lines("hubble/hubble-printer-test.jsonl")[1]) == "hubble");  // bare -o json
  CHECK(DetectFormat(Lines("vpc/aws-docs-default.log")[0]) == "vpc");
  CHECK(DetectFormat(Lines("vpc/s3-delivery-with-header.log")[0]) == "vpc");
  CHECK(DetectFormat(Lines("nfdump/nfdump-1.7.1.csv")[0]) == "nfdump");
  CHECK(DetectFormat(Lines("nfdump/nfdump-1.7.1-q.csv")[0]) == "nfdump");
  CHECK(DetectFormat(Lines("nfdump/handwritten-1.7.5.csv")[0]) == "nfdump");
  CHECK(DetectFormat(R"({"timestamp":1,"namespace":"/a","sourceID":"s","destinationID":"d","action":"Accept"})") ==
        "jsonl");
  CHECK(DetectFormat("timestamp,namespace,sourceID,destinationID,action") == "csv");
}

}  // namespace flowstat::testing
