#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <ostream>

#include "ledger/ops/commands.h"
#include "ledger/projector/projector.h"
#include "ledger/storage/idle_compactor.h"
#include "ledger/storage/store_layout.h"

namespace ledger {
namespace {

// `text` in single quotes for a POSIX shell.
std::string ShellQuoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

int RunRebuild(const CommonOptions& common, std::ostream& out, std::ostream& err) {
  const std::optional<int> live = CurrentGeneration(common.data_dir);
  if (!live) {
    if (std::filesystem::exists(common.data_dir)) {
      // Printed to be run as it is: the real paths, quoted for a POSIX shell.
      std::string path = common.data_dir;
      while (path.size() > 1 && path.back() == '/') path.pop_back();  // "data/" names "data"
      const std::string dir = ShellQuoted(path);
      const std::string name = std::filesystem::path(path).filename().string();
      err << "ledger rebuild: " << common.data_dir
          << " is a plain directory (a store from before generations). With the projector stopped, make it "
             "generation 1:\n  mkdir -p "
          << ShellQuoted(path + ".stores") << " && mv " << dir << " " << ShellQuoted(GenerationDir(path, 1)) << " && ln -s " << ShellQuoted(name + ".stores/1") << " "
          << dir << "\n";
    } else {
      err << "ledger rebuild: " << common.data_dir << " does not exist: run `ledger project` first\n";
    }
    return kExitUsage;
  }
  const int next = *live + 1;
  const std::string dir = GenerationDir(common.data_dir, next);
  std::filesystem::remove_all(dir);  // what a failed rebuild left
  const auto start = std::chrono::steady_clock::now();
  ProjectorTotals totals;
  {
    auto store = ProjectionStore::Open(dir, ProjectionStore::Mode::kReadWrite);
    if (!store.ok()) {
      err << "ledger rebuild: " << store.status().message() << "\n";
      return kExitUnavailable;
    }
    ProjectorOptions po;
    po.kafka = common.kafka;
    po.group_id = common.group + ".rebuild-" + std::to_string(next) + "-" + std::to_string(::time(nullptr));
    po.stop_when_caught_up = true;
    po.send_dead_letters = false;  // the live projector dead-lettered them already
    po.require_whole_log = true;
    auto projector = Projector::Create(po, store->get(), nullptr);
    if (!projector.ok()) {
      err << "ledger rebuild: " << projector.status().message() << "\n";
      return kExitUnavailable;
    }
    out << "ledger rebuild: replaying the log into generation " << next << " (" << dir
        << ") while generation " << *live << " keeps answering" << std::endl;
    std::atomic<bool> stop{false};
    Status s = (*projector)->Run(stop);
    if (!s.ok()) {
      err << "ledger rebuild: " << s.message() << " (generation " << *live << " stays live)\n";
      return kExitUnavailable;
    }
    totals = (*projector)->totals();
    // The replay left memtables and level-0 files: merge them before the switch, so that
    // the new generation answers as fast as a settled one from its first question.
    IdleCompactor::Settle(store->get());
  }
  if (Status s = SwitchGeneration(common.data_dir, next); !s.ok()) {
    err << "ledger rebuild: " << s.message() << "\n";
    return kExitUnavailable;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out << "ledger rebuild: " << totals.consumed << " events replayed in " << seconds
      << " s; " << common.data_dir << " now names generation " << next
      << " (a running projector moves over by itself; generation " << *live
      << " stays in " << GenerationDir(common.data_dir, *live) << " until you remove it)\n";
  return kExitOk;
}

}  // namespace ledger
