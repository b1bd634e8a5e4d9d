#include <unistd.h>

#include <filesystem>
#include <ostream>

#include "ledger/base/text.h"
#include "ledger/ops/commands.h"
#include "ledger/projector/projector.h"
#include "ledger/rules/journal.h"
#include "ledger/storage/keys.h"

namespace ledger {
namespace {

std::string FamilyLabel(int partition) {
  return partition == keys::kReferencePartition ? "reference" : "partition " + std::to_string(partition);
}

// The first key where two column families differ, for the report.
std::string FirstDifference(const ProjectionStore& a, const ProjectionStore& b, int partition) {
  std::vector<std::pair<std::string, std::string>> left, right;
  auto collect = [](const ProjectionStore& s, int p, std::vector<std::pair<std::string, std::string>>* out) {
    return s.Scan(p, "", [&](std::string_view k, std::string_view v) {
      out->emplace_back(std::string(k), std::string(v));
      return true;
    });
  };
  if (!collect(a, partition, &left).ok() || !collect(b, partition, &right).ok()) return "(scan failed)";
  size_t i = 0;
  while (i < left.size() && i < right.size() && left[i] == right[i]) ++i;
  auto printable = [](const std::string& key) {
    std::string out;
    for (unsigned char c : key) {
      if (c >= 0x20 && c < 0x7f) {
        out.push_back(static_cast<char>(c));
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      }
    }
    return out;
  };
  if (i < left.size() && i < right.size()) {
    return left[i].first == right[i].first ? "value of key " + printable(left[i].first) + " differs"
                                           : "key " + printable(left[i].first) + " (live) vs " +
                                                 printable(right[i].first) + " (replay)";
  }
  if (i < left.size()) return "key " + printable(left[i].first) + " only in the live store";
  if (i < right.size()) return "key " + printable(right[i].first) + " only in the replay";
  return "(no difference found)";
}

}  // namespace

int RunVerify(const CommonOptions& common, bool keep, std::ostream& out, std::ostream& err) {
  auto live = ProjectionStore::Open(common.data_dir, ProjectionStore::Mode::kReadOnly);
  if (!live.ok()) {
    err << "ledger verify: " << live.status().message() << "\n";
    return kExitUnavailable;
  }
  // A long account being folded again beside the projection is stale in the live store
  // until its refold is staged: the replay (which folds in its batches) would differ.
  for (int p : (*live)->Partitions()) {
    std::string stale;
    Status s = (*live)->Scan(p, keys::KindPrefix(keys::kFoldHeadTag), [&](std::string_view k, std::string_view v) {
      auto head = DecodeFoldHead(v);
      if (head && head->stale) stale = std::string(keys::AccountOf(k));
      return stale.empty();
    });
    if (!s.ok()) {
      err << "ledger verify: " << s.message() << "\n";
      return kExitUnavailable;
    }
    if (!stale.empty()) {
      err << "ledger verify: account " << Printable(stale, 128) << " in partition " << p
          << " is being folded again beside the projection (ledger_projector_refolds_beside); verify once it is "
             "(it is when the gauge reads 0)\n";
      return kExitUnavailable;
    }
  }
  // The offsets the live store has reached: the replay stops exactly there.
  ProjectorOptions po;
  po.kafka = common.kafka;
  po.stop_at.emplace();
  for (int p : (*live)->Partitions()) {
    auto next = (*live)->NextOffset(p);
    if (!next.ok()) {
      err << "ledger verify: " << next.status().message() << "\n";
      return kExitUnavailable;
    }
    (*po.stop_at)[p] = next->value_or(0);
  }
  const std::string prefix = std::string(keys::kNextOffset) + ":";
  Status scanned = (*live)->Scan(keys::kReferencePartition, prefix, [&](std::string_view k, std::string_view v) {
    po.reference_stop_at[std::atoi(std::string(k.substr(prefix.size())).c_str())] = keys::DecodeOffset(v);
    return true;
  });
  if (!scanned.ok()) {
    err << "ledger verify: " << scanned.message() << "\n";
    return kExitUnavailable;
  }
  po.group_id = common.group + ".verify-" + std::to_string(::getpid()) + "-" + std::to_string(::time(nullptr));
  po.send_dead_letters = false;
  po.require_whole_log = true;

  const std::string replay_dir = common.data_dir + ".verify-" + std::to_string(::getpid());
  std::filesystem::remove_all(replay_dir);
  int rc = kExitOk;
  {
    auto replay = ProjectionStore::Open(replay_dir, ProjectionStore::Mode::kReadWrite);
    if (!replay.ok()) {
      err << "ledger verify: " << replay.status().message() << "\n";
      return kExitUnavailable;
    }
    auto projector = Projector::Create(po, replay->get(), nullptr);
    if (!projector.ok()) {
      err << "ledger verify: " << projector.status().message() << "\n";
      return kExitUnavailable;
    }
    out << "ledger verify: replaying the log up to the live store's offsets into " << replay_dir
        << std::endl;
    std::atomic<bool> stop{false};
    Status s = (*projector)->Run(stop);
    if (!s.ok()) {
      err << "ledger verify: replay failed: " << s.message() << "\n";
      return kExitUnavailable;
    }
    std::vector<int> families = (*live)->Partitions();
    families.push_back(keys::kReferencePartition);
    for (int p : families) {
      auto a = (*live)->ComputeDigest(p);
      auto b = (*replay)->ComputeDigest(p);
      if (!a.ok() || !b.ok()) {
        err << "ledger verify: cannot digest " << FamilyLabel(p) << "\n";
        return kExitUnavailable;
      }
      const bool same = a->hex == b->hex;
      out << "  " << FamilyLabel(p) << ": live " << a->hex << " (" << a->keys << " keys), replay "
          << b->hex << " (" << b->keys << " keys) " << (same ? "equal" : "DIFFERENT") << "\n";
      if (!same) {
        out << "    first difference: " << FirstDifference(**live, **replay, p) << "\n";
        rc = kExitRejected;
      }
    }
  }
  out << (rc == kExitOk ? "verify: the projection equals a fresh replay of the log\n"
                        : "verify: the projection differs from a fresh replay of the log\n");
  if (keep) {
    out << "replay kept in " << replay_dir << "\n";
  } else {
    std::filesystem::remove_all(replay_dir);
  }
  return rc;
}

}  // namespace ledger
