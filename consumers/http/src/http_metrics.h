// The HTTP API's Prometheus metrics: requests and their latency by endpoint and status
// code (the endpoint is a route's label, never a value from the request), and the case
// counts the alert rules and the status page show.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <string>
#include <utility>

#include "ledger/base/mutex.h"

namespace ledger {

class HttpMetrics {
 public:
  explicit HttpMetrics(prometheus::Registry& registry);

  // One request answered. Thread-safe.
  void ObserveRequest(const std::string& endpoint, int status, double seconds);

  // The case counts sampled from the open-cases and breached-cases lists. Thread-safe.
  void SetCases(double open, double breached);
  double cases_open() const { return cases_open_.Value(); }
  double cases_breached() const { return cases_breached_.Value(); }
  // A question forwarded to the instance owning its account's partition. Thread-safe.
  void CountForwarded() { forwarded_.Increment(); }

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& seconds_;
  prometheus::Gauge& cases_open_;
  prometheus::Gauge& cases_breached_;
  prometheus::Counter& forwarded_;
  Mutex mu_;
  std::map<std::pair<std::string, int>, prometheus::Counter*> request_counters_ LEDGER_GUARDED_BY(mu_);
  std::map<std::pair<std::string, int>, prometheus::Histogram*> latency_ LEDGER_GUARDED_BY(mu_);
};

}  // namespace ledger
