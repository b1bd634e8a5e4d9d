// The key layout of a partition's column family. storage/README.md documents it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/base/uuid.h"

namespace ledger::keys {

inline constexpr std::string_view kNextOffset = "M:next_offset";

// The key layout a store was written with, in the column family "default": a release
// opens only stores of its own layout (older ones are replayed with `ledger rebuild`).
// Layout 1 (no marker): every entity key starts with its kind tag.
// Layout 2: an account's entitlement facts sit in its group (below).
// Layout 3: a seen event id's value holds its content hash after its offset.
// Layout 4: each account's events in its journal, in business-time order; no history.
inline constexpr std::string_view kLayoutKey = "M:layout";
inline constexpr std::string_view kLayout = "4";

// Reference data lives in the column family "reference", addressed as this partition
// number; its keys are the Kafka keys of ledger.reference (ReferenceKey), its offsets
// ReferenceNextOffset(partition of ledger.reference).
inline constexpr int kReferencePartition = -1;
std::string ReferenceNextOffset(int topic_partition);
inline constexpr std::string_view kSeenEventPrefix = "E";

// Entity keys. An account's own key is 'A' + account. The facts an entitlement, intake or
// portal answer reads (agreements, grants, contacts, portal users, consents and the
// entitlement indexes) sit right after it, in the account's group: 'A', account, '\0',
// kind tag, id. So one answer reads one or two neighbouring data blocks instead of one
// block per kind. Every other entity key is kind tag, account, '\0', id.
std::string Account(std::string_view account);
// The first key after the account's group: [Account(a), AccountGroupEnd(a)) is the
// account's own key and its group, and nothing of another account.
std::string AccountGroupEnd(std::string_view account);
// 'A' + account for the account's own key and every key of its group; empty for any
// other key. The store builds prefix bloom filters on it (ProjectionStore::ScanAccountGroup).
std::string_view AccountGroupOf(std::string_view key);
std::string Agreement(std::string_view account, std::string_view agreement);
std::string AgreementPrefix(std::string_view account);
std::string Grant(std::string_view account, std::string_view grant);  // grants and extensions
std::string Contact(std::string_view account, std::string_view contact);
std::string PortalUser(std::string_view account, std::string_view user);
std::string Consent(std::string_view account, std::string_view consent);
std::string Session(std::string_view account, std::string_view session);
std::string Case(std::string_view account, std::string_view case_id);
std::string Escalation(std::string_view account, std::string_view escalation);
// The keys of the entities an entitlement answer about `product` reads; product "" for
// the consents (they concern every product).
std::string EntitlementIndex(std::string_view account, std::string_view product);

// The kind tags of entity keys, e.g. kCaseTag.
inline constexpr char kAccountTag = 'A', kAgreementTag = 'G', kGrantTag = 'N', kContactTag = 'C',
                      kPortalUserTag = 'U', kConsentTag = 'R', kSessionTag = 'V', kCaseTag = 'K',
                      kEscalationTag = 'S', kAnomalyTag = 'X', kEntitlementIndexTag = 'I',
                      kJournalTag = 'J', kFoldHeadTag = 'F';
// The kind tag of a key (kAccountTag for an account's own key).
char KindOf(std::string_view key);
// The prefix of every key of `kind` of one account, or of all accounts when `account` is
// empty. For a kind of the account group without an account, that is the whole group:
// filter the keys found with KindOf.
std::string KindPrefix(char kind, std::string_view account = {});
// The account of an entity key, or of an account key.
std::string_view AccountOf(std::string_view key);
// The entity id of an entity key ("" for an account key).
std::string_view IdOf(std::string_view key);

// The account's journal: every event of the account that its rules judge (not
// duplicates, not events rejected whatever else is recorded), in two parts, each in
// business-time order: 'J', account, '\0', part (one byte: kFactsPart for the events
// that write the account's own facts, kOtherPart for the rest), occurred_at (8 bytes
// BE), offset (8 bytes BE). A fold of the account's facts reads its part alone; a whole
// fold merges the two (ledger/rules/journal.h).
inline constexpr char kFactsPart = 'a', kOtherPart = 'b';
std::string Journal(std::string_view account, char part, int64_t occurred_at, int64_t offset);
std::string JournalPrefix(std::string_view account);
std::string JournalPrefix(std::string_view account, char part);
// JournalPrefix(account) for a journal key or prefix; empty for any other key. The store's prefix
// bloom filters are built on it and on AccountGroupOf (ProjectionStore::ScanJournal).
std::string_view JournalOf(std::string_view key);
// Where the account's journal has been folded to (ledger/rules/journal.h): 'F', account.
std::string FoldHead(std::string_view account);

std::string SeenEvent(const UuidBytes& id);
std::string Anomaly(std::string_view account, int64_t offset);
std::string AnomalyPrefix(std::string_view account);

// Big-endian fixed 8 bytes, so that offsets sort numerically.
std::string EncodeOffset(int64_t offset);
int64_t DecodeOffset(std::string_view bytes);

}  // namespace ledger::keys
