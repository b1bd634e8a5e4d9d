// ledger_synth: prints a deterministic synthetic event stream as JSON lines, for tests
// and benchmarks. Usage: ledger_synth EVENTS [ACCOUNTS] [SEED] [PREFIX]
#include <cstdlib>
#include <iostream>

#include "synthetic.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: ledger_synth EVENTS [ACCOUNTS] [SEED] [PREFIX]\n";
    return 64;
  }
  ledger::test_support::SyntheticOptions o;
  const long events = std::atol(argv[1]);
  if (argc > 2) o.accounts = std::atoi(argv[2]);
  if (argc > 3) o.seed = std::strtoull(argv[3], nullptr, 10);
  if (argc > 4) o.prefix = argv[4];
  ledger::test_support::SyntheticStream s(o);
  std::ios::sync_with_stdio(false);
  for (long i = 0; i < events; ++i) std::cout << s.Next() << '\n';
  return 0;
}
