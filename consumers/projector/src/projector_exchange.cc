#include "ledger/projector/projector_exchange.h"

#include <string>

namespace ledger {

void ProjectorExchange::Follow(std::vector<int> partitions) {
  std::lock_guard lock(mu_);
  wanted_ = std::set<int>(partitions.begin(), partitions.end());
}

void ProjectorExchange::Exclude(std::vector<int> partitions) {
  std::lock_guard lock(mu_);
  excluded_ = std::set<int>(partitions.begin(), partitions.end());
}

Status ProjectorExchange::Release(const std::vector<int>& partitions, std::chrono::milliseconds timeout) {
  std::future<Status> done;
  {
    std::lock_guard lock(mu_);
    for (int p : partitions) {
      wanted_.erase(p);
      excluded_.insert(p);
    }
    if (!running_ || stopped_) return Status::Ok();  // it applies nothing: nothing to let go of
    releases_.emplace_back();
    done = releases_.back().get_future();
  }
  if (done.wait_for(timeout) != std::future_status::ready) {
    return Status::Unavailable("the standby did not let go of its partitions within " +
                               std::to_string(timeout.count()) + " ms");
  }
  return done.get();
}

void ProjectorExchange::Started() {
  std::lock_guard lock(mu_);
  running_ = true;
}

void ProjectorExchange::Stopped() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  for (auto& r : releases_) r.set_value(Status::Ok());
  releases_.clear();
}

ProjectorExchange::Requests ProjectorExchange::Take() {
  std::lock_guard lock(mu_);
  Requests r;
  for (int p : wanted_) {
    if (!excluded_.count(p)) r.follow.insert(p);
  }
  r.releases.swap(releases_);
  return r;
}

void ProjectorExchange::ReportFollowing(Positions following, std::map<int, int64_t> behind) {
  std::lock_guard lock(mu_);
  following_ = std::move(following);
  behind_ = std::move(behind);
}

void ProjectorExchange::ReportRestoring(std::vector<int> restoring) {
  std::lock_guard lock(mu_);
  restoring_ = std::move(restoring);
}

Positions ProjectorExchange::Following() const {
  std::lock_guard lock(mu_);
  return following_;
}

std::map<int, int64_t> ProjectorExchange::Behind() const {
  std::lock_guard lock(mu_);
  return behind_;
}

std::vector<int> ProjectorExchange::Restoring() const {
  std::lock_guard lock(mu_);
  return restoring_;
}

}  // namespace ledger
