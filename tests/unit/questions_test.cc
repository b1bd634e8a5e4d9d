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
// A JSON Schema check of the subset the OpenAPI document uses: $ref, type (one or a
// list), enum, required, properties, additionalProperties (false or a schema), items,
// oneOf. Each mismatch is a line naming where.
void Validate(const Json& doc, const Json& schema, const Json& value, const std::string& where,
              std::vector<std::string>* errors) {
  if (schema.contains("$ref")) {
    const std::string ref = schema["$ref"];
    const std::string name = ref.substr(ref.rfind('/') + 1);
    ASSERT_TRUE(doc["components"]["schemas"].contains(name)) << ref;
    return Validate(doc, doc["components"]["schemas"][name], value, where, errors);
  }
  if (schema.contains("oneOf")) {
    int matched = 0;
    for (const Json& option : schema["oneOf"]) {
      std::vector<std::string> e;
      Validate(doc, option, value, where, &e);
      if (e.empty()) ++matched;
    }
    if (matched != 1) errors->push_back(where + ": matches " + std::to_string(matched) + " of oneOf");
    return;
  }
  if (schema.contains("type")) {
    auto is = [&](const std::string& t) {
      return (t == "string" && value.is_string()) || (t == "integer" && value.is_number_integer()) ||
             (t == "number" && value.is_number()) || (t == "boolean" && value.is_boolean()) ||
             (t == "array" && value.is_array()) || (t == "object" && value.is_object()) || (t == "null" && value.is_null());
    };
    bool ok = false;
    if (schema["type"].is_array()) {
      for (const Json& t : schema["type"]) ok = ok || is(t.get<std::string>());
    } else {
      ok = is(schema["type"].get<std::string>());
    }
    if (!ok) return errors->push_back(where + ": " + value.dump().substr(0, 80) + " is not " + schema["type"].dump());
  }
  if (schema.contains("enum") && std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end()) {
    errors->push_back(where + ": " + value.dump() + " is not one of " + schema["enum"].dump());
  }
  if (value.is_object()) {
    for (const Json& r : schema.value("required", Json::array())) {
      if (!value.contains(r.get<std::string>())) errors->push_back(where + ": " + r.get<std::string>() + " is missing");
    }
    const Json properties = schema.value("properties", Json::object());
    for (const auto& [k, v] : value.items()) {
      if (properties.contains(k)) {
        Validate(doc, properties[k], v, where + "." + k, errors);
      } else if (schema.contains("additionalProperties")) {
        if (schema["additionalProperties"].is_boolean()) {
          if (!schema["additionalProperties"].get<bool>()) errors->push_back(where + ": " + k + " is not documented");
        } else {
          Validate(doc, schema["additionalProperties"], v, where + "." + k, errors);
        }
      }
    }
  }
  if (value.is_array() && schema.contains("items")) {
    for (size_t n = 0; n < value.size(); ++n) Validate(doc, schema["items"], value[n], where + "[" + std::to_string(n) + "]", errors);
  }
}

