#include "ledger/kafka/kafka_config.h"

#include <fstream>

namespace ledger {
namespace {
std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}
}  // namespace

Result<KafkaProperties> ReadKafkaProperties(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read Kafka properties file " + path);
  KafkaProperties out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos || Trim(line.substr(0, eq)).empty()) {
      return Status::InvalidInput(path + ":" + std::to_string(n) + ": expected key=value");
    }
    out.emplace_back(Trim(line.substr(0, eq)), Trim(line.substr(eq + 1)));
  }
  return out;
}

Result<std::unique_ptr<RdKafka::Conf>> MakeKafkaConf(const KafkaSettings& settings,
                                                     const KafkaProperties& fixed,
                                                     const KafkaProperties& defaults) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  auto set = [&](const std::string& k, const std::string& v, const std::string& origin) -> Status {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      // Never the value: it may be a password (sasl.password, ssl.key.password, ...).
      if (!v.empty()) {
        for (size_t at = err.find(v); at != std::string::npos; at = err.find(v, at + 11)) {
          err.replace(at, v.size(), "(the value)");
        }
      }
      return Status::InvalidInput("Kafka property " + k + " (" + origin + "): " + err);
    }
    return Status::Ok();
  };
  if (Status s = set("bootstrap.servers", settings.brokers, "--brokers"); !s.ok()) return s;
  for (const auto& [k, v] : defaults) {
    if (Status s = set(k, v, "ledger default"); !s.ok()) return s;
  }
  if (!settings.properties_file.empty()) {
    auto props = ReadKafkaProperties(settings.properties_file);
    if (!props.ok()) return props.status();
    for (const auto& [k, v] : *props) {
      if (Status s = set(k, v, settings.properties_file); !s.ok()) return s;
    }
  }
  for (const auto& [k, v] : fixed) {
    if (Status s = set(k, v, "required by the ledger"); !s.ok()) return s;
  }
  return conf;
}

}  // namespace ledger
