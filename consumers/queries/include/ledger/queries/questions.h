// The ledger's questions, in one table: each question's name, what it asks, its HTTP
// path, its parameters with their help text, and the LedgerView member that answers it.
// `ledger query` builds its subcommands from it, the HTTP API its routes, LedgerView::Ask
// its dispatch and parameter checks; a unit test holds the OpenAPI document against it.
// A new question is the file that answers it and a row in questions.cc.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ledger/base/status.h"
#include "ledger/queries/ledger_view.h"

namespace ledger {

struct QuestionParameter {
  enum class Kind {
    kText,  // a value: `?name=v`, `--name v` (underscores become dashes on the command line)
    kFlag,  // true or false: `?name=true`, `--name`
  };
  std::string name;
  std::string help;
  Kind kind = Kind::kText;
  bool required = false;
  // Given without a name: a path segment over HTTP, a positional argument on the command
  // line (a list's name).
  bool positional = false;
};

struct Question {
  enum class Shape {
    kAnswer,  // one answer: a table or JSON
    kList,    // items, paged: also JSON lines or CSV
  };
  std::string name;
  std::string summary;
  // The HTTP path in OpenAPI form: a positional parameter appears as {name}.
  std::string http_path;
  Shape shape = Shape::kAnswer;
  std::vector<QuestionParameter> parameters;
  Result<Json> (LedgerView::*answer)(const Query&) const = nullptr;
  // The answer's schema in the OpenAPI document (components/schemas/NAME).
  std::string answer_schema;
};

// Every question, in the order `ledger query --help` lists them.
const std::vector<Question>& Questions();

// The question named `name`, or null.
const Question* FindQuestion(std::string_view name);

}  // namespace ledger
