// The broker the CTest fixture `kafka` started (tests/integration/kafka_fixture.sh): its
// bootstrap address, or "" when the test runs outside ctest.
#pragma once

#include <cstdlib>
#include <fstream>
#include <string>

namespace ledger::test_support {

inline std::string FixtureBrokers() {
  const char* dir = std::getenv("LEDGER_TEST_KAFKA_DIR");
  if (dir == nullptr) return "";
  std::ifstream in(std::string(dir) + "/bootstrap");
  std::string s;
  std::getline(in, s);
  return s;
}

}  // namespace ledger::test_support
