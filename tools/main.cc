// flowstat: the command-line tool (doc/cli.md), a thin layer over the library.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "flowstat/event.h"
#include "flowstat/formats.h"
#include "flowstat/query.h"
#include "flowstat/version.h"
#include "server/server.h"
#include "tools/cli_checks.h"
#include "tools/consume.h"
#include "tools/generate.h"
#include "tools/import.h"
#include "tools/lifecycle_cmd.h"
#include "tools/query_cmd.h"

namespace {

const std::string kVersionText = std::string("flowstat ") + flowstat::kVersion + " (store format " +
                                 std::to_string(flowstat::kStoreFormatVersion) + ")";

// A duration flag ("30d", "250ms", doc/cli.md) into milliseconds, from `min_ms` to `max_ms`.
void AddDurationOption(CLI::App* cmd, const std::string& name, int64_t* out, int64_t min_ms, int64_t max_ms,
                       const std::string& range, const std::string& help) {
  cmd->add_option_function<std::string>(
      name,
      [=](const std::string& text) {
        auto d = flowstat::ParseDuration(text);
        if (!d.ok() || *d < min_ms || *d > max_ms) throw CLI::ValidationError(name, "a duration " + range);
        *out = *d;
      },
      help);
}

// What a writer keeps of its dictionary (OpenOptions::dictionary_cache_bytes), in MiB.
void AddDictionaryCacheOption(CLI::App* cmd, size_t* mib) {
  cmd->add_option("--dictionary-cache-mb", *mib,
                  "MiB of addresses and details kept to intern them; those forgotten cost a read each [64]")
      ->check(CLI::Range(0, 1 << 20));
}

#ifndef FLOWSTAT_WITH_NETWORK
// `serve` and `consume` run in flowstat-net (tools/CMakeLists.txt says why): this process becomes
// it, with the same arguments, found beside this program (a build tree) or where it is installed.
// Returns only when it cannot.
int RunNetworkCommand(const char* subcommand, char** argv) {
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
  if (ec) {
    std::fprintf(stderr, "flowstat %s: cannot find this program's directory: %s\n", subcommand, ec.message().c_str());
    return 1;
  }
  const std::filesystem::path beside = dir / "flowstat-net";
  const std::filesystem::path installed = (dir / FLOWSTAT_NET_RELATIVE_DIR / "flowstat-net").lexically_normal();
  for (const auto& path : {beside, installed}) {
    if (::access(path.c_str(), X_OK) != 0) continue;
    ::execv(path.c_str(), argv);
    std::fprintf(stderr, "flowstat %s: cannot run %s: %s\n", subcommand, path.c_str(), std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "flowstat %s: its program %s is missing (looked beside flowstat too)\n", subcommand,
               installed.c_str());
  return 1;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  using namespace flowstat::tools;
  CLI::App app{
      "flowstat: an embedded time-series store for network flow events.\n"
      "Import flow events, then ask FlowStatistic questions (time series and distributions)."};
  app.set_version_flag("--version", kVersionText);
  app.require_subcommand(0, 1);

  GenerateOptions gen;
  auto* generate = app.add_subcommand("generate", "write deterministic synthetic flow events as JSON Lines");
  generate->add_option("--events", gen.events, "number of events")->required()->check(WholeNumber(0));
  generate->add_option("--seed", gen.seed, "random seed [1]")->check(WholeNumber(0));
  generate->add_option("--days", gen.days, "days of traffic before --end [7]")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            const double days = std::strtod(text.c_str(), nullptr);
            return days > 0 && days <= 3650000 ? "" : "must be more than 0 days and at most 3650000";
          },
          "in (0 - 3650000]", "Days"));
  generate->add_option_function<std::string>(
      "--end",
      [&gen](const std::string& text) {
        auto t = flowstat::ParseTime(text);
        if (!t.ok()) throw CLI::ValidationError("--end", t.status().message());
        gen.end_ms = *t;
      },
      "end of the generated traffic, RFC 3339 or epoch ms [2025-11-20T00:00:00Z]");
  generate->add_option("--pus", gen.pus, "processing units in the estate [2000]")->check(CLI::Range(1, 10000000));

  ImportOptions imp;
  auto* import = app.add_subcommand(
      "import", "import flow events (JSON Lines, CSV, Cilium Hubble, AWS VPC Flow Logs, nfdump CSV) into a store");
  import->add_option("--db", imp.db, "store directory (created if missing)")->required();
  import
      ->add_option("--format", imp.format,
                   "auto|jsonl|csv|hubble|vpc|nfdump [auto: recognized from each input's first line]")
      ->check(CLI::IsMember({"auto", "jsonl", "csv", "hubble", "vpc", "nfdump"}));
  import->add_option("--namespace-prefix", imp.namespace_prefix,
                     "namespace under which flow logs of other systems go [hubble: /k8s, vpc: /aws, nfdump: /netflow]");
  import
      ->add_option("--timezone", imp.time_zone,
                   "nfdump: the IANA time zone its local times were written in, e.g. Europe/Zurich [UTC]")
      ->check([](const std::string& zone) {
        auto parser = flowstat::NewFlowLogParser("nfdump", "", zone);
  return parser.ok() ? std::string() : parser.status().message();
});
std::string on_error = "abort";
import->add_option("--on-error", on_error, "abort: stop at the first bad line; skip: report it and go on [abort]")
    ->check(CLI::IsMember({"abort", "skip"}));
