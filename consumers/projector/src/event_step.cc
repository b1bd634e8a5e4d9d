#include "ledger/projector/event_step.h"

#include <string>

namespace ledger {

Result<const fb::Envelope*> VerifyRecord(const EventRecord& record) {
  auto verified = VerifyEnvelope(record.payload.data(), record.payload.size());
  if (!verified.ok()) return verified;
  if (IsReferenceEvent((*verified)->event_type())) {
    return Status::InvalidInput(EventTypeName((*verified)->event_type()) +
                                " is reference data: it belongs on " + std::string(kReferenceTopic));
  }
  const flatbuffers::String* account = (*verified)->account_id();
  if (account == nullptr || account->string_view() != record.key) {
    return Status::InvalidInput("the message key '" + std::string(record.key) +
                                "' is not the event's account_id '" +
                                (account ? account->str() : std::string()) + "'");
  }
  return verified;
}

Seen SeenIn(const SeenFilter* filter, const fb::Envelope& event) {
  return filter != nullptr && !filter->MayContain(EventIdOf(event)) ? Seen::kNew : Seen::kMaybe;
}

Result<Applied> FoldRecord(const EventRecord& record, const fb::Envelope& event, StagedBatch& staged,
                           SeenFilter* filter) {
  const int p = record.partition;
  const EventPosition pos{p, record.offset, record.recorded_at};
  auto applied =
      ApplyEvent(event, pos, [&](std::string_view key) { return staged.Get(p, key); }, SeenIn(filter, event));
  if (!applied.ok()) return applied;
  if (filter != nullptr && applied->outcome != Outcome::kDuplicate) filter->Add(EventIdOf(event));
  for (const auto& c : applied->changes) staged.Put(p, c.key, c.value);
  staged.SetNextOffset(p, record.offset + 1);
  return applied;
}

void PassRecord(const EventRecord& record, StagedBatch& staged) {
  staged.SetNextOffset(record.partition, record.offset + 1);
}

}  // namespace ledger
