// The `ledger` subcommands, as functions of their options and streams, so that main()
// only parses flags. Each returns the process exit code and reports errors on `err`.
#pragma once

#include <atomic>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>

#include "ledger/kafka/kafka_config.h"
#include "ledger/storage/projection_store.h"

namespace ledger {

// Exit codes shared by the commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;     // some input was rejected (the rest went through)
inline constexpr int kExitUnavailable = 2;  // broker or store unavailable, or undelivered
inline constexpr int kExitUsage = 64;       // bad flags or arguments
inline constexpr int kExitRefused = 77;     // Kafka refused the credentials or an ACL denied the action
inline constexpr int kExitStoreSwitched = 75;  // project: a rebuild switched the store; restart

struct CommonOptions {
  KafkaSettings kafka;
  std::string data_dir = "var/ledger";
  // The projector group: every consumer group id a command uses begins with it (`dlq`,
  // `verify`, `rebuild` take --group), so that ACLs on that prefix cover them.
  std::string group = "ledger-projector";
};

struct PublishOptions {
  std::string input = "-";  // a file, or "-" for standard input
  int flush_timeout_seconds = 30;
  // Also print "positions P:O,..." (the last offset acknowledged in each partition of
  // ledger.events), for a question's --min-position.
  bool print_positions = false;
};
// Reads JSON lines; reports each bad line as "<input>:<line>: <reason>"; sends the good
// ones; waits for every acknowledgement; prints a summary on `out`.
int RunPublish(const CommonOptions& common, const PublishOptions& options, std::istream& in,
               std::ostream& out, std::ostream& err);

struct ProjectOptions {
  std::string group_id = "ledger-projector";
  std::string instance_id;  // empty: derived from the host and the data dir
  std::string metrics_listen = "127.0.0.1:9464";  // empty: no /metrics endpoint
  size_t max_batch = 50000;
  bool until_caught_up = false;
  // Each partition is also followed by this many other instances of the group (warm
  // standbys: a partition that moves to one resumes from its store in seconds; a question
  // is answered by one while the owner is gone). Needs the HTTP API (the instances find
  // each other through its announcements).
  int standbys = 0;
  int compact_when_idle_seconds = 30;  // 0: no IdleCompactor
  StoreOptions::Durability durability = StoreOptions::Durability::kWal;
  uint64_t min_free_disk_mib = 64;
  uint64_t refold_beside_kib = 1024;  // ProjectorOptions::refold_beside_bytes
  int64_t list_max_entries = 500'000;  // ListBounds::most_entries of the HTTP API
  // The HTTP API (ledger/query_server.h): empty listen address: none.
  std::string http_listen = "127.0.0.1:8080";
  // The API's address as the group's other instances reach it (announced on
  // ledger.instances); empty: http(s)://<http_listen>, a wildcard host replaced by the
  // host name.
  std::string http_advertise;
  std::string tokens_file;  // empty: DATA_DIR.tokens
  std::string tls_cert_file, tls_key_file;
  std::string peer_ca_file;  // trusted for the other instances' https:// addresses
  std::string group_secret_file;  // the group's shared secret (ledger/cluster/group_credential.h)
  // Where POST /v1/admin/checkpoint?name=N writes (DIR/N); empty: DATA_DIR.checkpoints.
  std::string checkpoint_dir;
  // The Kafka properties POST /v1/events publishes with (on a secure cluster, the
  // publisher's); empty: --kafka-config's.
  std::string ingest_kafka_config;
};
int RunProject(const CommonOptions& common, const ProjectOptions& options,
               const std::atomic<bool>& stop, std::ostream& out, std::ostream& err);

// The tokens file of a data dir (DATA_DIR.tokens) unless one is given.
std::string TokensFileFor(const CommonOptions& common, const std::string& given);

// `ledger token create NAME --role R`: prints the new token (shown once; stored hashed).
int RunTokenCreate(const CommonOptions& common, const std::string& tokens_file, const std::string& name,
                   const std::string& role, std::ostream& out, std::ostream& err);
int RunTokenRevoke(const CommonOptions& common, const std::string& tokens_file, const std::string& name,
                   std::ostream& out, std::ostream& err);
int RunTokenList(const CommonOptions& common, const std::string& tokens_file, std::ostream& out,
                 std::ostream& err);

enum class OutputFormat { kTable, kJson, kJsonLines, kCsv };

// Asks one question (see LedgerView::Ask and QueryCatalog in ledger/ledger_view.h) and
// prints the answer: a table, JSON, or for a list JSON lines or CSV of its items.
// Exit codes: 0 answered, 1 rejected (bad parameter, unknown case), 2 store unavailable.
int RunQuery(const CommonOptions& common, const std::string& name,
             const std::map<std::string, std::string>& params, OutputFormat format, std::ostream& out,
             std::ostream& err);

// The events stored for an account, oldest first, as JSON lines (anomalies included).
int RunQueryEvents(const CommonOptions& common, const std::string& account, std::ostream& out,
                   std::ostream& err);

// The reference data the projector has stored (optionally of one event type), as JSON
// lines with their keys.
int RunQueryReference(const CommonOptions& common, const std::string& type, std::ostream& out,
                      std::ostream& err);

struct StatusOptions {
  int wait_seconds = 0;  // > 0: wait until the projection has caught up with the broker
  bool json = false;     // one JSON document instead of the table
  // The running projector's HTTP API, asked for its health (GET /v1/status: paused and
  // why, errors, throughput) with the token in `token_file` (or $LEDGER_TOKEN); empty: not
  // asked.
  std::string api = "http://127.0.0.1:8080";
  std::string token_file;
  std::string api_ca_file;  // trusted for an https:// API (default: the system's CAs)
};
int RunStatus(const CommonOptions& common, const StatusOptions& options, std::ostream& out,
              std::ostream& err);

struct AclsOptions {
  std::string action;  // print, apply or check
  std::string group = "ledger-projector";  // the projector group whose consumer groups the ACLs cover
  std::string publisher = "publisher", projector = "projector", operator_user = "operator";  // Kafka user names
};
// The Kafka ACLs of the ledger's principals (ledger/kafka/kafka_acls.h): print them,
// create them (as a super user's --kafka-config), or check the cluster's against them
// (exit 1 when they differ). kExitRefused when the cluster refuses the client.
int RunAcls(const CommonOptions& common, const AclsOptions& options, std::ostream& out, std::ostream& err);

// Records what a command did on ledger.audit (ledger/producers/audit_log.h) as the
// command's Kafka user; a record that cannot be written is a warning on `err`.
void RecordCommand(const CommonOptions& common, const std::string& action, const std::string& target,
                   const std::string& result, std::ostream& err);
// The audit trail from offset `from` on, as JSON lines (who, role, action, target, result,
// via, host, at_ms).
int RunAuditList(const CommonOptions& common, int64_t from, std::ostream& out, std::ostream& err);

// Which dead letters a dlq command takes, and how.
struct DlqOptions {
  int64_t from = 0;    // the first dead-letter offset
  int64_t to = -1;     // the last one; -1: the topic's end
  std::string reason;  // only letters whose reason contains this text; empty: all
  bool summary = false;  // list: counts by reason instead of the letters
  bool dry_run = false;  // replay: say what would be sent, send nothing
};

// The dead letters selected, as JSON lines: the headers (reason, source topic,
// partition, offset), the key, what this build makes of it now, and `redriven` when
// ledger.audit records a replay of it (left out when ledger.audit cannot be read); or,
// with `summary`, their counts by reason.
int RunDlqList(const CommonOptions& common, const DlqOptions& options, std::ostream& out, std::ostream& err);

// Re-publishes the dead letters selected that are valid now (after a fix or an upgrade)
// to the topic they came from, under their account's key, and records on ledger.audit
// which were; with `dry_run`, says what it would send. Exit 1 if some are still not
// valid (they stay where they are).
int RunDlqReplay(const CommonOptions& common, const DlqOptions& options, std::ostream& out, std::ostream& err);

// Replays the log into a fresh store beside the live one, up to exactly the offsets the
// live store has reached (no dead letters sent), and compares the two, column family by
// column family; reports the first differing key. Exit 0 equal, 1 different.
int RunVerify(const CommonOptions& common, bool keep, std::ostream& out, std::ostream& err);

// Replays the whole log into the next store generation beside the live one (which
// keeps answering), then switches the data dir to it atomically; the old generation
// stays. A running projector notices and moves over (store_layout.h).
int RunRebuild(const CommonOptions& common, std::ostream& out, std::ostream& err);

// Writes a consistent checkpoint (state with its offsets) of a store no projector holds.
int RunCheckpoint(const CommonOptions& common, const std::string& dir, std::ostream& out,
                  std::ostream& err);

// Prints the digest of the projection store (see ProjectionStore::ComputeDigest), or of
// one partition's state (equal in every store that projected that partition equally).
int RunDigest(const CommonOptions& common, std::optional<int> partition, std::ostream& out, std::ostream& err);

}  // namespace ledger