import->add_option("--rejects", imp.rejects_path, "with --on-error skip, write bad lines verbatim to FILE");
import->add_option("--batch-events", imp.batch_events, "events per atomic write batch [131072]")
    ->check(CLI::Range(1, 10000000));
import->add_flag("!--no-progress", imp.progress, "no progress line, even on a terminal");
AddDictionaryCacheOption(import, &imp.dictionary_cache_mb);
AddDurationOption(import, "--commit-interval", &imp.commit_interval_ms, 1, 3600000, "from 1ms to 1h, e.g. 1s",
                  "commit at least this often while events are pending, so queries see them [1s]");
import->add_flag("--follow", imp.follow,
                 "keep reading FILEs as they grow, across rotation and truncation, like tail -F; resume "
                 "where the last run stopped (SIGINT/SIGTERM end it)");
import->add_option("inputs", imp.inputs, "FILE... or - for standard input")->required();

QueryFlags qf;
auto* query = app.add_subcommand("query", "answer a FlowStatistic query (doc/queries.md)");
AddQueryFlags(query, &qf, true);

QueryFlags df;
ConsumeOptions co;
auto* consume = app.add_subcommand("consume", "read flow events from a Kafka topic into a store, exactly once");
consume->add_option("--db", co.db, "store directory (created if missing)")->required();
consume->add_option("--brokers", co.brokers, "Kafka bootstrap servers, host:port,...")->required();
consume->add_option("--topic", co.topic, "topic to read")->required();
consume->add_option("--group", co.group, "consumer group")->required();
consume->add_option("--instance-id", co.instance_id,
                    "static group membership: a restarted consumer gets its partitions back (recommended)");
consume->add_option("--format", co.format, "auto|jsonl|hubble|vpc|nfdump: what each message line holds [auto]")
    ->check(CLI::IsMember({"auto", "jsonl", "hubble", "vpc", "nfdump"}));
consume->add_option("--namespace-prefix", co.namespace_prefix, "as for import");
consume->add_option("--kafka-option", co.kafka_options,
                    "NAME=VALUE: a librdkafka setting (security.protocol, session.timeout.ms, ...); repeatable");
consume->add_option("--timezone", co.time_zone, "nfdump: the time zone of its local times [UTC]");
AddDictionaryCacheOption(consume, &co.dictionary_cache_mb);
AddDurationOption(consume, "--commit-interval", &co.commit_interval_ms, 1, 3600000, "from 1ms to 1h, e.g. 1s",
                  "commit at least this often [1s]");
AddDurationOption(consume, "--stop-after-idle", &co.stop_after_idle_ms, 1, INT64_MAX, "e.g. 10s",
                  "exit once no message came for D (a backfill) [run until a signal]");
std::vector<std::string> merge_files;
std::string merge_format = "json";
auto* merge = app.add_subcommand("merge", "merge partial answers of several stores (query --partial) into one");
merge->add_option("FILE", merge_files, "partials written by `flowstat query --partial`")->required();
merge->add_option("--format", merge_format, "json|table|csv|svg|chart [json]")
    ->check(CLI::IsMember({"json", "table", "csv", "svg", "chart"}));
auto* dump = app.add_subcommand("dump", "print the matching raw events as JSON Lines, in time order");
AddQueryFlags(dump, &df, false);

std::string compact_db;
auto* compact = app.add_subcommand("compact", "rewrite a store compactly (faster queries, less disk)");
compact->add_option("--db", compact_db, "store directory")->required();

std::string verify_db;
auto* verify = app.add_subcommand("verify", "check checksums, layout, dictionary references and rollups");
verify->add_option("--db", verify_db, "store directory")->required();

std::string life_db, info_format = "table", expire_before, life_namespace = "/", backup_to;
auto* info = app.add_subcommand("info", "what a store holds: events, namespaces, time span, bytes by part");
info->add_option("--db", life_db, "store directory")->required();
info->add_option("--format", info_format, "table|json [table]")->check(CLI::IsMember({"table", "json"}));
auto* expire = app.add_subcommand("expire", "remove the events older than a time (then compact)");
expire->add_option("--db", life_db, "store directory")->required();
expire->add_option("--before", expire_before, "remove events with timestamp < T (RFC 3339 or epoch ms)")->required();
expire->add_option("--namespace", life_namespace, "only this namespace and those below it [/]");
bool keep_rollups = false;
expire->add_flag("--keep-rollups", keep_rollups,
                 "remove the raw events of whole hours only, keeping hour and day rollups (downsampled history)");
