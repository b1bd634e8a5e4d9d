#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>

#include "ledger/commands.h"
#include "ledger/entitlement.h"
#include "ledger/event_codec.h"
#include "ledger/keys.h"
#include "state_generated.h"

namespace ledger {
namespace {

Result<std::unique_ptr<ProjectionStore>> OpenForQuery(const CommonOptions& common) {
  return ProjectionStore::Open(common.data_dir, ProjectionStore::Mode::kReadOnly);
}

void PrintTable(const EntitlementAnswer& a, std::ostream& out) {
  auto row = [&out](const char* label, const std::string& value) {
    out << "  " << label << std::string(16 - std::string(label).size(), ' ') << value << "\n";
  };
  row("account", a.question.account + " (" + a.account_status + ")");
  row("product", a.question.product +
                     (a.question.version.empty() ? "" : " version " + a.question.version));
  row("at", FormatTime(a.question.at));
  row("entitled", a.entitled ? "YES" : "NO");
  if (a.until) row("until", FormatTime(*a.until));
  for (const auto& b : a.bases) {
    row("basis", b.kind + " " + b.id + " (" + b.offering + "), " + FormatDate(b.from) + " to " +
                     FormatDate(b.until));
  }
  for (const auto& r : a.reasons) row(a.entitled ? "note" : "reason", r);
}

}  // namespace

int RunQueryEntitlement(const CommonOptions& common, const EntitlementQueryOptions& o,
                        std::ostream& out, std::ostream& err) {
  EntitlementQuestion q{o.account, o.product, o.version, 0};
  if (o.at.empty()) {
    q.at = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  } else {
    auto t = ParseTime(o.at);
    if (!t.ok()) {
      err << "ledger query entitlement: --at: " << t.status().message() << "\n";
      return kExitUsage;
    }
    q.at = *t;
  }
  auto store = OpenForQuery(common);
  if (!store.ok()) {
    err << "ledger query entitlement: " << store.status().message() << "\n";
    return kExitUnavailable;
  }
  EntitlementService service(store->get());
  auto answer = service.Entitlement(q);
  if (!answer.ok()) {
    err << "ledger query entitlement: " << answer.status().message() << "\n";
    return kExitUnavailable;
  }
  if (o.format == OutputFormat::kJson) {
    out << EntitlementToJson(*answer) << "\n";
  } else {
    PrintTable(*answer, out);
  }
  return kExitOk;
}

int RunQueryEvents(const CommonOptions& common, const std::string& account, std::ostream& out,
                   std::ostream& err) {
  auto store = OpenForQuery(common);
  if (!store.ok()) {
    err << "ledger query events: " << store.status().message() << "\n";
    return kExitUnavailable;
  }
  EntitlementService service(store->get());
  auto where = service.LocateAccount(account);
  if (!where.ok() || !where->has_value()) {
    err << "ledger query events: account " << account << " is unknown to the ledger\n";
    return kExitRejected;
  }
  auto codec = EventCodec::Create();
  if (!codec.ok()) return kExitUnavailable;
  const int p = **where;
  // Applied events and anomalies, merged by offset.
  using Json = nlohmann::ordered_json;
  std::map<int64_t, Json> lines;
  Status s = (*store)->Scan(p, keys::EventLogPrefix(account), [&](std::string_view k, std::string_view v) {
    const int64_t offset = keys::DecodeOffset(k.substr(k.size() - 8));
    Json line = {{"partition", p}, {"offset", offset}};
    auto json = (*codec)->ToJson(v.data(), v.size());
    if (json.ok()) {
      line["event"] = Json::parse(*json);
    } else {
      line["error"] = json.status().message();
    }
    lines[offset] = std::move(line);
    return true;
  });
  if (s.ok()) {
    s = (*store)->Scan(p, keys::AnomalyPrefix(account), [&](std::string_view k, std::string_view v) {
      flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(v.data()), v.size());
      if (!verifier.VerifyBuffer<state::Anomaly>(nullptr)) return true;
      auto* a = flatbuffers::GetRoot<state::Anomaly>(v.data());
      const int64_t offset = keys::DecodeOffset(k.substr(k.size() - 8));
      lines[offset] = Json{{"partition", p},
                           {"offset", offset},
                           {"anomaly", {{"type", a->type() ? a->type()->str() : ""},
                                        {"reason", a->reason() ? a->reason()->str() : ""},
                                        {"recorded_at", FormatTime(a->recorded_at())}}}};
      return true;
    });
  }
  if (!s.ok()) {
    err << "ledger query events: " << s.message() << "\n";
    return kExitUnavailable;
  }
  for (const auto& [offset, line] : lines) out << line.dump() << "\n";
  return kExitOk;
}

int RunQueryReference(const CommonOptions& common, const std::string& type, std::ostream& out,
                      std::ostream& err) {
  auto store = OpenForQuery(common);
  if (!store.ok()) {
    err << "ledger query reference: " << store.status().message() << "\n";
    return kExitUnavailable;
  }
  auto codec = EventCodec::Create();
  if (!codec.ok()) return kExitUnavailable;
  const std::string prefix = type.empty() ? "" : type + "/";
  Status s = (*store)->Scan(keys::kReferencePartition, prefix, [&](std::string_view k, std::string_view v) {
    if (k.rfind(keys::kNextOffset, 0) == 0) return true;
    auto json = (*codec)->ToJson(v.data(), v.size());
    nlohmann::ordered_json line = {{"key", std::string(k)}};
    if (json.ok()) {
      line["event"] = nlohmann::ordered_json::parse(*json);
    } else {
      line["error"] = json.status().message();
    }
    out << line.dump() << "\n";
    return true;
  });
  if (!s.ok()) {
    err << "ledger query reference: " << s.message() << "\n";
    return kExitUnavailable;
  }
  return kExitOk;
}

int RunCheckpoint(const CommonOptions& common, const std::string& dir, std::ostream& out,
                  std::ostream& err) {
  auto store = ProjectionStore::Open(common.data_dir, ProjectionStore::Mode::kReadWrite);
  if (!store.ok()) {
    err << "ledger checkpoint: " << store.status().message()
        << " (stop the projector first: ops/stack.sh down)\n";
    return kExitUnavailable;
  }
  const auto start = std::chrono::steady_clock::now();
  Status s = (*store)->Checkpoint(dir);
  if (!s.ok()) {
    err << "ledger checkpoint: " << s.message() << "\n";
    return kExitUnavailable;
  }
  std::error_code ec;
  uintmax_t bytes = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (f.is_regular_file()) bytes += f.file_size();
  }
  out << "checkpoint of " << common.data_dir << " written to " << dir << " ("
      << bytes / (1024 * 1024) << " MiB, "
      << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
      << " s); restore: use it as --data-dir, or copy it there\n";
  return kExitOk;
}

int RunDigest(const CommonOptions& common, std::ostream& out, std::ostream& err) {
  auto store = OpenForQuery(common);
  if (!store.ok()) {
    err << "ledger digest: " << store.status().message() << "\n";
    return kExitUnavailable;
  }
  auto d = (*store)->ComputeDigest();
  if (!d.ok()) {
    err << "ledger digest: " << d.status().message() << "\n";
    return kExitUnavailable;
  }
  out << d->hex << " " << d->keys << " keys\n";
  return kExitOk;
}

}  // namespace ledger
