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
  };
  for (const auto& [line, want] : bad) {
    auto r = d.Parse(line, &e, &reason);
    INFO(line);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find(want) != std::string::npos);
  }
  // Runs of spaces separate fields like one space does.
  auto r = d.Parse("2  1   eni-1 10.0.0.1 10.0.0.2 1 22 6 1 1 1418530010 1418530070   ACCEPT OK", &e, &reason);
  REQUIRE(r.ok());
  CHECK(e.destination_port == 22);
}

}  // namespace flowstat::testing
