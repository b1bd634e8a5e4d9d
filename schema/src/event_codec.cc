#include "ledger/schema/event_codec.h"

#include <flatbuffers/idl.h>
#include <flatbuffers/minireflect.h>
#include <flatbuffers/util.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "ledger/base/json_input.h"
#include "schema_text.h"

namespace ledger {
namespace {

using Json = nlohmann::ordered_json;

bool IsTimeField(const std::string& name) {
  return name.size() > 3 && name.compare(name.size() - 3, 3, "_at") == 0;
}

// Replaces RFC 3339 strings in every "*_at" field by epoch milliseconds.
Status TimesToMillis(Json& obj, const std::string& path) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string where = path + "." + it.key();
    if (IsTimeField(it.key())) {
      if (!it->is_string()) {
        return Status::InvalidInput(where + ": expected an RFC 3339 time string");
      }
      auto t = ParseTime(it->get<std::string>());
      if (!t.ok()) return Status::InvalidInput(where + ": " + t.status().message());
      *it = *t;
    } else if (it->is_object()) {
      if (Status s = TimesToMillis(*it, where); !s.ok()) return s;
    } else if (it->is_array()) {
      for (size_t i = 0; i < it->size(); ++i) {
        if ((*it)[i].is_object()) {
          Status s = TimesToMillis((*it)[i], where + "[" + std::to_string(i) + "]");
          if (!s.ok()) return s;
        }
      }
    }
  }
  return Status::Ok();
}

// Replaces epoch milliseconds by RFC 3339 strings in every "*_at" field; drops the
// unset ones (0).
void MillisToTimes(Json& obj) {
  for (auto it = obj.begin(); it != obj.end();) {
    if (IsTimeField(it.key()) && it->is_number_integer() && it->get<int64_t>() == 0) {
      it = obj.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (IsTimeField(it.key()) && it->is_number_integer()) {
      *it = FormatTime(it->get<int64_t>());  // 0 (unset) was removed before
    } else if (it->is_object()) {
      MillisToTimes(*it);
    } else if (it->is_array()) {
      for (auto& e : *it) {
        if (e.is_object()) MillisToTimes(e);
      }
    }
  }
}

// flatc errors read "1: 125: error: unknown field: x": keep what follows "error: " and
// show the text before column 125 of `json`, which names the field at fault.
std::string CleanParserError(const std::string& e, const std::string& json) {
  auto p = e.find("error: ");
  std::string s = p == std::string::npos ? e : e.substr(p + 7);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  const auto colon = e.find(": ");
  if (colon != std::string::npos) {
    const size_t column = std::strtoul(e.c_str() + colon + 2, nullptr, 10);
    if (column > 0 && column <= json.size()) {
      const size_t from = column > 40 ? column - 40 : 0;
      s += " (near: " + json.substr(from, column - from) + ")";
    }
  }
  return s;
}

Status LineTooLong(size_t bytes) {
  return Status::InvalidInput("the line is " + std::to_string(bytes) + " bytes, more than the " +
                              std::to_string(kMaxEventLineBytes) + " an event may take");
}

std::optional<fb::Event> EventByName(const std::string& name) {
  for (int i = 1; i <= static_cast<int>(fb::Event::MAX); ++i) {
    if (name == fb::EnumNamesEvent()[i]) return static_cast<fb::Event>(i);
  }
  return std::nullopt;
}

Status CheckId(const std::string& field, std::string_view v) {
  if (v.empty() || v.size() > 128) {
    return Status::InvalidInput(field + ": must be 1 to 128 characters");
  }
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7f) return Status::InvalidInput(field + ": contains a control character");
  }
  return Status::Ok();
}

constexpr const char* kEnvelopeStrings[] = {"source", "actor", "correlation_id", "causation_id"};

// Finds the first string field that is not valid UTF-8 (FlatBuffers requires UTF-8; its
// Verifier does not check it) and the first time field outside years 0000-9999.
struct ContentCheck : flatbuffers::IterationVisitor {
  void Field(size_t, size_t, flatbuffers::ElementaryType type, bool is_vector,
             const flatbuffers::TypeTable*, const char* name, const uint8_t* val) override {
    field = name != nullptr ? name : "?";
    if (val == nullptr || is_vector || type != flatbuffers::ET_LONG || !problem.empty()) return;
    const std::string_view n(field);
    if (n.size() > 3 && n.substr(n.size() - 3) == "_at") {
      const int64_t t = flatbuffers::ReadScalar<int64_t>(val);
      if (t < kEarliestTime || t > kLatestTime) {
        problem = "field " + std::string(n) + " holds " + std::to_string(t) +
                  ", not a time between years 0000 and 9999";
      }
    }
  }
  void String(const flatbuffers::String* s) override {
    if (!problem.empty()) return;
    const std::string_view n(field);
    if (n.size() > 3 && n.substr(n.size() - 3) == "_id") {
      for (unsigned char c : s->string_view()) {
        if (c < 0x20 || c == 0x7f) {
          problem = "field " + std::string(n) + " contains a control character";
          return;
        }
      }
    }
    const char* p = s->c_str();
    const char* end = p + s->size();
    while (p < end) {
      if (flatbuffers::FromUTF8(&p) < 0) {
        problem = "field " + std::string(field) + " is not valid UTF-8";
        return;
      }
    }
  }
  const char* field = "";
  std::string problem;
};

}  // namespace

