// A Kafka cluster for tests: librdkafka's built-in mock cluster, which speaks the Kafka protocol
// on loopback ports. Creates TOPIC with PARTITIONS partitions on 3 brokers, prints the bootstrap
// servers on one line, and serves until its standard input closes. Commands, one per line on
// standard input, each answered "ok" once in force:
//   refuse-commits   offset commits fail with "rebalance in progress", as during a rebalance
//   accept-commits   they succeed again
//
// Usage: flowstat_kafka_mock TOPIC PARTITIONS
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr int16_t kOffsetCommitApiKey = 8;  // the Kafka protocol's OffsetCommit request
constexpr size_t kRefusals = 1000000;       // "for ever": until accept-commits clears them

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s TOPIC PARTITIONS\n", argv[0]);
    return 2;
  }
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "%s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, 3);
  if (!cluster || rd_kafka_mock_topic_create(cluster, argv[1], std::atoi(argv[2]), 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "cannot create the mock cluster or its topic\n");
    return 1;
  }
  std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  std::fflush(stdout);
  const std::vector<rd_kafka_resp_err_t> refusals(kRefusals, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS);
  for (std::string command; std::getline(std::cin, command);) {
    if (command == "refuse-commits") {
      rd_kafka_mock_push_request_errors_array(cluster, kOffsetCommitApiKey, refusals.size(), refusals.data());
    } else if (command == "accept-commits") {
      rd_kafka_mock_clear_request_errors(cluster, kOffsetCommitApiKey);
    } else {
      std::fprintf(stderr, "unknown command: %s\n", command.c_str());
      continue;
    }
    std::printf("ok\n");
    std::fflush(stdout);
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
