// flowstat: the command-line tool (doc/cli.md), a thin layer over the library.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "flowstat/event.h"
#include "tools/generate.h"
#include "tools/import.h"
#include "tools/query_cmd.h"

namespace {

constexpr const char* kVersion = "flowstat 0.2.0 (store format 2)";

}  // namespace

int main(int argc, char** argv) {
  using namespace flowstat::tools;
  CLI::App app{"flowstat: an embedded time-series store for network flow events.\n"
               "Import flow events, then ask FlowStatistic questions (time series and distributions)."};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);

  GenerateOptions gen;
  auto* generate = app.add_subcommand("generate", "write deterministic synthetic flow events as JSON Lines");
  generate->add_option("--events", gen.events, "number of events")->required();
  generate->add_option("--seed", gen.seed, "random seed [1]");
  generate->add_option("--days", gen.days, "days of traffic before --end [7]")->check(CLI::PositiveNumber);
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
  auto* import = app.add_subcommand("import", "import flow events (JSON Lines or CSV) into a store");
  import->add_option("--db", imp.db, "store directory (created if missing)")->required();
  import->add_option("--format", imp.format, "jsonl|csv [by file extension: .csv is csv, else jsonl]")
      ->check(CLI::IsMember({"jsonl", "csv"}));
  std::string on_error = "abort";
  import->add_option("--on-error", on_error, "abort: stop at the first bad line; skip: report it and go on [abort]")
      ->check(CLI::IsMember({"abort", "skip"}));
  import->add_option("--rejects", imp.rejects_path, "with --on-error skip, write bad lines verbatim to FILE");
  import->add_option("--batch-events", imp.batch_events, "events per atomic write batch [131072]")
      ->check(CLI::Range(1, 10000000));
  import->add_flag("!--no-progress", imp.progress, "no progress line, even on a terminal");
  import->add_option("inputs", imp.inputs, "FILE... or - for standard input")->required();

  QueryFlags qf;
  auto* query = app.add_subcommand("query", "answer a FlowStatistic query (doc/queries.md)");
  AddQueryFlags(query, &qf, true);

  QueryFlags df;
  auto* dump = app.add_subcommand("dump", "print the matching raw events as JSON Lines, in time order");
  AddQueryFlags(dump, &df, false);

  std::string compact_db;
  auto* compact = app.add_subcommand("compact", "rewrite a store compactly (faster queries, less disk)");
  compact->add_option("--db", compact_db, "store directory")->required();

  std::string verify_db;
  auto* verify = app.add_subcommand("verify", "check checksums, layout, dictionary references and rollups");
  verify->add_option("--db", verify_db, "store directory")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  if (generate->parsed()) {
    Generate(gen, stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  if (import->parsed()) {
    imp.skip_errors = on_error == "skip";
    return RunImport(imp);
  }
  if (query->parsed()) return RunQuery(qf);
  if (compact->parsed()) return RunCompact(compact_db);
  if (verify->parsed()) return RunVerify(verify_db);
  return RunDump(df);
}