struct EventCodec::Impl {
  flatbuffers::Parser parser;
};

EventCodec::EventCodec(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventCodec::~EventCodec() = default;

Result<std::unique_ptr<EventCodec>> EventCodec::Create() {
  auto impl = std::make_unique<Impl>();
  impl->parser.opts.strict_json = true;
  impl->parser.opts.indent_step = -1;
  impl->parser.opts.output_default_scalars_in_json = true;
  if (!impl->parser.Parse(internal::kSchemaText)) {
    return Status::Fatal("the embedded schema does not parse: " + impl->parser.error_);
  }
  return std::unique_ptr<EventCodec>(new EventCodec(std::move(impl)));
}

Result<EncodedEvent> EventCodec::FromJson(std::string_view line, Millis now) {
  if (line.size() > kMaxEventLineBytes) return LineTooLong(line.size());
  auto parsed = ParseJsonInput(line);
  if (!parsed.ok()) return parsed.status();
  Json in = std::move(*parsed);
  if (!in.is_object()) return Status::InvalidInput("expected a JSON object");

  for (auto it = in.begin(); it != in.end(); ++it) {
    static constexpr const char* kKnown[] = {"type",   "event_id",       "account_id",
                                             "occurred_at", "source",    "actor",
                                             "correlation_id", "causation_id", "data"};
    if (std::find_if(std::begin(kKnown), std::end(kKnown),
                     [&](const char* k) { return it.key() == k; }) == std::end(kKnown)) {
      return Status::InvalidInput("unknown field '" + it.key() + "'");
    }
  }
  if (!in.contains("type") || !in["type"].is_string()) {
    return Status::InvalidInput("missing field 'type' (the event type, e.g. AgreementPurchased)");
  }
  const std::string type = in["type"].get<std::string>();
  const std::optional<fb::Event> event = EventByName(type);
  if (!event) return Status::InvalidInput("unknown event type '" + type + "'");
  const bool reference = IsReferenceEvent(*event);

  EncodedEvent out;
  out.type = type;
  if (in.contains("event_id")) {
    if (!in["event_id"].is_string()) return Status::InvalidInput("event_id: expected a UUID string");
    auto id = ParseUuid(in["event_id"].get<std::string>());
    if (!id.ok()) return Status::InvalidInput("event_id: " + id.status().message());
    out.event_id = *id;
  } else {
    out.event_id = NewUuidV7(now);
  }
  if (reference) {
    if (in.contains("account_id")) {
      return Status::InvalidInput("account_id: reference data (" + type + ") has no account");
    }
  } else {
    if (!in.contains("account_id") || !in["account_id"].is_string()) {
      return Status::InvalidInput("missing field 'account_id' (a string)");
    }
    out.account_id = in["account_id"].get<std::string>();
    if (Status s = CheckId("account_id", out.account_id); !s.ok()) return s;
  }
  Millis occurred = now;
  if (in.contains("occurred_at")) {
    if (!in["occurred_at"].is_string()) {
      return Status::InvalidInput("occurred_at: expected an RFC 3339 time string");
    }
    auto t = ParseTime(in["occurred_at"].get<std::string>());
    if (!t.ok()) return Status::InvalidInput("occurred_at: " + t.status().message());
    occurred = *t;
  }
  Json data = in.contains("data") ? in["data"] : Json::object();
  if (!data.is_object()) return Status::InvalidInput("data: expected a JSON object");
  if (Status s = TimesToMillis(data, "data"); !s.ok()) return s;

  // The FlatBuffers JSON of the Envelope, parsed against the schema by flatc's parser.
  Json env = Json::object();
  Json bytes = Json::array();
  for (uint8_t b : out.event_id) bytes.push_back(b);
  env["event_id"] = {{"bytes", bytes}};
  if (!reference) env["account_id"] = out.account_id;
  env["occurred_at"] = occurred;
  env["schema_version"] = kSchemaVersion;
  for (const char* f : kEnvelopeStrings) {
    if (!in.contains(f)) continue;
    if (!in[f].is_string()) return Status::InvalidInput(std::string(f) + ": expected a string");
    env[f] = in[f];
  }
  env["event_type"] = type;
  env["event"] = std::move(data);

  auto& parser = impl_->parser;
  const std::string text = env.dump();
  if (!parser.ParseJson(text.c_str())) {
    std::string why = CleanParserError(parser.error_, text);
    parser.error_.clear();
    return Status::InvalidInput("data: " + why);
  }
  out.bytes.assign(reinterpret_cast<const char*>(parser.builder_.GetBufferPointer()),
                   parser.builder_.GetSize());
  // What the projector will check, checked before anything is sent.
  auto verified = VerifyEnvelope(out.bytes.data(), out.bytes.size());
  if (!verified.ok()) return verified.status();
  if (reference) {
    out.topic = kReferenceTopic;
    out.key = ReferenceKey(**verified);
  } else {
    out.topic = kEventsTopic;
    out.key = out.account_id;
  }
  return out;
}

Result<std::string> EventCodec::ToJson(const void* data, size_t size) const {
  auto verified = VerifyEnvelope(data, size);
  if (!verified.ok()) return verified.status();
  std::string text;
  if (!flatbuffers::GenerateText(impl_->parser, data, &text)) {
    return Status::Corruption("the envelope could not be rendered as JSON");
  }
  Json fbjson = Json::parse(text, nullptr, false);
  if (fbjson.is_discarded()) return Status::Corruption("flatc produced invalid JSON");

  const fb::Envelope& e = **verified;
  Json out = Json::object();
  out["type"] = EventTypeName(e.event_type());
  UuidBytes id{};
  std::copy(e.event_id()->bytes()->begin(), e.event_id()->bytes()->end(), id.begin());
  out["event_id"] = FormatUuid(id);
  if (e.account_id()) out["account_id"] = e.account_id()->str();
  out["occurred_at"] = FormatTime(e.occurred_at());
  for (const char* f : kEnvelopeStrings) {
    if (fbjson.contains(f)) out[f] = fbjson[f];
  }
  Json d = fbjson.contains("event") ? fbjson["event"] : Json::object();
  MillisToTimes(d);
  out["data"] = std::move(d);
  return out.dump();
}

Result<const fb::Envelope*> VerifyEnvelope(const void* data, size_t size) {
  if (data == nullptr || size < 8) {
    return Status::Corruption("too short to be an envelope (" + std::to_string(size) + " bytes)");
  }
  if (!fb::EnvelopeBufferHasIdentifier(data)) {
    return Status::Corruption(std::string("no file identifier \"") + fb::EnvelopeIdentifier() +
                              "\" at bytes 4-7: not a ledger Envelope (a FlatBuffers writer must finish the "
                              "buffer with the schema's file_identifier, e.g. builder.Finish(envelope, \"" +
                              fb::EnvelopeIdentifier() + "\"))");
  }
  flatbuffers::Verifier verifier(static_cast<const uint8_t*>(data), size);
  if (!fb::VerifyEnvelopeBuffer(verifier)) {
    return Status::Corruption("the FlatBuffers verifier rejected the envelope");
  }
  const fb::Envelope* e = fb::GetEnvelope(data);
  const auto type = e->event_type();
  if (type == fb::Event::NONE || type > fb::Event::MAX || e->event() == nullptr) {
    return Status::InvalidInput("unknown event type " +
                                std::to_string(static_cast<int>(type)) + " (schema version " +
                                std::to_string(e->schema_version()) + ")");
  }
  if (!IsReferenceEvent(type)) {
    if (e->account_id() == nullptr || e->account_id()->size() == 0) {
      return Status::InvalidInput(EventTypeName(type) + " without an account_id");
    }
    if (Status s = CheckId("account_id", e->account_id()->string_view()); !s.ok()) {
      return Status::InvalidInput(EventTypeName(type) + ": " + s.message());
    }
  }
  ContentCheck content;
  flatbuffers::IterateFlatBuffer(static_cast<const uint8_t*>(data), fb::EnvelopeTypeTable(), &content);
  if (!content.problem.empty()) return Status::InvalidInput(EventTypeName(type) + ": " + content.problem);
  return e;
}

bool IsReferenceEvent(fb::Event type) {
  return type >= fb::Event::ProductVersionLifecycle && type <= fb::Event::PolicySet;
}

std::string EventTypeName(fb::Event type) {
  if (type == fb::Event::NONE || type > fb::Event::MAX) {
    return "Unknown(" + std::to_string(static_cast<int>(type)) + ")";
  }
  return fb::EnumNamesEvent()[static_cast<int>(type)];
}

namespace {

// Hashes what an Envelope says, field by field in schema order (so neither the buffer's
// layout nor its padding counts), leaving out the envelope's occurred_at.
class ContentHasher : public flatbuffers::IterationVisitor {
 public:
  void StartSequence() override {
    ++depth_;
    Mix(1);
  }
  void EndSequence() override {
    --depth_;
    Mix(2);
  }
  void Field(size_t field, size_t, flatbuffers::ElementaryType, bool, const flatbuffers::TypeTable*,
             const char* name, const uint8_t* val) override {
    skip_ = depth_ == 1 && name != nullptr && std::strcmp(name, "occurred_at") == 0;
    if (val != nullptr && !skip_) Mix(0x100 + field);
  }
  void UType(uint8_t x, const char*) override { Scalar(x); }
  void Bool(bool x) override { Scalar(x); }
  void Char(int8_t x, const char*) override { Scalar(static_cast<uint64_t>(x)); }
  void UChar(uint8_t x, const char*) override { Scalar(x); }
  void Short(int16_t x, const char*) override { Scalar(static_cast<uint64_t>(x)); }
  void UShort(uint16_t x, const char*) override { Scalar(x); }
  void Int(int32_t x, const char*) override { Scalar(static_cast<uint64_t>(x)); }
  void UInt(uint32_t x, const char*) override { Scalar(x); }
  void Long(int64_t x) override { Scalar(static_cast<uint64_t>(x)); }
  void ULong(uint64_t x) override { Scalar(x); }
  void Float(float x) override {
    uint32_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    Scalar(bits);
  }
  void Double(double x) override {
    uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    Scalar(bits);
  }
  void String(const flatbuffers::String* s) override {
    Mix(0x200 + s->size());
    const char* p = s->c_str();
    for (size_t i = 0; i < s->size(); i += 8) {
      uint64_t w = 0;
      std::memcpy(&w, p + i, std::min<size_t>(8, s->size() - i));
      Mix(w);
    }
  }
  void Element(size_t i, flatbuffers::ElementaryType, const flatbuffers::TypeTable*, const uint8_t*) override {
    Mix(0x300 + i);
  }

  uint64_t hash() const { return h_ == 0 ? 1 : h_ ^ (h_ >> 29); }

 private:
  void Scalar(uint64_t x) {
    if (skip_) {
      skip_ = false;
      return;
    }
    Mix(x);
  }
  void Mix(uint64_t w) {
    h_ ^= w * 0xBF58476D1CE4E5B9ULL;
    h_ = ((h_ << 31) | (h_ >> 33)) * 0x94D049BB133111EBULL;
  }
  uint64_t h_ = 0x9E3779B97F4A7C15ULL;
  int depth_ = 0;
  bool skip_ = false;
};

}  // namespace

uint64_t ContentHash(const fb::Envelope& envelope) {
  ContentHasher hasher;
  flatbuffers::IterateObject(reinterpret_cast<const uint8_t*>(&envelope), fb::EnvelopeTypeTable(), &hasher);
  return hasher.hash();
}

std::string ReferenceKey(const fb::Envelope& e) {
  std::string entity;
  Millis effective = 0;
  switch (e.event_type()) {
    case fb::Event::ProductVersionLifecycle: {
      auto* r = e.event_as_ProductVersionLifecycle();
      entity = r->product()->str() + "/" + r->version()->str();
      effective = r->effective_at();
      break;
    }
    case fb::Event::ServiceLevelDefined: {
      auto* r = e.event_as_ServiceLevelDefined();
      entity = std::string(fb::EnumNameOffering(r->offering())) + "/" + std::to_string(r->severity());
      effective = r->effective_at();
      break;
    }
    case fb::Event::LanguageSupportDefined: {
      auto* r = e.event_as_LanguageSupportDefined();
      entity = r->region()->str();
      effective = r->effective_at();
      break;
    }
    case fb::Event::ExtensionProgrammeDefined: {
      auto* r = e.event_as_ExtensionProgrammeDefined();
      entity = r->product()->str() + "/" + r->version()->str();
      effective = r->effective_at();
      break;
    }
    case fb::Event::PolicySet: {
      auto* r = e.event_as_PolicySet();
      entity = r->name()->str();
      effective = r->effective_at();
      break;
    }
    default:
      return EventTypeName(e.event_type());
  }
  return EventTypeName(e.event_type()) + "/" + entity + "@" + FormatTime(effective);
}

}  // namespace ledger
