// A Kafka cluster for tests: librdkafka's built-in mock cluster, which speaks the Kafka protocol
// on loopback ports. Creates TOPIC with PARTITIONS partitions on 3 brokers, prints the bootstrap
// servers on one line, and serves until its standard input closes.
//
// Usage: flowstat_kafka_mock TOPIC PARTITIONS
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdio>
#include <cstdlib>

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
  while (std::getchar() != EOF) {
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
