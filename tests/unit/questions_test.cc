// The table of questions is the one source of their names and parameters: the OpenAPI
// document and the README must say what it says, and Ask refuses what it lacks.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "ledger/queries/questions.h"
#include "store_ledger.h"

namespace ledger {
namespace {

std::string ReadSource(const std::string& path) {
  std::ifstream in(std::string(LEDGER_SOURCE_DIR) + "/" + path);
  EXPECT_TRUE(in) << "cannot read " << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(QuestionsTest, EveryQuestionHasAnAnswerAndUniqueNames) {
  std::set<std::string> names, paths;
  for (const Question& q : Questions()) {
    EXPECT_NE(q.answer, nullptr) << q.name;
    EXPECT_TRUE(names.insert(q.name).second) << q.name << " twice";
    EXPECT_TRUE(paths.insert(q.http_path).second) << q.http_path << " twice";
    EXPECT_EQ(FindQuestion(q.name), &q);
    std::set<std::string> parameters;
    for (const auto& p : q.parameters) {
      EXPECT_TRUE(parameters.insert(p.name).second) << q.name << ": " << p.name << " twice";
      EXPECT_FALSE(p.help.empty()) << q.name << ": " << p.name << " has no help";
      if (p.positional) {
        EXPECT_NE(q.http_path.find("{" + p.name + "}"), std::string::npos) << q.name << ": " << p.name;
      }
    }
  }
  EXPECT_EQ(FindQuestion("no-such-question"), nullptr);
}

TEST(QuestionsTest, TheOpenApiDocumentDescribesEachQuestionAsTheTableDoes) {
  const Json doc = Json::parse(ReadSource("consumers/http/openapi.json"));
  std::set<std::string> question_paths;
  for (const Question& q : Questions()) {
    question_paths.insert(q.http_path);
    ASSERT_TRUE(doc["paths"].contains(q.http_path)) << q.name << ": " << q.http_path << " is not documented";
    const Json& get = doc["paths"][q.http_path]["get"];
    std::map<std::string, Json> documented;
    for (const Json& p : get["parameters"]) documented[p["name"].get<std::string>()] = p;
    for (const auto& p : q.parameters) {
      ASSERT_TRUE(documented.count(p.name)) << q.http_path << " does not document " << p.name;
      const Json& d = documented[p.name];
      EXPECT_EQ(d["in"], p.positional ? "path" : "query") << q.http_path << " " << p.name;
      EXPECT_EQ(d.value("required", false), p.required) << q.http_path << " " << p.name;
      EXPECT_EQ(d["schema"]["type"] == "boolean", p.kind == QuestionParameter::Kind::kFlag)
          << q.http_path << " " << p.name;
      documented.erase(p.name);
    }
    if (q.shape == Question::Shape::kList) documented.erase("format");  // the HTTP form of --format
    // Read your writes, for every question (the HTTP forms of --min-position, --max-wait-ms),
    // and the bound on a standby's answer in a projector group.
    for (const char* reading : {"min_position", "max_wait_ms", "max_lag"}) {
      EXPECT_TRUE(documented.count(reading)) << q.http_path << " does not document " << reading;
      documented.erase(reading);
    }
    for (const auto& [name, p] : documented) {
      ADD_FAILURE() << q.http_path << " documents " << name << ", which " << q.name << " does not take";
    }
  }
  // And no question is documented that the table lacks.
  for (const auto& [path, item] : doc["paths"].items()) {
    if (!item.contains("get") || path.rfind("/v1/", 0) != 0 || path == "/v1/status" || path == "/v1/openapi.json") {
      continue;
    }
    EXPECT_TRUE(question_paths.count(path)) << path << " is documented but is no question";
  }
}

// The README's table of questions names each question and each of its own options.
TEST(QuestionsTest, TheReadmeListsEachQuestionWithItsOptions) {
  std::istringstream readme(ReadSource("README.md"));
  std::map<std::string, std::string> rows;  // question -> its row in the table
  for (std::string line; std::getline(readme, line);) {
    if (line.rfind("| `", 0) != 0) continue;
    const size_t end = line.find_first_of("` ", 3);
    rows.emplace(line.substr(3, end - 3), line);
  }
  for (const Question& q : Questions()) {
    ASSERT_TRUE(rows.count(q.name)) << "README: no row for " << q.name;
    for (const auto& p : q.parameters) {
      if (p.name == "at" || p.name == "known_at" || p.name == "explain") continue;  // said once for all
      std::string flag = p.name;
      std::replace(flag.begin(), flag.end(), '_', '-');
      const std::string shown = p.positional ? "`" + q.name + " " : "--" + flag;  // `list NAME`
      EXPECT_NE(rows[q.name].find(shown), std::string::npos)
          << "README: the row of " << q.name << " lacks " << shown;
    }
  }
}

TEST(QuestionsTest, AskRefusesAParameterTheQuestionDoesNotTake) {
  test_support::StoreLedger ledger("questions");
  const Status s = ledger.AskStatus("entitlement", {{"account", "A"}, {"product", "p"}, {"colour", "red"}});
  EXPECT_EQ(s.code(), Status::Code::kInvalidInput);
  EXPECT_NE(s.message().find("unknown parameter \"colour\""), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("known_at"), std::string::npos) << s.message();
  EXPECT_EQ(ledger.AskStatus("weather", {}).code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace ledger
