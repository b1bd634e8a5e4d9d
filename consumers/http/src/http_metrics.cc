#include "http_metrics.h"

namespace ledger {

HttpMetrics::HttpMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("ledger_http_requests_total")
                    .Help("HTTP API requests by endpoint and status code")
                    .Register(registry)),
      seconds_(prometheus::BuildHistogram()
                   .Name("ledger_http_request_duration_seconds")
                   .Help("HTTP API request latency by endpoint and status code, token check included")
                   .Register(registry)),
      cases_open_(prometheus::BuildGauge()
                      .Name("ledger_cases_open")
                      .Help("Support cases open now (sampled every 10 s)")
                      .Register(registry)
                      .Add({})),
      cases_breached_(prometheus::BuildGauge()
                          .Name("ledger_cases_breached")
                          .Help("Support cases past their response target now (sampled every 10 s)")
                          .Register(registry)
                          .Add({})),
      forwarded_(prometheus::BuildCounter()
                     .Name("ledger_http_forwarded_total")
                     .Help("Questions forwarded to the instance owning their account's partition")
                     .Register(registry)
                     .Add({})) {}

void HttpMetrics::ObserveRequest(const std::string& endpoint, int status, double seconds) {
  MutexLock lock(mu_);
  auto& c = request_counters_[{endpoint, status}];
  if (c == nullptr) c = &requests_.Add({{"endpoint", endpoint}, {"status", std::to_string(status)}});
  c->Increment();
  auto& h = latency_[{endpoint, status}];
  if (h == nullptr) {
    h = &seconds_.Add({{"endpoint", endpoint}, {"status", std::to_string(status)}},
                      prometheus::Histogram::BucketBoundaries{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                              0.01, 0.025, 0.1, 1});
  }
  h->Observe(seconds);
}

void HttpMetrics::SetCases(double open, double breached) {
  cases_open_.Set(open);
  cases_breached_.Set(breached);
}

}  // namespace ledger
