#include <algorithm>
#include <chrono>
#include <iomanip>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>

#include "ledger/ops/commands.h"
#include "ledger/queries/answer_format.h"
#include "ledger/queries/ledger_view.h"
#include "ledger/rules/reference.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/keys.h"

namespace ledger {
namespace {

// The most items one page of a list holds (the list question's bound on limit).
constexpr int64_t kLargestPage = 100000;

Result<std::unique_ptr<ProjectionStore>> OpenForQuery(const CommonOptions& common) {
  return ProjectionStore::Open(common.data_dir, ProjectionStore::Mode::kReadOnly);
}

// An answer as label/value rows: nested objects as "outer.inner"; a list of objects or
// of reasons one row per item ("events" then reads as the story, in order).
void PrintAnswer(const Json& j, const std::string& prefix, std::ostream& out) {
  auto row = [&out](const std::string& label, const std::string& value) {
    out << "  " << std::left << std::setw(24) << label << " " << value << "\n";
  };
  for (const auto& [k, v] : j.items()) {
    const std::string label = prefix + k;
    if (v.is_object()) {
      PrintAnswer(v, label + ".", out);
    } else if (v.is_array() && !v.empty() && (v.front().is_object() || k.find("reasons") != std::string::npos)) {
      for (const auto& item : v) row(label, CellText(item));
    } else if (!(v.is_array() && v.empty())) {
      row(label, CellText(v));
    }
  }
}

void PrintList(const Json& j, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kJsonLines) {
    out << ListAsJsonLines(j);
    return;
  }
  if (format == OutputFormat::kCsv) {
    out << ListAsCsv(j);
    return;
  }
  const Json& items = j["items"];
  const auto cols = ListColumns(items);
  auto cell = [](const Json& row, const std::string& col) { return CellText(row.value(col, Json())); };
  std::vector<size_t> width;
  for (const auto& c : cols) width.push_back(c.size());
  for (const auto& row : items) {
    for (size_t i = 0; i < cols.size(); ++i) width[i] = std::max(width[i], cell(row, cols[i]).size());
  }
  auto line = [&](const std::vector<std::string>& values) {
    for (size_t i = 0; i < values.size(); ++i) out << std::left << std::setw(static_cast<int>(width[i]) + 2) << values[i];
    out << "\n";
  };
  if (!cols.empty()) line(cols);
  for (const auto& row : items) {
    std::vector<std::string> values;
    for (const auto& c : cols) values.push_back(cell(row, c));
    line(values);
  }
  out << j["total"].get<int64_t>() << " in " << j["list"].get<std::string>() << " at " << j["at"].get<std::string>();
  if (j.contains("known_at")) out << " as known at " << j["known_at"].get<std::string>();
  if (j.contains("counts")) out << "; " << CellText(j["counts"]);
  out << "\n";
}

}  // namespace

