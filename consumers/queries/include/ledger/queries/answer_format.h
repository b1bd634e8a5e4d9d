// Answers as text: a list's items as CSV or JSON lines (for DuckDB, pandas, spreadsheets),
// shared by `ledger query` and the HTTP API.
#pragma once

#include <string>
#include <vector>

#include "ledger/queries/ledger_view.h"

namespace ledger {

// A JSON value as one cell: strings as they are, booleans yes/no, arrays joined by "; ",
// objects as key=value pairs.
std::string CellText(const Json& v);

// The columns of a list's items: every key any item has, in first-seen order.
std::vector<std::string> ListColumns(const Json& items);

// A list answer's items as CSV (RFC 4180: a header row, fields quoted when needed).
// Text cells that start like a spreadsheet formula (=, +, -, @, tab, CR) get a leading
// apostrophe (OWASP's advice against CSV injection); control characters become \\xNN.
std::string ListAsCsv(const Json& list);
// A list answer's items as JSON lines.
std::string ListAsJsonLines(const Json& list);

}  // namespace ledger
