#include <algorithm>
#include <chrono>
#include <istream>
#include <ostream>
#include <unordered_map>

#include "ledger/base/text.h"
#include "ledger/ops/commands.h"
#include "ledger/producers/publisher.h"
#include "ledger/schema/event_codec.h"

namespace ledger {

int RunPublish(const CommonOptions& common, const PublishOptions& options, std::istream& in,
               std::ostream& out, std::ostream& err) {
  const std::string name = options.input == "-" ? "<stdin>" : options.input;
  auto codec = EventCodec::Create();
  if (!codec.ok()) {
    err << "ledger publish: " << codec.status().message() << "\n";
    return kExitUnavailable;
  }
  auto publisher = Publisher::Create(common.kafka);
  if (!publisher.ok()) {
    err << "ledger publish: " << publisher.status().message() << "\n";
    return kExitUsage;
  }
  uint64_t sent = 0, rejected = 0, blank = 0;
  std::string line;
  for (uint64_t n = 1;; ++n) {
    const LineRead read = ReadLine(in, &line, kMaxEventLineBytes);
    if (read == LineRead::kEnd) break;
    if (read == LineRead::kLine && line.find_first_not_of(" \t\r") == std::string::npos) {
      ++blank;
      continue;
    }
    // A line past the bound is kept only up to it: the codec rejects it by its length.
    auto event = read == LineRead::kTooLong ? Result<EncodedEvent>(Status::InvalidInput(
                                                  "the line is more than " + std::to_string(kMaxEventLineBytes) +
                                                  " bytes, the most an event may take"))
                                            : (*codec)->FromJson(line, NowMillis());
    if (!event.ok()) {
      ++rejected;
      err << Printable(name, 200) << ":" << n << ": " << Printable(event.status().message(), 1000) << "\n";
      continue;
    }
    Status s = (*publisher)->Send(*event, n);
    if (!s.ok()) {
      err << name << ":" << n << ": not sent: " << s.message() << "\n";
      if (s.code() == Status::Code::kFatal) return kExitUnavailable;
      ++rejected;
      continue;
    }
    ++sent;
  }
  DeliveryReport report =
      (*publisher)->Flush(std::chrono::seconds(options.flush_timeout_seconds));
  std::sort(report.failed.begin(), report.failed.end());
  if (!report.refused.empty()) err << "ledger publish: " << report.refused << "\n";
  for (const auto& [line_no, why] : report.failed) {
    // The refusal is said once above; each line names its own cause otherwise.
    err << name << ":" << line_no << ": not delivered" << (why == report.refused ? "" : ": " + why) << "\n";
  }
  out << "published " << report.delivered << " of " << sent << " events from " << name;
  if (rejected > 0) out << "; " << rejected << " line(s) rejected";
  if (!report.failed.empty()) out << "; " << report.failed.size() << " undelivered";
  out << "\n";
  if (options.print_positions) out << "positions " << FormatPositions(report.positions) << "\n";
  if (!report.refused.empty() && !report.failed.empty()) return kExitRefused;
  if (!report.failed.empty()) return kExitUnavailable;
  return rejected > 0 ? kExitRejected : kExitOk;
}

}  // namespace ledger
