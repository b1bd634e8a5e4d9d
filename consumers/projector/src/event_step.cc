#include "ledger/projector/event_step.h"

#include <string>

#include "ledger/base/text.h"
#include "ledger/kafka/partitioner.h"

namespace ledger {

Result<const fb::Envelope*> VerifyRecord(const EventRecord& record) {
  auto verified = VerifyEnvelope(record.payload.data(), record.payload.size());
  if (!verified.ok()) return verified;
  if (IsReferenceEvent((*verified)->event_type())) {
    return Status::InvalidInput(EventTypeName((*verified)->event_type()) +
                                " is reference data: it belongs on " + std::string(kReferenceTopic));
  }
  const fb::Envelope& e = **verified;
  if (!record.type_header.empty() && record.type_header != EventTypeName(e.event_type())) {
    return Status::InvalidInput("the header ledger.type says '" + Printable(record.type_header, 64) +
                                "' but the envelope holds " + EventTypeName(e.event_type()));
  }
  const flatbuffers::String* account = e.account_id();
  if (account == nullptr || account->string_view() != record.key) {
    return Status::InvalidInput("the message key '" + Printable(record.key, 128) +
                                "' is not the event's account_id '" +
                                (account ? Printable(account->string_view(), 128) : std::string()) + "'");
  }
  if (record.partition_count > 0) {
    const int expected = KafkaPartitionOf(record.key, record.partition_count);
    if (expected != record.partition) {
      return Status::InvalidInput("account " + Printable(record.key, 128) + " belongs on partition " +
                                  std::to_string(expected) + " of " + std::to_string(record.partition_count) +
                                  " (murmur2 of the key, as Kafka's Java client partitions), not " +
                                  std::to_string(record.partition) +
                                  ": producers must partition by murmur2 (librdkafka-based clients: "
                                  "partitioner=murmur2_random)");
    }
  }
  return verified;
}

Seen SeenIn(const SeenFilter* filter, const fb::Envelope& event) {
  return filter != nullptr && !filter->MayContain(EventIdOf(event)) ? Seen::kNew : Seen::kMaybe;
}

Result<Applied> FoldRecord(const EventRecord& record, const fb::Envelope& event, StagedBatch& staged,
                           SeenFilter* filter) {
  const int p = record.partition;
  const EventPosition pos{p, record.offset, record.recorded_at, ContentHash(event)};
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
