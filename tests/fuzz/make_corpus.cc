// Reads JSON lines (the documented event form) on stdin and writes each encoded
// envelope to DIR/<n>.ldg: the fuzzer's seed corpus, and the schema fixtures.
// `make_corpus --decode FILE` prints an envelope file in the JSON form.
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "ledger/schema/event_codec.h"

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--decode") {
    std::ifstream in(argv[2], std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto codec = std::move(*ledger::EventCodec::Create());
    auto json = codec->ToJson(bytes.data(), bytes.size());
    if (!json.ok()) {
      std::cerr << argv[2] << ": " << json.status().message() << "\n";
      return 1;
    }
    std::cout << *json << "\n";
    return 0;
  }
  if (argc != 2) {
    std::cerr << "usage: make_corpus DIR < events.jsonl\n";
    return 64;
  }
  auto codec = std::move(*ledger::EventCodec::Create());
  std::string line;
  int n = 0;
  while (std::getline(std::cin, line)) {
    if (line.empty() || line[0] != '{') continue;
    auto e = codec->FromJson(line, 0);
    if (!e.ok()) continue;
    std::ofstream(std::string(argv[1]) + "/" + std::to_string(++n) + ".ldg", std::ios::binary)
        << e->bytes;
  }
  std::cout << n << " seeds\n";
  return 0;
}
