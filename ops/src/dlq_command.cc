// The dead-letter topic for operators: list (or summarise) the letters, re-drive those
// that are valid now, and say which were re-driven already (from ledger.audit).
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>

#include "ledger/kafka/kafka_acls.h"
#include "ledger/ops/commands.h"
#include "ledger/producers/audit_log.h"
#include "ledger/producers/publisher.h"
#include "ledger/schema/event_codec.h"
#include "read_failure.h"
#include "topic_reader.h"

namespace ledger {
namespace {

constexpr const char* kReplayAction = "dlq replay";

std::string Header(const TopicRecord& d, const std::string& name) {
  auto it = d.headers.find(name);
  return it == d.headers.end() ? "" : it->second;
}

// The letters DlqOptions selects: from `from` to `to`, whose reason contains `reason`.
Result<std::vector<TopicRecord>> ReadDeadLetters(const CommonOptions& common, const DlqOptions& options) {
  auto letters = ReadTopicToEnd(common, std::string(kDeadLetterTopic), OperatorGroupPrefix(common.group) + ".dlq",
                                options.from);
  if (!letters.ok()) return letters;
  std::erase_if(*letters, [&](const TopicRecord& d) {
    return (options.to >= 0 && d.offset > options.to) ||
           (!options.reason.empty() && Header(d, "ledger.dlq.reason").find(options.reason) == std::string::npos);
  });
  return letters;
}

// "3,5-9,12": the offsets as ranges, as a replay's audit record names them.
std::string OffsetRanges(const std::vector<int64_t>& offsets) {
  std::string out;
  for (size_t i = 0; i < offsets.size();) {
    size_t j = i;
    while (j + 1 < offsets.size() && offsets[j + 1] == offsets[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(offsets[i]) + (j > i ? "-" + std::to_string(offsets[j]) : "");
    i = j + 1;
  }
  return out;
}

// The dead-letter offsets that ledger.audit records as re-driven; empty if it cannot be
// read (the mark is then left out, not guessed).
std::optional<std::set<int64_t>> Redriven(const CommonOptions& common) {
  auto records = ReadTopicToEnd(common, std::string(kAuditTopic), OperatorGroupPrefix(common.group) + ".audit", 0);
  if (!records.ok()) return std::nullopt;
  std::set<int64_t> out;
  static const std::string kPrefix = "dlq offsets ";
  for (const auto& r : *records) {
    auto record = DecodeAuditRecord(r.value);
    if (!record.ok() || record->action != kReplayAction || record->result.rfind("ok", 0) != 0 ||
        record->target.rfind(kPrefix, 0) != 0) {
      continue;
    }
    std::string_view ranges(record->target);
    ranges.remove_prefix(kPrefix.size());
    while (!ranges.empty()) {
      const size_t comma = ranges.find(',');
      const std::string range(ranges.substr(0, comma));
      ranges.remove_prefix(comma == std::string_view::npos ? ranges.size() : comma + 1);
      const size_t dash = range.find('-');
      try {
        const int64_t first = std::stoll(range.substr(0, dash));
        const int64_t last = dash == std::string::npos ? first : std::stoll(range.substr(dash + 1));
        for (int64_t o = first; o <= last && o - first < 1000000; ++o) out.insert(o);
      } catch (const std::exception&) {
        break;  // not a list of offsets: written by someone else
      }
    }
  }
  return out;
}

// Why a letter cannot be re-driven as it is; "" if it can.
std::string ReplayProblem(const TopicRecord& d, const Result<const fb::Envelope*>& verified) {
  const auto topic = d.headers.find("ledger.dlq.topic");
  const auto cut = d.headers.find("ledger.dlq.payload_bytes");
  if (cut != d.headers.end()) {
    return "only the first " + std::to_string(d.value.size()) + " of its " + cut->second +
           " bytes were kept: it cannot be replayed";
  }
  if (!verified.ok()) return verified.status().message();
  if (topic == d.headers.end()) return "no ledger.dlq.topic header";
  if (topic->second != kEventsTopic && topic->second != kReferenceTopic) {
    return "it came from " + topic->second + ", not a ledger topic";
  }
  if (IsReferenceEvent((*verified)->event_type()) != (topic->second == kReferenceTopic)) {
    const bool reference = IsReferenceEvent((*verified)->event_type());
    return EventTypeName((*verified)->event_type()) + " belongs on " +
           std::string(reference ? kReferenceTopic : kEventsTopic) + ", not on " + topic->second +
           ": publish it there (ledger publish routes it)";
  }
  return "";
}

}  // namespace

int RunDlqList(const CommonOptions& common, const DlqOptions& options, std::ostream& out, std::ostream& err) {
  auto letters = ReadDeadLetters(common, options);
  if (!letters.ok()) {
    err << "ledger dlq list: " << letters.status().message() << "\n";
    return ExitOf(letters.status());
  }
  if (options.summary) {
    // By reason, most first: what to fix, and how much of it.
    std::map<std::string, std::pair<int64_t, int64_t>> by_reason;  // reason -> (count, valid now)
    for (const auto& d : *letters) {
      auto& [n, valid] = by_reason[Header(d, "ledger.dlq.reason")];
      ++n;
      if (VerifyEnvelope(d.value.data(), d.value.size()).ok()) ++valid;
    }
    std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> rows(by_reason.begin(), by_reason.end());
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
    out << "letters  valid-now  reason\n";
    for (const auto& [reason, counts] : rows) {
      out << std::to_string(counts.first) << "\t " << counts.second << "\t    " << reason << "\n";
    }
    out << letters->size() << " dead letters on " << kDeadLetterTopic
        << "; valid-now: re-driven by ledger dlq replay (--dry-run first)\n";
    return kExitOk;
  }
  const auto redriven = Redriven(common);
  auto codec = EventCodec::Create();
  for (const auto& d : *letters) {
    nlohmann::ordered_json j = {{"dlq_offset", d.offset}};
    for (const auto& [k, v] : d.headers) j[k] = v;
    j["key"] = d.key;
    j["bytes"] = d.value.size();
    // What this build makes of it now (after an upgrade it may decode).
    auto verified = VerifyEnvelope(d.value.data(), d.value.size());
    j["now"] = verified.ok() ? "valid" : verified.status().message();
    if (redriven) j["redriven"] = redriven->count(d.offset) > 0;
    if (verified.ok()) {
      auto json = (*codec)->ToJson(d.value.data(), d.value.size());
      if (json.ok()) j["event"] = nlohmann::ordered_json::parse(*json);
    }
    out << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  }
  return kExitOk;
}

int RunDlqReplay(const CommonOptions& common, const DlqOptions& options, std::ostream& out, std::ostream& err) {
  auto letters = ReadDeadLetters(common, options);
  if (!letters.ok()) {
    err << "ledger dlq replay: " << letters.status().message() << "\n";
    return ExitOf(letters.status());
  }
  std::unique_ptr<Publisher> publisher;
  if (!options.dry_run) {
    auto created = Publisher::Create(common.kafka);
    if (!created.ok()) {
      err << "ledger dlq replay: " << created.status().message() << "\n";
      return kExitUsage;
    }
    publisher = std::move(*created);
  }
  uint64_t still_bad = 0;
  std::vector<int64_t> sent;
  for (const auto& d : *letters) {
    // The checks the projector applies to what it consumes, so that a replay cannot send
    // back what would be dead-lettered (or, worse, misapplied) again.
    auto verified = VerifyEnvelope(d.value.data(), d.value.size());
    if (const std::string problem = ReplayProblem(d, verified); !problem.empty()) {
      ++still_bad;
      err << "dlq@" << d.offset << ": still not valid: " << problem << "\n";
      continue;
    }
    const fb::Envelope& e = **verified;
    const std::string topic = Header(d, "ledger.dlq.topic");
    if (options.dry_run) {
      out << "dlq@" << d.offset << ": would send " << EventTypeName(e.event_type()) << " back to " << topic << "\n";
      sent.push_back(d.offset);
      continue;
    }
    // Back to where it came from, under its account's key (so on its account's
    // partition) with the ledger headers: the projector skips it if an earlier replay
    // already applied it (same event id).
    const std::string key = e.account_id() ? e.account_id()->str() : ReferenceKey(e);
    UuidBytes id{};
    std::copy(e.event_id()->bytes()->begin(), e.event_id()->bytes()->end(), id.begin());
    const Headers headers = {{kHeaderType, EventTypeName(e.event_type())},
                             {kHeaderSchemaVersion, std::to_string(e.schema_version())},
                             {kHeaderEventId, FormatUuid(id)}};
    Status s = publisher->Send(topic, key, d.value, headers, static_cast<uint64_t>(d.offset));
    if (!s.ok()) {
      err << "dlq@" << d.offset << ": not sent: " << s.message() << "\n";
      return kExitUnavailable;
    }
    sent.push_back(d.offset);
  }
  if (options.dry_run) {
    out << "dry run: " << sent.size() << " of " << letters->size() << " dead letters would be replayed";
    if (still_bad > 0) out << "; " << still_bad << " still not valid";
    out << "\n";
    return still_bad > 0 ? kExitRejected : kExitOk;
  }
  DeliveryReport report = publisher->Flush(std::chrono::seconds(30));
  if (!report.refused.empty()) {
    err << "ledger dlq replay: " << report.refused << "\n";
    RecordCommand(common, kReplayAction, "from offset " + std::to_string(options.from), "refused", err);
    return kExitRefused;
  }
  std::set<int64_t> failed;
  for (const auto& [offset, why] : report.failed) {
    err << "dlq@" << offset << ": not delivered: " << why << "\n";
    failed.insert(static_cast<int64_t>(offset));
  }
  std::erase_if(sent, [&](int64_t o) { return failed.count(o) > 0; });
  // The audit record names each letter re-driven: `dlq list` marks them from it.
  if (!sent.empty() || !failed.empty()) {
    RecordCommand(common, kReplayAction, "dlq offsets " + OffsetRanges(sent),
                  failed.empty() ? "ok" : "ok, " + std::to_string(failed.size()) + " not delivered", err);
  }
  out << "replayed " << report.delivered << " of " << letters->size() << " dead letters";
  if (still_bad > 0) out << "; " << still_bad << " still not valid (left in place)";
  out << "\n";
  if (!report.failed.empty()) return kExitUnavailable;
  return still_bad > 0 ? kExitRejected : kExitOk;
}

}  // namespace ledger
