// The JSON form of events (schema/README.md) to and from FlatBuffers Envelopes.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ledger/base/status.h"
#include "ledger/base/time.h"
#include "ledger/base/uuid.h"
#include "ledger/schema/ledger_generated.h"

namespace ledger {

inline constexpr std::string_view kEventsTopic = "ledger.events";
inline constexpr std::string_view kReferenceTopic = "ledger.reference";
inline constexpr std::string_view kDeadLetterTopic = "ledger.events.dlq";
inline constexpr uint16_t kSchemaVersion = 1;
// The longest JSON line an event may be; a longer one is rejected unread.
inline constexpr size_t kMaxEventLineBytes = 1u << 20;

// One event, encoded and ready to publish.
struct EncodedEvent {
  std::string bytes;       // the Envelope FlatBuffer
  std::string type;        // e.g. "AgreementPurchased"
  std::string account_id;  // empty for reference data
  UuidBytes event_id{};
  std::string_view topic;  // kEventsTopic or kReferenceTopic
  std::string key;         // the account id, or the reference key (ReferenceKey)
};

// Converts between JSON lines and Envelopes using the schema compiled into the binary.
// Not thread-safe: use one codec per thread.
class EventCodec {
 public:
  // Fails only if the embedded schema does not parse (a build defect).
  static Result<std::unique_ptr<EventCodec>> Create();
  ~EventCodec();

  // Encodes one JSON object of the documented form. A missing event_id gets a new
  // UUIDv7 and a missing occurred_at gets `now`. On failure the Status names the field
  // and the problem; nothing is kept from a failed call.
  Result<EncodedEvent> FromJson(std::string_view line, Millis now);

  // Renders an Envelope (which must have passed VerifyEnvelope) in the documented JSON
  // form, on one line.
  Result<std::string> ToJson(const void* data, size_t size) const;

 private:
  struct Impl;
  explicit EventCodec(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Checks bytes with the FlatBuffers Verifier, that the union member is known to this
// build and that account events carry an account id. Never reads out of bounds.
Result<const fb::Envelope*> VerifyEnvelope(const void* data, size_t size);

// A hash of what an event says: every field of the envelope (which must have passed
// VerifyEnvelope) in schema order, except occurred_at, which a producer stamps anew on
// each retry of a line without one. It does not depend on how the buffer was laid out
// (builder, padding, another language's FlatBuffers): two sends of one event agree; an
// event id reused for other content does not. Never 0.
uint64_t ContentHash(const fb::Envelope& envelope);

// True for the event types that travel on the reference topic.
bool IsReferenceEvent(fb::Event type);

// The name of an event type ("AgreementPurchased"), or "Unknown(N)".
std::string EventTypeName(fb::Event type);

// The compaction key of a reference event: "<Type>/<entity>@<effective time>", so that
// each effective version is kept and only re-publications of it are compacted away.
std::string ReferenceKey(const fb::Envelope& envelope);

}  // namespace ledger
