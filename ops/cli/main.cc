// The `ledger` command line: thin flag parsing around the commands in ops/src.
#include <CLI/CLI.hpp>
#include <signal.h>
#include <sys/stat.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <iostream>
#include <thread>

#include "command_line_check.h"
#include "command_line_docs.h"
#include "ledger/kafka/kafka_refusal.h"
#include "ledger/ops/commands.h"
#include "ledger/queries/questions.h"
#include "ledger/storage/projection_store.h"

namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// Runs `body` with SIGINT and SIGTERM turned into `stop` = true (delivered to a
// dedicated thread, so no handler touches shared state).
int WithStopSignals(const std::function<int(const std::atomic<bool>&)>& body) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);  // used below to wake the waiter when the body ends
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::atomic<bool> stop{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&set, &sig);
    stop = true;
  });
  int rc = body(stop);
  if (!stop) pthread_kill(waiter.native_handle(), SIGUSR1);
  waiter.join();
  return rc;
}

// Ends the process on SIGINT or SIGTERM as their default action would, after removing
// the scratch directories its store readers keep (no destructor runs on a signal).
void ExitOnStopSignalsLeavingNothingBehind() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    sigwait(&set, &sig);
    ledger::RemoveReaderScratchOfThisProcess();
    std::_Exit(128 + sig);
  }).detach();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ledger;
  // The store, checkpoints, tokens and scratch copies hold customers' data and secrets:
  // whatever this process creates is its owner's only.
  ::umask(077);
  CLI::App app{"ledger: an event-sourced support ledger on Apache Kafka and RocksDB"};
  app.require_subcommand(1);
  app.fallthrough();  // the global options (--brokers, --data-dir, ...) anywhere on the line
  app.set_version_flag("--version", "ledger 0.1.0");

  CommonOptions common;
  common.kafka.brokers = EnvOr("LEDGER_BROKERS", common.kafka.brokers);
  common.kafka.properties_file = EnvOr("LEDGER_KAFKA_CONFIG", "");
  common.data_dir = EnvOr("LEDGER_DATA_DIR", common.data_dir);
  app.add_option("--brokers", common.kafka.brokers, "Kafka bootstrap servers (env LEDGER_BROKERS)")
      ->capture_default_str();
  app.add_option("--kafka-config", common.kafka.properties_file,
                 "librdkafka properties file passed through (env LEDGER_KAFKA_CONFIG)");
  app.add_option("--data-dir", common.data_dir, "projection store directory (env LEDGER_DATA_DIR)")
      ->capture_default_str();

  // publish
  PublishOptions publish;
  auto* pub = app.add_subcommand("publish", "Publish events: JSON lines from FILE, or - for stdin");
  pub->add_option("input", publish.input, "file of JSON lines, or - for standard input")->required();
  pub->add_option("--flush-timeout", publish.flush_timeout_seconds,
                  "seconds to wait for the broker's acknowledgements")
      ->capture_default_str();
  pub->add_flag("--print-positions", publish.print_positions,
                "also print the last offset acknowledged in each partition (positions P:O,...), "
                "for a question's --min-position");

  // project
  ProjectOptions project;
  auto* proj = app.add_subcommand("project", "Run the projector: fold ledger.events into the store");
  proj->add_option("--group", project.group_id, "consumer group id")->capture_default_str();
  proj->add_option("--instance-id", project.instance_id,
                   "static group member id (default: from the host name and the data dir)");
  proj->add_option("--metrics-listen", project.metrics_listen,
                   "address for /metrics (empty to disable)")
      ->capture_default_str();
  proj->add_option("--http-listen", project.http_listen,
                   "address of the HTTP API (empty to disable; port 0: any free port)")
      ->capture_default_str();
  proj->add_option("--http-advertise", project.http_advertise,
                   "the API's address as the group's other instances reach it, http(s)://HOST:PORT "
                   "(default: from --http-listen, a wildcard host replaced by the host name)");
  proj->add_option("--group-secret", project.group_secret_file,
                   "a file (chmod 600) holding the secret every instance of the group shares (openssl rand -hex 32): "
                   "without it the instance neither announces itself nor forwards, and answers only for the "
                   "partitions it owns");
  proj->add_option("--tokens", project.tokens_file, "the API's tokens file (default: DATA_DIR.tokens)");
  proj->add_option("--ingest-kafka-config", project.ingest_kafka_config,
                   "librdkafka properties POST /v1/events publishes with, e.g. the publisher's on a secure "
                   "cluster (default: --kafka-config's)")
      ->check(CLI::ExistingFile);
  proj->add_option("--checkpoint-dir", project.checkpoint_dir,
                   "the folder online checkpoints go to, by name (default: DATA_DIR.checkpoints)");
  proj->add_option("--tls-cert", project.tls_cert_file, "PEM certificate: serve the API over HTTPS only");
  proj->add_option("--tls-key", project.tls_key_file, "PEM private key for --tls-cert");
  proj->add_option("--peer-ca", project.peer_ca_file,
                   "PEM certificates trusted for the group's other instances served over HTTPS "
                   "(default: --tls-cert, else the system's CAs)")
      ->check(CLI::ExistingFile);
  proj->add_option("--max-batch", project.max_batch, "events per RocksDB commit at most")
      ->capture_default_str();
  proj->add_option("--compact-when-idle", project.compact_when_idle_seconds,
                   "seconds without a write after which level-0 files are merged, for faster answers (0: off)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  proj->add_option("--standbys", project.standbys,
                   "each partition is also followed by this many other instances of the group, as warm standbys")
      ->check(CLI::Range(0, 8))
      ->capture_default_str();
  proj->add_flag("--until-caught-up", project.until_caught_up,
                 "exit once the partitions are projected up to their end at start");
  proj->add_option("--min-free-disk", project.min_free_disk_mib,
                   "MiB to keep free on the store's disk: below it, pause until there is room (0: off)")
      ->capture_default_str();
  proj->add_option("--list-max-entries", project.list_max_entries,
                   "entries one list of the HTTP API may read; a list that needs more is a 422 saying how to narrow it")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  proj->add_option("--refold-beside", project.refold_beside_kib,
                   "KiB of journal (on disk) above which a late event's refold of an account runs beside the "
                   "projection, the account answered from its journal meanwhile (0: always in the batch)")
      ->capture_default_str();
  std::string durability = "wal";
  proj->add_option("--durability", durability,
                   "wal (a commit survives a process crash) or wal-sync (fsync: survives "
                   "power loss too)")
      ->check(CLI::IsMember({"wal", "wal-sync"}))
      ->capture_default_str();

  // query
  auto* query = app.add_subcommand("query", "Ask the projection");
  query->require_subcommand(1);
  // The questions of ledger/queries/questions.h: each option fills its parameter.
  std::map<std::string, std::map<std::string, std::string>> asked;
  std::map<std::string, std::map<std::string, bool>> flags;
  std::string format = "table";
  std::map<std::string, CLI::App*> questions;
  for (const Question& q : Questions()) {
    const bool list = q.shape == Question::Shape::kList;
    auto* sub = query->add_subcommand(q.name, q.summary);
    questions[q.name] = sub;
    for (const QuestionParameter& p : q.parameters) {
      std::string flag = p.name;
      std::replace(flag.begin(), flag.end(), '_', '-');
      if (p.kind == QuestionParameter::Kind::kFlag) {
        sub->add_flag("--" + flag, flags[q.name][p.name], p.help);
        continue;
      }
      auto* option = sub->add_option(p.positional ? p.name : "--" + flag, asked[q.name][p.name], p.help);
      if (p.required) option->required();
    }
    sub->add_option("--min-position", asked[q.name]["min_position"],
                    "answer once these positions of ledger.events are projected (P:O,..., as "
                    "ledger publish --print-positions prints them)");
    sub->add_option("--max-wait-ms", asked[q.name]["max_wait_ms"],
                    "how long --min-position may wait (default 2000, at most 10000)");
    if (list) {
      sub->add_flag("--all", flags[q.name]["all"],
                    "every item: pages through the list (else --limit items from --offset, the rest said on stderr)");
    }
    sub->add_option("--format", format, list ? "table, json, jsonl or csv" : "table or json")
        ->check(CLI::IsMember(list ? std::vector<std::string>{"table", "json", "jsonl", "csv"}
                                   : std::vector<std::string>{"table", "json"}))
        ->capture_default_str();
  }
  std::string events_account;
  auto* qv = query->add_subcommand("events", "The events stored for an account, as JSON lines");
  qv->add_option("--account", events_account, "account id")->required();

  std::string reference_type;
  auto* qr = query->add_subcommand("reference", "The reference data stored, as JSON lines");
  qr->add_option("--type", reference_type, "only this event type, e.g. ProductVersionLifecycle");

  // dlq
  DlqOptions dlq_options;
  auto* dlq = app.add_subcommand("dlq", "The dead-letter topic");
  dlq->require_subcommand(1);
  auto* dlq_list = dlq->add_subcommand("list", "List dead letters as JSON lines (--summary: counts by reason)");
  dlq_list->add_flag("--summary", dlq_options.summary, "counts by reason, and how many are valid now");
  auto* dlq_replay = dlq->add_subcommand("replay", "Re-publish the dead letters that are valid now");
  dlq_replay->add_flag("--dry-run", dlq_options.dry_run, "say what would be sent; send nothing");
  for (auto* sub : {dlq_list, dlq_replay}) {
    sub->add_option("--from", dlq_options.from, "first dead-letter offset")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    sub->add_option("--to", dlq_options.to, "last dead-letter offset (default: the end)")->check(CLI::NonNegativeNumber);
    sub->add_option("--reason", dlq_options.reason, "only the letters whose reason contains this text");
  }

  // checkpoint
  std::string checkpoint_dir;
  // token
  std::string token_name, token_role = "analyst", tokens_file;
  auto* tok = app.add_subcommand("token", "Bearer tokens of the HTTP API (stored hashed)");
  tok->require_subcommand(1);
  auto* tok_create = tok->add_subcommand("create", "Create a token and print it (shown once)");
  tok_create->add_option("name", token_name, "who or what it is for")->required();
  tok_create->add_option("--role", token_role, "analyst (read), operator (read, admin) or publisher (ingest)")
      ->check(CLI::IsMember({"analyst", "operator", "publisher"}))
      ->capture_default_str();
  auto* tok_revoke = tok->add_subcommand("revoke", "Revoke the tokens of a name");
  tok_revoke->add_option("name", token_name, "the token's name")->required();
  auto* tok_list = tok->add_subcommand("list", "List tokens: name, role, created, revoked");
  for (auto* sub : {tok_create, tok_revoke, tok_list}) {
    sub->add_option("--tokens", tokens_file, "the tokens file (default: DATA_DIR.tokens)");
  }

  auto* ck = app.add_subcommand("checkpoint", "Write a consistent copy of the store (projector stopped)");
  ck->add_option("dir", checkpoint_dir, "where to write it (must not exist)")->required();

  // rebuild
  auto* rb = app.add_subcommand("rebuild", "Replay the log into a new store beside the live one, then switch");

  // verify
  bool verify_keep = false;
  auto* vf = app.add_subcommand("verify", "Compare the projection with a fresh replay of the log");
  vf->add_flag("--keep", verify_keep, "keep the replayed store (beside the data dir)");
  // The consumer groups of these commands begin with the projector group (ACLs by prefix).
  for (auto* sub : {dlq_list, dlq_replay, vf, rb}) {
    sub->add_option("--group", common.group, "the projector group (the prefix of this command's consumer group)")
        ->capture_default_str();
  }

  // status, digest
  StatusOptions status;
  auto* st = app.add_subcommand("status", "Projection progress against the broker, per partition");
  st->add_option("--wait", status.wait_seconds,
                 "wait up to this many seconds until the projection has caught up");
  std::string status_format = "table";
  status.api = "http://" + EnvOr("LEDGER_HTTP_LISTEN", "127.0.0.1:8080");
  st->add_option("--format", status_format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  st->add_option("--api", status.api,
                 "the running projector's HTTP API, asked whether it is paused, its errors and throughput (empty: "
                 "not asked)")
      ->capture_default_str();
  st->add_option("--token-file", status.token_file, "a file holding an analyst token for --api (or env LEDGER_TOKEN)")
      ->check(CLI::ExistingFile);
  st->add_option("--api-ca", status.api_ca_file, "PEM certificates trusted for an https:// --api")
      ->check(CLI::ExistingFile);
  auto* dg = app.add_subcommand("digest", "Digest of the projection state (equal stores, equal digests)");
  std::optional<int> digest_partition;
  dg->add_option("--partition", digest_partition,
                 "only this partition's state (equal wherever that partition was projected equally)")
      ->check(CLI::NonNegativeNumber);

  // audit
  int64_t audit_from = 0;
  auto* aud = app.add_subcommand("audit", "The audit trail on ledger.audit, as JSON lines");
  aud->add_option("--from", audit_from, "from this offset of ledger.audit")->check(CLI::NonNegativeNumber);
  aud->add_option("--group", common.group, "the projector group (the prefix of this command's consumer group)")
      ->capture_default_str();

  // acls
  AclsOptions acls;
  auto* acl = app.add_subcommand("acls", "The Kafka ACLs of the ledger's principals (least privilege)");
  acl->add_option("action", acls.action, "print (the documented set), apply (create them), check (compare)")
      ->required()
      ->check(CLI::IsMember({"print", "apply", "check"}));
  acl->add_option("--group", acls.group, "the projector group (its consumer groups' prefix)")->capture_default_str();
  acl->add_option("--publisher", acls.publisher, "the publisher's Kafka user")->capture_default_str();
  acl->add_option("--projector", acls.projector, "the projector's Kafka user")->capture_default_str();
  acl->add_option("--operator", acls.operator_user, "the operator's Kafka user")->capture_default_str();

  // completion, man: the definitions above, for a shell and for man(1)
  std::string completion_shell;
  auto* completion = app.add_subcommand("completion", "Print a shell completion script: source <(ledger completion bash)");
  completion->add_option("shell", completion_shell, "the shell (bash)")->required()->check(CLI::IsMember({"bash"}));
  auto* man = app.add_subcommand("man", "Print the manual page: ledger man | man -l -");

  if (auto wrong = MisplacedWord(app, std::vector<std::string>(argv + 1, argv + argc))) {
    std::cerr << *wrong << "\n";
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  if (*completion) {
    std::cout << BashCompletion(app);
    return kExitOk;
  }
  if (*man) {
    std::cout << ManPage(app, "ledger 0.1.0");
    return kExitOk;
  }
  spdlog::flush_on(spdlog::level::trace);  // every line written at once: a SIGKILL loses none
  if (const std::string w = ScramWarning(common.kafka); !w.empty()) std::cerr << "ledger: warning: " << w << "\n";
  try {
    if (!*proj) ExitOnStopSignalsLeavingNothingBehind();  // `project` stops on them cleanly
    if (*pub) {
      if (publish.input == "-") return RunPublish(common, publish, std::cin, std::cout, std::cerr);
      std::ifstream in(publish.input);
      if (!in) {
        std::cerr << "ledger publish: cannot read " << publish.input << "\n";
        return kExitUsage;
      }
      return RunPublish(common, publish, in, std::cout, std::cerr);
    }
    if (*proj) {
      common.group = project.group_id;  // the admin actions' replays (rebuild) join groups under it
      project.durability = durability == "wal-sync" ? StoreOptions::Durability::kWalSync
                                                    : StoreOptions::Durability::kWal;
      return WithStopSignals([&](const std::atomic<bool>& stop) {
        return RunProject(common, project, stop, std::cout, std::cerr);
      });
    }
    for (auto& [name, sub] : questions) {
      if (!*sub) continue;
      auto params = asked[name];
      for (const auto& [flag, set] : flags[name]) {
        if (set) params[flag] = "true";
      }
      std::erase_if(params, [](const auto& p) { return p.second.empty(); });
      const OutputFormat f = format == "json"    ? OutputFormat::kJson
                             : format == "jsonl" ? OutputFormat::kJsonLines
                             : format == "csv"   ? OutputFormat::kCsv
                                                 : OutputFormat::kTable;
      return RunQuery(common, name, params, f, std::cout, std::cerr);
    }
    if (*qv) return RunQueryEvents(common, events_account, std::cout, std::cerr);
    if (*qr) return RunQueryReference(common, reference_type, std::cout, std::cerr);
    if (*dlq_list) return RunDlqList(common, dlq_options, std::cout, std::cerr);
    if (*dlq_replay) return RunDlqReplay(common, dlq_options, std::cout, std::cerr);
    if (*vf) return RunVerify(common, verify_keep, std::cout, std::cerr);
    if (*rb) return RunRebuild(common, std::cout, std::cerr);
    if (*ck) return RunCheckpoint(common, checkpoint_dir, std::cout, std::cerr);
    if (*tok_create) return RunTokenCreate(common, tokens_file, token_name, token_role, std::cout, std::cerr);
    if (*tok_revoke) return RunTokenRevoke(common, tokens_file, token_name, std::cout, std::cerr);
    if (*tok_list) return RunTokenList(common, tokens_file, std::cout, std::cerr);
    if (*st) {
      status.json = status_format == "json";
      return RunStatus(common, status, std::cout, std::cerr);
    }
    if (*dg) return RunDigest(common, digest_partition, std::cout, std::cerr);
    if (*acl) return RunAcls(common, acls, std::cout, std::cerr);
    if (*aud) return RunAuditList(common, audit_from, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "ledger: " << e.what() << "\n";
    return kExitUnavailable;
  }
  return kExitUsage;
}
