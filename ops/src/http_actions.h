// The HTTP API's ingest and admin actions in the projector process.
#pragma once

#include "ledger/http/query_server.h"
#include "ledger/ops/commands.h"
#include "ledger/projector/projector_metrics.h"

namespace ledger {

// Ingest publishes with the process's Kafka settings, its properties file replaced by
// `ingest_kafka_config` if given (the publisher's principal); admin acts on `store`
// (checkpoint, by name under `checkpoint_root`, created if missing) or runs the commands
// (dlq replay, rebuild) with the process's settings.
// Ingest counts its deliveries in `registry` (ledger_publisher_deliveries_total); the
// status comes from the projector's `metrics`.
ServerActions MakeServerActions(const CommonOptions& common, ProjectionStore* store,
                                const std::string& checkpoint_root, const std::string& ingest_kafka_config,
                                prometheus::Registry* registry, const ProjectorMetrics* metrics);

}  // namespace ledger
