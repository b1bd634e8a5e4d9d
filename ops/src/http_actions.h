// The HTTP API's ingest and admin actions in the projector process.
#pragma once

#include "ledger/commands.h"
#include "ledger/query_server.h"

namespace ledger {

// Ingest publishes with the process's Kafka settings; admin acts on `store` (checkpoint)
// or runs the commands (dlq replay, rebuild).
ServerActions MakeServerActions(const CommonOptions& common, ProjectionStore* store);

}  // namespace ledger
