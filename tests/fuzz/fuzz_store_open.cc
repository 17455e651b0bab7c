// libFuzzer: opening a store whose files were damaged. A template store is made once; each
// input picks one of its files, an offset, and bytes to write there. Opening, querying and
// verifying must fail cleanly or answer — never crash.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "flowstat/store.h"

namespace {

namespace fs = std::filesystem;
const fs::path kTemplate = fs::temp_directory_path() / "flowstat-fuzz-template";
const fs::path kWork = fs::temp_directory_path() / "flowstat-fuzz-work";
std::vector<std::string> files;

void MakeTemplate() {
  fs::remove_all(kTemplate);
  auto store = flowstat::Store::Open(kTemplate.string(), {});
  std::vector<flowstat::FlowEvent> events;
  for (int i = 0; i < 2000; ++i) {
    flowstat::FlowEvent e;
    e.timestamp_ms = 1763557200000 + i * 3001;
    e.namespace_ = "/f/" + std::to_string(i % 3);
    e.source_id = "s" + std::to_string(i % 17);
    e.destination_id = "d" + std::to_string(i % 5);
    e.destination_port = static_cast<uint16_t>(i % 7);
    e.source_tags = {"app=a" + std::to_string(i % 4)};
    e.action = i % 5 ? flowstat::Action::kAccept : flowstat::Action::kReject;
    events.push_back(e);
  }
  (void)(*store)->AppendBatch(events);
  (void)(*store)->Flush();
  (void)(*store)->Compact();
  store->reset();
  for (const auto& f : fs::directory_iterator(kTemplate)) {
    if (f.is_regular_file() && f.file_size() > 0) files.push_back(f.path().filename().string());
  }
  std::sort(files.begin(), files.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (files.empty()) MakeTemplate();
  if (size < 5) return 0;
  fs::remove_all(kWork);
  fs::copy(kTemplate, kWork);
  const fs::path target = kWork / files[data[0] % files.size()];
  const uint64_t length = fs::file_size(target);
  const uint64_t offset =
      (uint64_t{data[1]} << 24 | uint64_t{data[2]} << 16 | uint64_t{data[3]} << 8 | data[4]) % (length + 1);
  const auto written = fs::last_write_time(target);
  {
    std::fstream f(target, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(reinterpret_cast<const char*>(data + 5), static_cast<std::streamsize>(size - 5));
  }
  fs::last_write_time(target, written);  // damage in place, as bit rot does: same time stamp
  flowstat::OpenOptions o;
  o.read_only = true;
  auto store = flowstat::Store::Open(kWork.string(), o);
  if (!store.ok()) return 0;
  flowstat::Query q;
  q.namespace_ = "/f";
  q.start_absolute = 1763557200000;
  q.end_absolute = 1763557200000 + 2000 * 3001;
  (void)(*store)->Query(q);
  q.type = flowstat::StatisticType::kRepartition;
  q.source_tags = {"app=a1"};
  (void)(*store)->Query(q);
  std::vector<std::string> problems;
  (void)(*store)->Verify(&problems, nullptr);
  return 0;
}