int RunQuery(const CommonOptions& common, const std::string& name,
             const std::map<std::string, std::string>& params, OutputFormat format, std::ostream& out,
             std::ostream& err) {
  const std::string who =
      "ledger query " + (name == "list" && params.count("list") ? "list " + params.at("list") : name);
  auto store = OpenForQuery(common);
  if (!store.ok()) {
    err << who << ": " << store.status().message() << "\n";
    return kExitUnavailable;
  }
  auto view = LedgerView::Create(store->get());
  if (!view.ok()) {
    err << who << ": " << view.status().message() << "\n";
    return kExitUnavailable;
  }
  // Read your writes: wait (boundedly) until the writer's positions are projected.
  std::map<std::string, std::string> asked = params;
  if (auto mp = asked.find("min_position"); mp != asked.end()) {
    auto positions = ParsePositions(mp->second);
    auto wait = ParseMaxWait(asked.count("max_wait_ms") ? asked.at("max_wait_ms") : "", "--max-wait-ms");
    Status s = !positions.ok() ? positions.status() : !wait.ok() ? wait.status() : Status::Ok();
    if (s.ok()) s = (*view)->AwaitPositions(*positions, *wait, [&] { return (*store)->CatchUp(); });
    if (!s.ok()) {
      err << who << ": " << s.message() << "\n";
      return s.code() == Status::Code::kInvalidInput ? kExitRejected : kExitUnavailable;
    }
    asked.erase("min_position");
    asked.erase("max_wait_ms");
  } else if (asked.count("max_wait_ms")) {
    err << who << ": --max-wait-ms bounds the wait for --min-position, which is not given\n";
    return kExitRejected;
  }
  // --all: every item, a page at a time (the largest page unless --limit says).
  const bool all = asked.erase("all") > 0 && name == "list";
  if (all && !asked.count("limit")) asked["limit"] = std::to_string(kLargestPage);
  auto answer = (*view)->Ask({name, asked});
  while (all && answer.ok()) {
    Json& items = (*answer)["items"];
    const int64_t next = (*answer)["offset"].get<int64_t>() + static_cast<int64_t>(items.size());
    if (next >= (*answer)["total"].get<int64_t>()) break;
    asked["offset"] = std::to_string(next);
    auto page = (*view)->Ask({name, asked});
    if (!page.ok() || (*page)["items"].empty()) {
      answer = page.ok() ? Result<Json>(Status::Unavailable("the list changed while it was read")) : page;
      break;
    }
    for (auto& item : (*page)["items"]) items.push_back(std::move(item));
  }
  // Advice about an account the ledger does not know, for the person asking (never part
  // of the answer): did you mean, or where its rejected events are.
  const bool unknown_account =
      (!answer.ok() && answer.status().message().find("is unknown to the ledger") != std::string::npos) ||
      (answer.ok() && answer->is_object() && answer->value("account_status", "") == "unknown");
  const std::string hint = unknown_account && asked.count("account") && !asked.count("known_at")
                               ? (*view)->UnknownAccountHint(asked.at("account"))
                               : "";
  if (!answer.ok()) {
    std::string message = answer.status().message();
    if (message.rfind(name + ": ", 0) == 0) message.erase(0, name.size() + 2);  // `who` says it
    err << who << ": " << message << (hint.empty() ? "" : "; " + hint) << "\n";
    const auto code = answer.status().code();
    return code == Status::Code::kInvalidInput || code == Status::Code::kNotFound || code == Status::Code::kTooLarge ? kExitRejected
                                                                                   : kExitUnavailable;
  }
  if (!hint.empty()) err << who << ": account " << asked.at("account") << " is unknown to the ledger; " << hint << "\n";
  if (name == "list") {
    // Cut by --limit: said on stderr, never silently (a CSV export is the items alone).
    const int64_t shown = static_cast<int64_t>((*answer)["items"].size());
    const int64_t from = (*answer)["offset"].get<int64_t>(), total = (*answer)["total"].get<int64_t>();
    if (!all && from + shown < total) {
      err << who << ": " << shown << " of " << total << " items shown (from --offset " << from << ", --limit "
          << (*answer)["limit"].get<int64_t>() << "); the rest: --offset " << from + shown
          << ", or --all for every item\n";
    }
    if (all) (*answer)["limit"] = shown;
  }
  if (name == "list" && format != OutputFormat::kJson) {
    PrintList(*answer, format, out);
  } else if (format == OutputFormat::kTable) {
    PrintAnswer(*answer, "", out);
  } else {
    out << answer->dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
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
  auto view = LedgerView::Create(store->get());
  if (!view.ok()) {
    err << "ledger query events: " << view.status().message() << "\n";
    return kExitUnavailable;
  }
  auto story = (*view)->AccountEvents(account);
  if (!story.ok()) {
    const std::string hint =
        story.status().code() == Status::Code::kNotFound ? (*view)->UnknownAccountHint(account) : "";
    err << "ledger query events: " << story.status().message() << (hint.empty() ? "" : "; " + hint) << "\n";
    return story.status().code() == Status::Code::kNotFound ? kExitRejected : kExitUnavailable;
  }
  for (const auto& line : *story) out << line.dump() << "\n";
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
    auto value = DecodeReferenceValue(v);
    if (!value) return true;
    auto json = (*codec)->ToJson(value->envelope.data(), value->envelope.size());
    nlohmann::ordered_json line = {{"key", std::string(k)},
                                   {"partition", value->partition},
                                   {"offset", value->offset},
                                   {"recorded_at", FormatTime(value->recorded_at)}};
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

int RunDigest(const CommonOptions& common, std::optional<int> partition, std::ostream& out, std::ostream& err) {
  auto store = OpenForQuery(common);
  if (!store.ok()) {
    err << "ledger digest: " << store.status().message() << "\n";
    return kExitUnavailable;
  }
  if (partition) {
    const std::vector<int> held = (*store)->Partitions();
    if (std::find(held.begin(), held.end(), *partition) == held.end()) {
      err << "ledger digest: --partition " << *partition << ": " << common.data_dir
          << " holds no state of that partition of ledger.events\n";
      return kExitUsage;
    }
  }
  auto d = partition ? (*store)->ComputeDigest(*partition) : (*store)->ComputeDigest();
  if (!d.ok()) {
    err << "ledger digest: " << d.status().message() << "\n";
    return kExitUnavailable;
  }
  out << d->hex << " " << d->keys << " keys\n";
  return kExitOk;
}

}  // namespace ledger
