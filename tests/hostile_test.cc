// The hostile input corpus (tests/data/hostile): every file imported with --on-error skip must
// give exactly the outcome in its .expect file — exit code, events imported, the flows they sum
// to, and one `FILE:LINE: reason` per bad line (an `args` line adds import options) — plus inputs
// too big to commit, made here.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "tests/test_support.h"

namespace flowstat::testing {
namespace {

const std::string kBin = FLOWSTAT_BIN;
const std::string kCorpus = FLOWSTAT_SOURCE_DIR "/tests/data/hostile";

struct Outcome {
  int code = -1;
  std::string messages;  // the FILE:LINE lines, in order
  uint64_t imported = 0;
};

Outcome Import(const std::string& db, const std::string& dir, const std::string& file, const std::string& args = "") {
  const std::string cmd = "cd '" + dir + "' && '" + kBin + "' import --db '" + db + "' --on-error skip --no-progress " +
                          args + " '" + file + "' 2>&1";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  Outcome o;
  char line[4096];
  while (std::fgets(line, sizeof line, p)) {
    std::string s(line);
    if (s.rfind(file + ":", 0) == 0) o.messages += s;
    std::smatch m;
    if (std::regex_search(s, m, std::regex("^imported (\\d+) events"))) o.imported = std::stoull(m[1]);
  }
  const int status = ::pclose(p);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

std::string Flows(const std::string& db) {
  std::FILE* p =
      ::popen(("'" + kBin + "' query --db '" + db +
               "' --namespace /h --start 1763557200000 --end 1763557260000 --type Repartition --action accept 2>&1")
                  .c_str(),
              "r");
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);
  std::regex value("\"value\":(\\d+)");
  unsigned long long total = 0;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), value); it != std::sregex_iterator(); ++it) {
    total += std::stoull((*it)[1]);
  }
  return std::to_string(total);
}

TEST_CASE("the hostile corpus gives its expected outcomes", "[hostile]") {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kCorpus)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".expect") continue;
    ++files;
    DYNAMIC_SECTION(name) {
      std::ifstream expect(kCorpus + "/" + name + ".expect");
      REQUIRE(expect);
      std::string line, messages;
      int code = -1;
      uint64_t imported = 0;
      std::string flows, args;
      while (std::getline(expect, line)) {
        if (line.empty() || line[0] == '#') continue;
        if (line.rfind("exit ", 0) == 0)
          code = std::stoi(line.substr(5));
        else if (line.rfind("imported ", 0) == 0)
          imported = std::stoull(line.substr(9));
        else if (line.rfind("flows ", 0) == 0)
          flows = line.substr(6);
        else if (line.rfind("args ", 0) == 0)
          args = line.substr(5);
        else
          messages += line + "\n";
      }
      TempDir dir;
      Outcome o = Import(dir.Sub("db"), kCorpus, name, args);
      CHECK(o.code == code);
      CHECK(o.imported == imported);
      CHECK(o.messages == messages);
      CHECK(Flows(dir.Sub("db")) == flows);
    }
  }
  CHECK(files >= 10);
}

TEST_CASE("inputs too big to commit: giant lines, huge tag lists, deep nesting", "[hostile]") {
  TempDir dir;
  const std::string good =
      R"({"timestamp":1763557200000,"namespace":"/h","sourceID":"s","destinationID":"d","action":"Accept","value":5})";
  {
    std::ofstream f(dir.Sub("big.jsonl"), std::ios::binary);
    f << good << "\n";
    f << R"({"timestamp":1763557200001,"namespace":"/h","sourceID":")" << std::string(100 << 20, 'x') << "\"}\n";
    f << R"({"timestamp":1763557200002,"namespace":"/h","sourceID":"s","destinationID":"d","action":"Accept","sourceTags":[)";
    for (int i = 0; i < 2'000'000; ++i) f << (i ? "," : "") << "\"k=v\"";
    f << "]}\n";
    f << R"({"timestamp":1763557200003,"namespace":"/h","sourceID":"s","destinationID":"d","action":"Accept","sourceTags":[)";
    for (int i = 0; i < 5000; ++i) f << (i ? "," : "") << "\"k=" << i << "\"";
    f << "]}\n";
    f << R"({"timestamp":1763557200004,"x":)" << std::string(100000, '[') << std::string(100000, ']') << "}\n";
    f << R"({"timestamp":1763557200005,"namespace":"/h","sourceID":"s","destinationID":"d","action":"Accept","value":7})"
      << "\n";
  }
  Outcome o = Import(dir.Sub("db"), dir.path(), "big.jsonl");
  CHECK(o.code == 3);
  CHECK(o.imported == 2);
  CHECK(o.messages ==
        "big.jsonl:2: line longer than 1048576 bytes\n"
        "big.jsonl:3: line longer than 1048576 bytes\n"
        "big.jsonl:4: sourceTags: more than 1024 tags\n"
        "big.jsonl:5: invalid JSON: The JSON document was too deep (too many nested objects and arrays)\n");
  CHECK(Flows(dir.Sub("db")) == "12");
}

}  // namespace
}  // namespace flowstat::testing
