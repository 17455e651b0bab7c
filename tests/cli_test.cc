// End to end: the built `flowstat` binary, checked against the reference model.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/model.h"
#include "tests/test_support.h"

namespace flowstat::testing {
namespace {

struct Run {
  int code;
  std::string out;
};

// Runs a shell command line; stdout captured, stderr appended to stdout when `merge_stderr`.
Run Shell(const std::string& command, bool merge_stderr = false) {
  std::FILE* p = ::popen((command + (merge_stderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

const std::string kBin = FLOWSTAT_BIN;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string WithoutIds(const std::string& json) {
  return std::regex_replace(json, std::regex(R"("ID":"[0-9a-f]{16}")"), R"("ID":"")");
}

Model ModelOf(const std::string& jsonl) {
  Model model;
  std::istringstream in(jsonl);
  std::string line;
  while (std::getline(in, line)) {
    FlowEvent e;
    if (ParseEventJson(line, &e).ok()) model.Add(e);
  }
  return model;
}

// A --batch line for `q` (absolute windows only).
std::string BatchLine(const Query& q) {
  std::string s = "{\"namespace\":\"" + q.namespace_ + "\",\"recursive\":" + (q.recursive ? "true" : "false") +
                  ",\"startAbsolute\":" + std::to_string(*q.start_absolute) +
                  ",\"endAbsolute\":" + std::to_string(*q.end_absolute) + ",\"averageInterval\":\"" +
                  std::to_string(q.average_interval_ms / 1000) + "s\"" + ",\"metric\":\"" +
                  (q.metric == Metric::kFlows ? "Flows" : "Ports") + "\"" + ",\"type\":\"" +
                  (q.type == StatisticType::kSerie ? "Serie" : "Repartition") + "\"" + ",\"action\":\"" +
                  (q.action == ActionFilter::kAny      ? "any"
                   : q.action == ActionFilter::kAccept ? "accept"
                                                       : "reject") +
                  "\"" + ",\"flowMode\":\"" +
                  (q.flow_mode == FlowMode::kApplied    ? "applied"
                   : q.flow_mode == FlowMode::kObserved ? "observed"
                                                        : "all") +
                  "\"";
  auto list = [&](const char* name, const std::vector<std::string>& items) {
    if (items.empty()) return;
    s += std::string(",\"") + name + "\":[";
    for (size_t i = 0; i < items.size(); ++i) s += (i ? ",\"" : "\"") + items[i] + "\"";
    s += "]";
  };
  list("sourceTags", q.source_tags);
  list("destinationTags", q.destination_tags);
  list("sourceID", q.source_ids);
  list("destinationID", q.destination_ids);
  if (q.limit) s += ",\"limit\":" + std::to_string(*q.limit);
  return s + "}";
}

Query TrafficQuery(const std::string& ns) {
  Query q;
  q.namespace_ = ns;
  q.start_absolute = 1763596800000 - 2 * 86400000LL;
  q.end_absolute = 1763596800000;
  return q;
}

TEST_CASE("generate, import and query agree with the model", "[cli]") {
  TempDir dir;
  const std::string flows = dir.Sub("flows.jsonl"), db = dir.Sub("db");
  REQUIRE(Shell(kBin + " generate --events 20000 --seed 3 --days 2 > " + flows).code == 0);
  const std::string jsonl = Slurp(flows);
  const Model model = ModelOf(jsonl);
  Run imported = Shell(kBin + " import --db " + db + " " + flows, true);
  INFO(imported.out);
  REQUIRE(imported.code == 0);
  CHECK(imported.out.find("imported 20000 events") != std::string::npos);

  std::mt19937_64 rng(11);
  std::string batch, expected;
  const std::vector<std::string> namespaces = {"/", "/acme", "/acme/prod", "/globex", "/ünïcode", "/acme/prodx"};
  for (int i = 0; i < 40; ++i) {
    Query q = TrafficQuery(namespaces[i % namespaces.size()]);
    q.type = i % 2 ? StatisticType::kSerie : StatisticType::kRepartition;
    q.metric = i % 4 < 2 ? Metric::kFlows : Metric::kPorts;
    q.action = static_cast<ActionFilter>(i % 3);
    q.flow_mode = static_cast<FlowMode>(i / 3 % 3);
    q.average_interval_ms = (1 + i % 5) * 1800000;
    q.start_absolute = *q.start_absolute + static_cast<int64_t>(rng() % 3600000);
    if (i % 5 == 0) q.source_tags = {"tier=frontend"};
    if (i % 7 == 0) q.destination_tags = {"app=postgres"};
    if (i % 4 == 3) q.limit = 10;
    batch += BatchLine(q) + "\n";
    expected += WithoutIds(FormatStatisticsJson(model.Answer(q))) + "\n";
  }
  batch += "{\"namespace\":\"/\",\"metric\":\"Bytes\"}\n";
  expected += "{\"error\":\"metric: must be one of Flows|Ports, got 'Bytes'\"}\n";
  Write(dir.Sub("q.jsonl"), batch);
  Run answered = Shell(kBin + " query --db " + db + " --batch " + dir.Sub("q.jsonl"));
  REQUIRE(answered.code == 0);
  CHECK(WithoutIds(answered.out) == expected);

  // The same query through flags.
  Query q = TrafficQuery("/acme/prod");
  q.type = StatisticType::kRepartition;
  q.source_tags = {"tier=frontend"};
  q.action = ActionFilter::kReject;
  Run flags =
      Shell(kBin + " query --db " + db + " --namespace /acme/prod --start " + std::to_string(*q.start_absolute) +
            " --end 2025-11-20T00:00:00Z --type Repartition --source-tag tier=frontend --action reject");
  REQUIRE(flags.code == 0);
  CHECK(WithoutIds(flags.out) == WithoutIds(FormatStatisticsJson(model.Answer(q))) + "\n");

  SECTION("without a block cache, or with a tiny one, the same answers") {
    for (const char* mb : {"0", "1"}) {
      CHECK(
          WithoutIds(Shell(kBin + " query --db " + db + " --cache-mb " + mb + " --batch " + dir.Sub("q.jsonl")).out) ==
          expected);
    }
  }
  SECTION("re-import changes nothing") {
    REQUIRE(Shell(kBin + " import --db " + db + " - < " + flows).code == 0);
    CHECK(WithoutIds(Shell(kBin + " query --db " + db + " --batch " + dir.Sub("q.jsonl")).out) == expected);
  }
  SECTION("a dump re-imported gives the same answers") {
    REQUIRE(Shell(kBin + " dump --db " + db + " --namespace / --start 0 --end 2025-11-21T00:00:00Z > " +
                  dir.Sub("dump.jsonl"))
                .code == 0);
    REQUIRE(Shell(kBin + " import --db " + dir.Sub("db2") + " " + dir.Sub("dump.jsonl")).code == 0);
    CHECK(WithoutIds(Shell(kBin + " query --db " + dir.Sub("db2") + " --batch " + dir.Sub("q.jsonl")).out) == expected);
    CHECK(ModelOf(Slurp(dir.Sub("dump.jsonl"))).events().size() == model.events().size());
  }
  SECTION("table and csv formats") {
    Run table = Shell(
        kBin + " query --db " + db +
        " --namespace /acme --start 2025-11-19T00:00:00Z --end 2025-11-19T02:00:00Z --action accept --format table");
    CHECK(table.out.rfind("mode      timestamp", 0) == 0);
    CHECK(table.out.find("Accepted  2025-11-19 01:00:00") != std::string::npos);
    Run csv = Shell(
        kBin + " query --db " + db +
        " --namespace /acme --start 2025-11-19T00:00:00Z --end 2025-11-19T02:00:00Z --action accept --format csv");
    CHECK(csv.out.rfind("mode,timestamp,flows\nAccepted,2025-11-19T00:00:00Z,", 0) == 0);
  }
}

TEST_CASE("query --batch gives its output pipe room for an answer, answers unchanged", "[cli]") {
  TempDir dir;
  const std::string db = dir.Sub("db");
  REQUIRE(Shell(kBin + " generate --events 2000 --seed 5 --days 1 | " + kBin + " import --db " + db + " -").code == 0);
  Write(dir.Sub("q.jsonl"), "{\"namespace\":\"/\",\"startRelative\":\"1000d\",\"averageInterval\":\"1m\"}\n");
  const std::string command = kBin + " query --db " + db + " --batch " + dir.Sub("q.jsonl");
  std::FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  // The pipe is one object for both ends: its size as the reader sees it. 64 KB by default; the
  // system's limit for an unprivileged process is 1 MB unless lowered.
  const int pipe_bytes = ::fcntl(::fileno(p), F_GETPIPE_SZ);
  const int status = ::pclose(p);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(pipe_bytes > 65536);
  CHECK(out == Shell(command + " > " + dir.Sub("answer.json") + " && cat " + dir.Sub("answer.json")).out);
  CHECK(out.find("\"dataPoints\":[{\"timestamp\"") != std::string::npos);
}

TEST_CASE("bad input: messages, exit codes, rejects", "[cli]") {
  TempDir dir;
  const std::string good =
      R"({"timestamp":1763557200000,"namespace":"/a","sourceID":"s","destinationID":"d","action":"Accept","value":2})";
  const std::string bad =
      R"({"timestamp":1763557200000,"namespace":"a","sourceID":"s","destinationID":"d","action":"Accept"})";
  const std::string good2 =
      R"({"timestamp":1763557200001,"namespace":"/a","sourceID":"s","destinationID":"d","action":"Accept","value":5})";
  Write(dir.Sub("in.jsonl"), good + "\n" + bad + "\n{not json\n" + good2 + "\n");
  const std::string count = " query --db %DB% --namespace /a --start 1763557200000 --end 1763557300000 --action accept";
  auto total = [&](const std::string& db) {
    std::string cmd = count;
    cmd.replace(cmd.find("%DB%"), 4, db);
    Run r = Shell(kBin + cmd);
    std::smatch m;
    REQUIRE(std::regex_search(r.out, m, std::regex(R"("value":(\d+))")));
    return std::stoi(m[1]);
  };
  SECTION("abort keeps what came before and says where it stopped") {
    Run r = Shell(kBin + " import --db " + dir.Sub("db") + " " + dir.Sub("in.jsonl"), true);
    CHECK(r.code == 1);
    CHECK(r.out.find(dir.Sub("in.jsonl") + ":2: namespace: namespace must start with '/'") != std::string::npos);
    CHECK(r.out.find("stopped at " + dir.Sub("in.jsonl") + ":2") != std::string::npos);
    CHECK(total(dir.Sub("db")) == 2);
  }
  SECTION("skip imports the rest and writes the bad lines verbatim") {
    Run r = Shell(kBin + " import --db " + dir.Sub("db") + " --on-error skip --rejects " + dir.Sub("rej") + " " +
                      dir.Sub("in.jsonl"),
                  true);
    CHECK(r.code == 3);
    CHECK(r.out.find(":3: invalid JSON") != std::string::npos);
    CHECK(Slurp(dir.Sub("rej")) == bad + "\n{not json\n");
    CHECK(total(dir.Sub("db")) == 7);
  }
  SECTION("--rejects naming an input is refused before the input is emptied") {
    const std::string before = Slurp(dir.Sub("in.jsonl"));
    std::filesystem::create_hard_link(dir.Sub("in.jsonl"), dir.Sub("link.jsonl"));
    for (const std::string& rejects : {dir.Sub("in.jsonl"), dir.Sub("link.jsonl")}) {
      Run r = Shell(
          kBin + " import --db " + dir.Sub("db") + " --on-error skip --rejects " + rejects + " " + dir.Sub("in.jsonl"),
          true);
      CHECK(r.code == 2);
      CHECK(r.out.find("it would be emptied before it is read") != std::string::npos);
      CHECK(Slurp(dir.Sub("in.jsonl")) == before);
    }
    CHECK_FALSE(std::filesystem::exists(dir.Sub("db")));
  }
  SECTION("usage errors name the flag and exit 2") {
    Run r = Shell(kBin + " import " + dir.Sub("in.jsonl"), true);
    CHECK(r.code == 2);
    CHECK(r.out.find("--db") != std::string::npos);
    r = Shell(kBin + " query --db " + dir.Sub("db") + " --namespace /a --metric Bytes", true);
    CHECK(r.code == 2);
    CHECK(r.out.find("metric") != std::string::npos);
    r = Shell(kBin + " query --db " + dir.Sub("db") + " --namespace /a --start 2025-11-19T00:00:00Z", true);
    CHECK(r.code == 2);
    CHECK(r.out.find("startAbsolute needs endAbsolute or endRelative") != std::string::npos);
    r = Shell(kBin + " query --db " + dir.Sub("db") + " --namespace /a --start-relative 1x", true);
    CHECK(r.code == 2);
    CHECK(r.out.find("bad duration unit") != std::string::npos);
  }
  SECTION("counts are whole numbers in range: -1 is not the largest one, and none wraps") {
    // generate --events -1 wrote events without end; query --limit -1 meant "all".
    const std::vector<std::string> refused = {
        " generate --events -1",
        " generate --events 99999999999999999999",
        " generate --events 1 --seed -5",
        " generate --events 1 --days 0",
        " generate --events 1 --days nan",
        " query --db " + dir.Sub("db") + " --namespace /a --type Repartition --limit -1",
        " dump --db " + dir.Sub("db") + " --namespace /a --limit 18446744073709551616"};
    for (const std::string& args : refused) {
      Run r = Shell("timeout 10 " + kBin + args, true);
      INFO(args << ": " << r.out.substr(0, 300));
      CHECK(r.code == 2);
      CHECK(r.out.find("must be") != std::string::npos);
    }
    // A flag of the one-query form beside --batch (it was ignored: --output left the answers on
    // standard output, --format table printed JSON).
    Write(dir.Sub("q.jsonl"), R"({"namespace":"/a"})"
                              "\n");
    for (const char* flag : {" --output out.json", " --format table", " --metric Ports", " --partial"}) {
      Run r = Shell(kBin + " query --db " + dir.Sub("db") + " --batch " + dir.Sub("q.jsonl") + flag, true);
      INFO(flag << ": " << r.out);
      CHECK(r.code == 2);
      CHECK(r.out.find("does not apply to --batch") != std::string::npos);
    }
    // A window that would start before 1970 (generated timestamps would be negative).
    Run r = Shell(kBin + " generate --events 1 --days 20500", true);
    CHECK(r.code == 2);
    CHECK(r.out.find("--days: the traffic would start before 1970-01-01") != std::string::npos);
    CHECK(Shell(kBin + " generate --events 0").code == 0);
  }
  SECTION("missing store, missing file, directory as input") {
    Run r = Shell(kBin + " query --db " + dir.Sub("nowhere") + " --namespace /a", true);
    CHECK(r.code == 1);
    CHECK(r.out.find("no flowstat store") != std::string::npos);
    r = Shell(kBin + " import --db " + dir.Sub("db") + " " + dir.Sub("absent.jsonl"), true);
    CHECK(r.code == 1);
    CHECK(r.out.find(dir.Sub("absent.jsonl") + ": cannot open") != std::string::npos);
    r = Shell(kBin + " import --db " + dir.Sub("db") + " " + dir.path(), true);
    CHECK(r.code == 1);
    CHECK(r.out.find("is a directory") != std::string::npos);
  }
  SECTION("an over-long line is refused without holding it") {
    Write(dir.Sub("long.jsonl"), good + "\n" + std::string(3 << 20, 'x') + "\n" + good2 + "\n");
    Run r = Shell(kBin + " import --db " + dir.Sub("db") + " --on-error skip " + dir.Sub("long.jsonl"), true);
    CHECK(r.code == 3);
    CHECK(r.out.find(":2: line longer than") != std::string::npos);
    CHECK(total(dir.Sub("db")) == 7);
  }
}

TEST_CASE("overlapping files and another order give the answers of each event once", "[cli]") {
  TempDir dir;
  const std::string flows = dir.Sub("flows.jsonl");
  REQUIRE(Shell(kBin + " generate --events 30000 --seed 5 --days 2 > " + flows).code == 0);
  std::vector<std::string> lines;
  {
    std::istringstream in(Slurp(flows));
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  auto write_lines = [&](const std::string& path, size_t from, size_t to) {
    std::string text;
    for (size_t i = from; i < to; ++i) text += lines[i] + "\n";
    Write(path, text);
  };
  write_lines(dir.Sub("a.jsonl"), 0, lines.size() * 6 / 10);
  write_lines(dir.Sub("b.jsonl"), lines.size() * 4 / 10, lines.size());
  std::mt19937_64 rng(8);
  std::shuffle(lines.begin(), lines.end(), rng);
  write_lines(dir.Sub("shuffled.jsonl"), 0, lines.size());
  const std::string q =
      " query --db %s --namespace / --start 2025-11-18T00:00:00Z --end 2025-11-20T00:00:00Z "
      "--type Repartition --flow-mode all";
  auto answer = [&](const std::string& db) {
    std::string cmd = q;
    cmd.replace(cmd.find("%s"), 2, db);
    return Shell(kBin + cmd).out;
  };
  REQUIRE(Shell(kBin + " import --db " + dir.Sub("once") + " " + flows).code == 0);
  REQUIRE(
      Shell(kBin + " import --db " + dir.Sub("overlap") + " " + dir.Sub("a.jsonl") + " " + dir.Sub("b.jsonl")).code ==
      0);
  REQUIRE(Shell(kBin + " import --db " + dir.Sub("shuffled") + " " + dir.Sub("shuffled.jsonl")).code == 0);
  const std::string expected = answer(dir.Sub("once"));
  CHECK(expected.find("\"value\"") != std::string::npos);
  CHECK(answer(dir.Sub("overlap")) == expected);
  CHECK(answer(dir.Sub("shuffled")) == expected);
}

TEST_CASE("a second writer is refused while readers query during an import", "[cli]") {
  TempDir dir;
  const std::string flows = dir.Sub("flows.jsonl"), db = dir.Sub("db");
  REQUIRE(Shell(kBin + " generate --events 20000 --seed 2 > " + flows).code == 0);
  REQUIRE(Shell(kBin + " import --db " + db + " " + flows).code == 0);
  REQUIRE(Shell("for i in $(seq 1 24); do cat " + flows + "; done > " + dir.Sub("big.jsonl")).code == 0);
  // A long import holds the store; meanwhile a second import is refused and queries answer.
  Run r = Shell("(" + kBin + " import --db " + db + " --no-progress " + dir.Sub("big.jsonl") +
                    " >/dev/null 2>&1 & pid=$!; sleep 0.3; " + kBin + " import --db " + db + " " + flows +
                    "; echo second=$?; " + kBin + " query --db " + db +
                    " --namespace / --start-relative 30d --now 2025-11-20T00:00:00Z >/dev/null; echo query=$?; "
                    // Readers opening over and over while the writer flushes and compacts.
                    "n=0; while kill -0 $pid 2>/dev/null && [ $n -lt 40 ]; do n=$((n+1)); " +
                    kBin + " query --db " + db +
                    " --namespace / --start-relative 30d --now 2025-11-20T00:00:00Z >/dev/null || echo "
                    "query-failed; done; wait $pid; echo first=$?)",
                true);
  INFO(r.out);
  CHECK(r.out.find("store is locked by another process") != std::string::npos);
  CHECK(r.out.find("second=1") != std::string::npos);
  CHECK(r.out.find("query=0") != std::string::npos);
  CHECK(r.out.find("query-failed") == std::string::npos);
  CHECK(r.out.find("first=0") != std::string::npos);
}

TEST_CASE("CSV input", "[cli]") {
  TempDir dir;
  Write(dir.Sub("in.csv"),
        "timestamp,namespace,sourceID,destinationID,action,destinationPort,value,sourceTags\n"
        "2025-11-19T13:00:00Z,/a,s,d,Accept,443,3,app=web;tier=frontend\n"
        "1763557200500,/a/b,s,d,reject,80,4,\n");
  REQUIRE(Shell(kBin + " import --db " + dir.Sub("db") + " " + dir.Sub("in.csv")).code == 0);
  Run r = Shell(kBin + " query --db " + dir.Sub("db") +
                " --namespace /a --start 2025-11-19T13:00:00Z --end 2025-11-19T14:00:00Z --type Repartition --metric "
                "Ports --source-tag app=web");
  CHECK(r.out.find(R"("dataPoints":[{"port":443,"value":3}])") != std::string::npos);
}

TEST_CASE("input files opening with a UTF-8 byte order mark", "[cli]") {
  // As spreadsheet exports and Windows editors write them; the format is still recognized.
  TempDir dir;
  const std::string bom = "\xEF\xBB\xBF";
  Write(dir.Sub("in.csv"), bom +
                               "timestamp,namespace,sourceID,destinationID,action,destinationPort,value\r\n"
                               "1763557200000,/a,s,d,Accept,443,3\r\n");
  Write(dir.Sub("in.jsonl"),
        bom + R"({"timestamp":1763557200001,"namespace":"/a","sourceID":"s","destinationID":"d","action":"Reject",)"
              R"("destinationPort":80,"value":4})"
              "\n");
  for (const char* file : {"in.csv", "in.jsonl"}) {
    Run imported = Shell(kBin + " import --db " + dir.Sub("db") + " " + dir.Sub(file));
    INFO(imported.out);
    REQUIRE(imported.code == 0);
  }
  Run r = Shell(kBin + " query --db " + dir.Sub("db") +
                " --namespace /a --start 1763557200000 --end 1763560800000 --type Repartition --metric Ports");
  CHECK(r.out.find(R"("dataPoints":[{"port":443,"value":3}])") != std::string::npos);
  CHECK(r.out.find(R"("dataPoints":[{"port":80,"value":4}])") != std::string::npos);
}

TEST_CASE("help lists every flag", "[cli]") {
  Run r = Shell(kBin + " query --help");
  CHECK(r.code == 0);
  for (const char* flag : {"--db",
                           "--namespace",
                           "--no-recursive",
                           "--start",
                           "--end",
                           "--start-relative",
                           "--end-relative",
                           "--flow-offset",
                           "--interval",
                           "--metric",
                           "--type",
                           "--action",
                           "--flow-mode",
                           "--source-tag",
                           "--destination-tag",
                           "--source-id",
                           "--destination-id",
                           "--user-identifier",
                           "--limit",
                           "--format",
                           "--batch"}) {
    INFO(flag);
    CHECK(r.out.find(flag) != std::string::npos);
  }
  CHECK(Shell(kBin + " --version").out.find("flowstat") != std::string::npos);
}

}  // namespace
}  // namespace flowstat::testing

namespace flowstat::testing {

TEST_CASE("query --partial on two stores, merged, answers like one store", "[cli][partial]") {
  TempDir dir;
  const std::string all = dir.Sub("all.jsonl"), whole = dir.Sub("whole");
  REQUIRE(Shell(kBin + " generate --events 20000 --seed 9 --end 2025-11-20T00:00:00Z > " + all).code == 0);
  REQUIRE(Shell(kBin + " import --no-progress --db " + whole + " " + all).code == 0);
  // The events as stored (one text per event), split by a hash of that text.
  REQUIRE(Shell(kBin + " dump --db " + whole +
                " --namespace / --start 2025-01-01T00:00:00Z --end 2026-01-01T00:00:00Z --flow-mode all | "
                "/usr/bin/python3 -c \"import sys, hashlib\nouts = [open('" +
                dir.Sub("a.jsonl") + "', 'w'), open('" + dir.Sub("b.jsonl") +
                "', 'w')]\nfor line in sys.stdin: outs[hashlib.sha1(line.encode()).digest()[0] % 2].write(line)\"")
              .code == 0);
  for (const char* part : {"a", "b"}) {
    REQUIRE(Shell(kBin + " import --no-progress --db " + dir.Sub(part) + " " + dir.Sub(std::string(part) + ".jsonl"))
                .code == 0);
  }
  const std::string window = " --namespace /acme --start 2025-11-13T00:00:00Z --end 2025-11-20T00:00:00Z";
  for (const char* shape :
       {" --interval 1h", " --type Repartition --limit 5", " --type Repartition --metric Ports",
        " --interval 1d --metric Ports --flow-mode all", " --type Repartition --source-tag app=web"}) {
    INFO(shape);
    const std::string q = window + shape;
    const Run want = Shell(kBin + " query --db " + whole + q);
    REQUIRE(want.code == 0);
    REQUIRE(Shell(kBin + " query --db " + dir.Sub("a") + q + " --partial --output " + dir.Sub("a.fsp")).code == 0);
    REQUIRE(Shell(kBin + " query --db " + dir.Sub("b") + q + " --partial --output " + dir.Sub("b.fsp")).code == 0);
    const Run got = Shell(kBin + " merge " + dir.Sub("a.fsp") + " " + dir.Sub("b.fsp"));
    REQUIRE(got.code == 0);
    CHECK(got.out == want.out);
    CHECK(want.out.find("\"value\"") != std::string::npos);
  }
  // Partials of different queries do not merge; a file that is not a partial is named.
  REQUIRE(Shell(kBin + " query --db " + dir.Sub("a") + window + " --interval 15m --partial --output " +
                dir.Sub("other.fsp"))
              .code == 0);
  Run mixed = Shell(kBin + " merge " + dir.Sub("a.fsp") + " " + dir.Sub("other.fsp"), true);
  CHECK(mixed.code == 1);
  CHECK(mixed.out.find("another query") != std::string::npos);
  Run foreign = Shell(kBin + " merge " + all, true);
  CHECK(foreign.code == 1);
  CHECK(foreign.out.find(all + ": not a flowstat partial") != std::string::npos);
}

}  // namespace flowstat::testing
