// Runs the fuzz target over files, without libFuzzer: so that every build compiles the
// target and the test suite runs it over the seed corpus (ctest unit.fuzz_corpus).
// Usage: fuzz_replay FILE... ; exits non-zero (or aborts) on a finding.
#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: fuzz_replay FILE...\n";
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::cerr << argv[i] << ": cannot read\n";
      return 1;
    }
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    // And every truncation of it: most are rejected by the verifier, none may crash.
    for (size_t cut = 1; cut < bytes.size(); cut += 7) {
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), cut);
    }
  }
  std::cout << "fuzz_replay: " << argc - 1 << " inputs and their truncations, no finding\n";
  return 0;
}