// Every question's answer is typed in the OpenAPI document by the schema the question
// table names, and real answers (of a ledger with one of each thing) hold to it.
TEST(QuestionsTest, RealAnswersHoldToTheirTypedSchemas) {
  const Json doc = Json::parse(ReadSource("consumers/http/openapi.json"));
  test_support::StoreLedger l("openapi-answers");
  auto apply = [&](const std::string& type, const std::string& data, const std::string& at) {
    ASSERT_NE(l.Apply(type, "A", data, at).outcome, Outcome::kAnomaly) << type;
  };
  l.Reference("ServiceLevelDefined",
              R"({"offering":"EssentialSupport","severity":1,"coverage":"TwentyFourSeven","response_minutes":60,"effective_at":"2024-01-01"})");
  l.Reference("LanguageSupportDefined",
              R"({"region":"EMEA","languages":["en","de"],"time_zone":"Europe/Berlin","effective_at":"2024-01-01"})");
  l.Reference("ProductVersionLifecycle",
              R"({"product":"db","version":"9","released_at":"2020-01-01","end_of_standard_support_at":"2025-06-01",
                  "end_of_support_life_at":"2026-09-01","effective_at":"2020-01-01"})");
  apply("AccountOpened", R"({"name":"Acme","region":"EMEA"})", "2024-01-01");
  apply("ContactDesignated", R"({"contact_id":"C1","name":"Ada"})", "2024-01-02");
  apply("AgreementPurchased", R"({"agreement_id":"AG-1","offering":"EssentialSupport","starts_at":"2025-01-01",
        "ends_at":"2026-01-01","lines":[{"line_id":"L1","product":"db"}]})", "2024-12-01");
  apply("CourtesyGranted", R"({"grant_id":"G1","product":"mail","starts_at":"2025-01-01","ends_at":"2025-09-01"})", "2024-12-02");
  apply("RemoteAccessConsentGiven", R"({"consent_id":"RC-1","contact_id":"C1","terms_version":"2024-06","expires_at":"2026-01-01"})",
        "2025-01-02");
  apply("PortalUserCreated", R"({"user_id":"U1","email":"u@example.com"})", "2025-01-03");
  apply("PortalUserActivated", R"({"user_id":"U1"})", "2025-01-04");
  apply("CaseOpened", R"({"case_id":"K1","contact_id":"C1","product":"db","version":"9","severity":1})", "2025-06-02T10:00:00Z");
  apply("CaseAcknowledged", R"({"case_id":"K1","engineer":"e1"})", "2025-06-02T11:30:00Z");
  apply("EscalationRequested", R"({"escalation_id":"E1","case_id":"K1","level":"DutyManager"})", "2025-06-02T12:00:00Z");
  apply("RemoteSessionStarted", R"({"session_id":"S1","case_id":"K1","engineer":"e1"})", "2025-06-02T12:30:00Z");

  std::vector<std::pair<std::string, std::map<std::string, std::string>>> asked = {
      {"entitlement", {{"account", "A"}, {"product", "db"}, {"version", "9"}, {"severity", "1"}, {"at", "2025-07-01"}}},
      {"entitlement", {{"account", "A"}, {"product", "db"}, {"at", "2025-07-01"}, {"explain", "true"}}},
      {"entitlement", {{"account", "A"}, {"product", "mail"}, {"version", "12.1"}, {"at", "2025-07-01"},
                       {"known_at", "2030-01-01"}}},
      {"entitlement", {{"account", "NOBODY"}, {"product", "db"}}},
      {"intake", {{"account", "A"}, {"contact", "C1"}, {"product", "db"}, {"severity", "1"}, {"at", "2025-07-01"}}},
      {"case", {{"account", "A"}, {"case", "K1"}, {"at", "2025-07-01"}, {"explain", "true"}}},
      {"portal", {{"account", "A"}, {"user", "U1"}, {"handbook", "Essential Support and Basic Maintenance Handbook"},
                  {"at", "2025-07-01"}}},
  };
  for (const char* list : {"agreements-lapsing", "grants-expiring", "open-cases", "breached-cases", "open-escalations",
                           "sessions-without-consent", "anomalies", "accounts", "products"}) {
    asked.push_back({"list", {{"list", list}, {"at", "2025-07-01"}, {"within_days", "400"}}});
  }
  asked.push_back({"list", {{"list", "open-cases"}, {"at", "2025-07-01"}, {"account", "A"}}});
  int items = 0;
  for (auto& [name, params] : asked) {
    if (name == "list" && params["list"] != "agreements-lapsing" && params["list"] != "grants-expiring") {
      params.erase("within_days");
    }
    const Question* q = FindQuestion(name);
    ASSERT_NE(q, nullptr);
    const Json& documented =
        doc["paths"][q->http_path]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
    EXPECT_EQ(documented, Json({{"$ref", "#/components/schemas/" + q->answer_schema}})) << q->http_path;
    const Json answer = l.Ask(name, params);
    if (name == "list") items += static_cast<int>(answer["items"].size());
    std::vector<std::string> errors;
    Validate(doc, documented, answer, name + " " + Json(params).dump(), &errors);
    for (const auto& e : errors) ADD_FAILURE() << e << "\n  answer: " << answer.dump().substr(0, 600);
  }
  EXPECT_GE(items, 9);  // the lists had items to check
}

}  // namespace ledger
