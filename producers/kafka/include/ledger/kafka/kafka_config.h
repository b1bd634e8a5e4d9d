// Building librdkafka configurations: the broker address, the user's pass-through
// properties file, then the settings our guarantees depend on (which always win).
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ledger/base/status.h"

namespace ledger {

// Where the broker is and how to talk to it.
struct KafkaSettings {
  // bootstrap.servers. Default: the local stack's broker.
  std::string brokers = "127.0.0.1:9092";
  // Optional librdkafka properties file (key=value lines, '#' comments), passed
  // through as is: security settings, timeouts, client.id, ...
  std::string properties_file;
};

using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// Reads a properties file; errors name the file and line.
Result<KafkaProperties> ReadKafkaProperties(const std::string& path);

// A global configuration: bootstrap.servers and `defaults`, then the file's properties
// (which may override the defaults), then `fixed` (which nothing overrides). Callbacks
// are set by the caller on the returned object.
Result<std::unique_ptr<RdKafka::Conf>> MakeKafkaConf(const KafkaSettings& settings,
                                                     const KafkaProperties& fixed,
                                                     const KafkaProperties& defaults = {});

}  // namespace ledger
