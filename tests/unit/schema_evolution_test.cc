// Schema evolution: bytes written by every older schema version decode forever (the
// committed fixtures), and bytes from a newer schema with new fields are read without
// loss of what this build knows (new fields ignored).
#include <flatbuffers/idl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "ledger/schema/event_codec.h"

namespace ledger {
namespace {

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(SchemaFixtures, EveryOlderVersionStillDecodesToTheSameEvents) {
  auto codec = EventCodec::Create();
  const std::filesystem::path root = std::filesystem::path(LEDGER_SOURCE_DIR) / "tests/fixtures";
  int versions = 0, files = 0;
  for (const auto& version : std::filesystem::directory_iterator(root)) {
    if (!version.is_directory()) continue;
    ++versions;
    std::set<std::string> types;
    for (const auto& f : std::filesystem::directory_iterator(version.path())) {
      if (f.path().extension() != ".ldg") continue;
      SCOPED_TRACE(f.path().string());
      ++files;
      const std::string bytes = ReadFile(f.path());
      auto envelope = VerifyEnvelope(bytes.data(), bytes.size());
      ASSERT_TRUE(envelope.ok()) << envelope.status().message();
      types.insert(EventTypeName((*envelope)->event_type()));
      auto json = (*codec)->ToJson(bytes.data(), bytes.size());
      ASSERT_TRUE(json.ok());
      std::string expected = ReadFile(std::filesystem::path(f.path()).replace_extension(".json"));
      while (!expected.empty() && expected.back() == '\n') expected.pop_back();
      EXPECT_EQ(*json, expected);
    }
    if (version.path().filename() == "schema-v1") {
      EXPECT_EQ(types.size(), 42u);
    }
  }
  EXPECT_GE(versions, 1);
  EXPECT_GE(files, 42);
}

TEST(SchemaEvolution, FieldsFromANewerSchemaAreIgnoredAndTheRestIsRead) {
  // The current schema with a field appended to AccountOpened, as a later version might.
  std::string schema = ReadFile(std::filesystem::path(LEDGER_SOURCE_DIR) / "schema/ledger.fbs");
  const std::string old_table = "table AccountOpened { name:string (required); region:string; }";
  ASSERT_NE(schema.find(old_table), std::string::npos);
  schema.replace(schema.find(old_table), old_table.size(),
                 "table AccountOpened { name:string (required); region:string; segment:string; "
                 "employees:int; }");
  flatbuffers::Parser newer;
  ASSERT_TRUE(newer.Parse(schema.c_str())) << newer.error_;
  ASSERT_TRUE(newer.ParseJson(
      R"({"event_id":{"bytes":[1,147,0,0,0,0,112,0,128,0,0,0,0,0,0,9]},"account_id":"A","schema_version":2,)"
      R"("event_type":"AccountOpened","event":{"name":"Acme","region":"EMEA","segment":"enterprise","employees":5000}})"))
      << newer.error_;
  const auto* data = newer.builder_.GetBufferPointer();
  const size_t size = newer.builder_.GetSize();

  auto envelope = VerifyEnvelope(data, size);
  ASSERT_TRUE(envelope.ok()) << envelope.status().message();
  EXPECT_EQ((*envelope)->schema_version(), 2);
  const auto* opened = (*envelope)->event_as_AccountOpened();
  ASSERT_NE(opened, nullptr);
  EXPECT_EQ(opened->name()->str(), "Acme");
  EXPECT_EQ(opened->region()->str(), "EMEA");
  auto codec = EventCodec::Create();
  auto json = (*codec)->ToJson(data, size);
  ASSERT_TRUE(json.ok());
  EXPECT_NE(json->find(R"("data":{"name":"Acme","region":"EMEA"})"), std::string::npos) << *json;
}

}  // namespace
}  // namespace ledger