auto* del = app.add_subcommand("delete", "remove a namespace and every namespace below it (then compact)");
del->add_option("--db", life_db, "store directory")->required();
del->add_option("--namespace", life_namespace, "the namespace to remove, with everything below it")->required();
auto* backup = app.add_subcommand("backup", "write a consistent copy of a store to a new directory");
backup->add_option("--db", life_db, "store directory")->required();
backup->add_option("--to", backup_to, "the new directory")->required();

flowstat::server::ServeOptions so;
auto* serve = app.add_subcommand("serve", "answer the FlowStatistic HTTP API and take flow reports (doc/http.md)");
serve->add_option("--db", so.db, "store directory (created if missing)")->required();
serve->add_option("--listen", so.listen, "HOST:PORT to listen on; port 0 picks a free port [127.0.0.1:8080]");
serve->add_option("--tokens", so.tokens_path,
                  "tokens file: TOKEN NAMESPACE read|write|read,write per line [none: loopback only]");
serve->add_option("--tls-cert", so.tls_cert, "serve HTTPS with this certificate (PEM)");
serve->add_option("--tls-key", so.tls_key, "the certificate's private key (PEM)");
serve->add_option("--client-ca", so.client_ca, "require client certificates signed by this CA (PEM)");
serve->add_option("--threads", so.threads, "threads kept ready for connections [8]")->check(CLI::Range(1, 1024));
serve->add_option("--max-connections", so.max_connections, "connections served at once [2048]")
    ->check(CLI::Range(1, 65536));
serve->add_option("--max-body", so.max_body, "largest request body, bytes [67108864]")->check(WholeNumber(1));
serve->add_option("--timeout", so.timeout_seconds, "read, write and idle keep-alive timeout, seconds [5]")
    ->check(CLI::Range(1, 3600));
serve
    ->add_option("--refresh-ms", so.refresh_ms,
                 "bring rollups up to date this often while reports arrive, milliseconds [5000]")
    ->check(CLI::Range(100, 3600000));
AddDurationOption(serve, "--retention", &so.retention_ms, 1000, INT64_MAX, "of at least 1s, e.g. 30d",
                  "expire events older than D (e.g. 30d) once a minute while serving [keep everything]");
AddDurationOption(serve, "--rollup-retention", &so.rollup_retention_ms, 3600000, INT64_MAX, "of at least 1h, e.g. 365d",
                  "with --retention: keep the hour and day rollups of expired events until they are D old "
                  "(downsampled history) [they go with the events]");
serve->add_option("--retention-check-ms", so.retention_check_ms, "how often retention runs, milliseconds [60000]")
    ->check(CLI::Range(100, 86400000));
serve->add_option("--cache-mb", so.cache_mb, "MiB of decompressed blocks kept for queries; 0: none [256]")
    ->check(CLI::Range(0, 1 << 20));
AddDictionaryCacheOption(serve, &so.dictionary_cache_mb);
serve->add_option("--port-file", so.port_file, "write the port listened on to FILE (with --listen HOST:0)");
serve
    ->add_option("--shards", so.shards,
                 "answer GET /flowstatistics by merging the partial answers of these flowstat servers "
                 "(http://host:port, comma-separated)")
    ->delimiter(',');

try {
  app.parse(argc, argv);
} catch (const CLI::Success& e) {
  return app.exit(e);
} catch (const CLI::ParseError& e) {
  app.exit(e);
  return 2;
}
if (app.get_subcommands().empty()) {  // a bare `flowstat`: what it can do
  std::cerr << app.help();
  return 2;
}
if (generate->parsed()) {
  if (gen.days * 86400000.0 > static_cast<double>(gen.end_ms)) {
    std::cerr << "--days: the traffic would start before 1970-01-01 (--end minus --days)\n";
    return 2;
  }
  Generate(gen, stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
if (import->parsed()) {
  imp.skip_errors = on_error == "skip";
  return RunImport(imp);
}
if (query->parsed()) return RunQuery(qf);
if (merge->parsed()) return RunMerge(merge_files, merge_format);
if (consume->parsed()) {
#ifdef FLOWSTAT_WITH_NETWORK
  return RunConsume(co);
#else
  return RunNetworkCommand("consume", argv);
#endif
}
if (serve->parsed()) {
  if (so.rollup_retention_ms > 0 && so.rollup_retention_ms < so.retention_ms + 3600000) {
    std::fprintf(stderr, "flowstat serve: --rollup-retention needs --retention, and at least an hour more than it\n");
    return 2;
  }
#ifdef FLOWSTAT_WITH_NETWORK
  return flowstat::server::Serve(so);
#else
  return RunNetworkCommand("serve", argv);
#endif
}
if (info->parsed()) return RunInfo(life_db, info_format);
if (expire->parsed()) return RunExpire(life_db, expire_before, life_namespace, keep_rollups);
if (del->parsed()) return RunDelete(life_db, life_namespace);
if (backup->parsed()) return RunBackup(life_db, backup_to);
if (compact->parsed()) return RunCompact(compact_db);
if (verify->parsed()) return RunVerify(verify_db);
return RunDump(df);
}
