// ledger_synth: prints a deterministic synthetic event stream as JSON lines, for tests
// and benchmarks. Usage: ledger_synth EVENTS [ACCOUNTS] [SEED] [PREFIX] [SKIP] [PER_SECOND]
// SKIP: leave out the first lines (e.g. the accounts' openings, for a second stream);
// PER_SECOND: pace the output (0: as fast as possible).
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "synthetic.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: ledger_synth EVENTS [ACCOUNTS] [SEED] [PREFIX] [SKIP] [PER_SECOND]\n";
    return 64;
  }
  ledger::test_support::SyntheticOptions o;
  const long events = std::atol(argv[1]);
  if (argc > 2) o.accounts = std::atoi(argv[2]);
  if (argc > 3) o.seed = std::strtoull(argv[3], nullptr, 10);
  if (argc > 4) o.prefix = argv[4];
  const long skip = argc > 5 ? std::atol(argv[5]) : 0;
  const long per_second = argc > 6 ? std::atol(argv[6]) : 0;
  ledger::test_support::SyntheticStream s(o);
  std::ios::sync_with_stdio(false);
  const auto start = std::chrono::steady_clock::now();
  long printed = 0;
  for (long i = 0; i < events; ++i) {
    std::string line = s.Next();
    if (i < skip) continue;
    std::cout << line << '\n';
    ++printed;
    if (per_second > 0 && printed % 100 == 0) {  // in steps of 100 lines
      std::cout.flush();
      std::this_thread::sleep_until(start + std::chrono::microseconds(printed * 1000000 / per_second));
    }
  }
  return 0;
}
