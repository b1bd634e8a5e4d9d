// Figures read when Prometheus scrapes: the projection store's RocksDB (size, memtables,
// block cache, stalls, compactions) and the process (memory, CPU, open files, start).
#pragma once

#include <prometheus/collectable.h>

#include <memory>

#include "ledger/storage/projection_store.h"

namespace ledger {

// `store` must outlive the collector (register it with the exposer after the store is
// open, remove it before the store closes).
std::shared_ptr<prometheus::Collectable> MakeRuntimeCollector(const ProjectionStore* store);

}  // namespace ledger
