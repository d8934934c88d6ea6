// The one way rows of a turn go into PostgreSQL in bulk: one INSERT ...
// SELECT FROM unnest() of one array parameter per column, its SQL and its
// parameter numbers built from a list of named columns (never numbered by
// hand). When the server refuses the batch, the rows go in one by one,
// each in its own savepoint, so that one bad row is dropped (and logged)
// and the others are kept.
#pragma once

#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <functional>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "coordinator/store/store.hpp"

namespace yardstick {

// Shortest text that reads back to the same value; std::to_chars skips the
// locale machinery of streams, which dominated the cost of large batches.
template <typename T>
std::string num(T v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// A number, or NULL when absent or not finite.
template <typename T>
std::optional<std::string> opt_num(const std::optional<T>& v) {
  if (!v || !std::isfinite(static_cast<double>(*v))) return std::nullopt;
  return num(*v);
}

// `data` as lowercase hex (for bytea through decode(x, 'hex')).
std::string hex(const std::string& data);

// One statement with its parameters ($1, $2…, each a text value, never NULL).
// With a `name`, exec_in_savepoint runs it as that server-side prepared
// statement (PREPARE once a connection, then EXECUTE with literals).
struct Statement {
  std::string sql;
  std::vector<std::string> params;
  const char* name = nullptr;
};

// Runs `statements` (SQL texts, no parameters) in order, sent together:
// one wait for the server instead of one each. The first the server
// refuses is thrown (pqxx::sql_error) and the rest do not run; the
// transaction stays usable for a ROLLBACK TO SAVEPOINT.
void exec_in_one_trip(pqxx::dbtransaction& tx, const std::vector<std::string>& statements);

// How exec_in_savepoint went.
enum class OneTrip {
  kDone,        // every statement ran; the savepoint is released
  kRefused,     // the server refused one (a data error): rolled back to the
                // savepoint, which is still open; *why says what it refused
  kNotInlined,  // a parameter could not be written as a literal: nothing sent
};

// SAVEPOINT `name`, `statements` and RELEASE in one round trip: one
// simple-query message of several statements, each parameter inlined as a
// quoted literal by the connection's own escaping. A turn's batch costs one
// wait for the server instead of one per statement and savepoint (on
// loopback a round trip is 0.1 to 0.3 ms, the most of a short turn's time).
// Errors other than a refusal are thrown, as exec would.
// `then`, when not empty, is one more statement run after the release, in
// the same trip (it did not run unless kDone).
// `prepared` lists the names PREPAREd on this connection (a statement with
// a name is prepared, and added, the first time; without the list, a
// statement's name is ignored).
OneTrip exec_in_savepoint(pqxx::dbtransaction& tx, const std::string& name,
                          const std::vector<Statement>& statements, std::string* why,
                          const std::string& then = "", std::set<std::string>* prepared = nullptr);

template <typename Row>
class UnnestInsert {
 public:
  // A cell as text; nullopt is NULL.
  using Field = std::function<std::optional<std::string>(const Row&)>;

  // `into`: "table (" is written by the builder; `tail`: what follows the
  // SELECT, such as "ON CONFLICT DO NOTHING".
  UnnestInsert(std::string table, std::string tail) : table_(std::move(table)), tail_(tail) {}

  // Column `name` of the table, from an array of `type` (a PostgreSQL type
  // name), inserted as `expr` over the array's element `name` (the element
  // itself when empty: "to_timestamp(at / 1e6)" converts one).
  UnnestInsert& column(std::string name, std::string type, Field field, std::string expr = "") {
    columns_.push_back({std::move(name), std::move(type), std::move(expr), std::move(field)});
    return *this;
  }

  std::string sql() const {
    std::string targets, exprs, arrays, names;
    for (size_t i = 0; i < columns_.size(); ++i) {
      const auto& c = columns_[i];
      const std::string sep = i ? ", " : "";
      targets += sep + c.name;
      exprs += sep + (c.expr.empty() ? c.name : c.expr);
      arrays += sep + "$" + std::to_string(i + 1) + "::" + c.type + "[]";
      names += sep + c.name;
    }
    return "INSERT INTO " + table_ + " (" + targets + ") SELECT " + exprs + " FROM unnest(" +
           arrays + ") AS t(" + names + ") " + tail_;
  }

  // The statement that inserts `rows`.
  Statement statement(const std::vector<Row>& rows) const {
    Statement out{sql(), {}};
    out.params.reserve(columns_.size());
    for (const auto& c : columns_) out.params.push_back(array_literal(rows, c.field));
    return out;
  }

  // Inserts `rows` with one statement (nothing when empty).
  void insert(pqxx::dbtransaction& tx, const std::vector<Row>& rows) const {
    if (rows.empty()) return;
    const Statement st = statement(rows);
    tx.exec_params(st.sql, pqxx::prepare::make_dynamic_params(st.params));
  }

  // As insert(), in a savepoint; when the server refuses the batch, row by
  // row, dropping (and logging) the rows it refuses. `key` names a row in the log.
  void insert_keeping_good_rows(pqxx::dbtransaction& tx, const std::vector<Row>& rows,
                                const char* what,
                                const std::function<std::string(const Row&)>& key) const {
    if (rows.empty()) return;
    std::string why;
    switch (exec_in_savepoint(tx, "batch", {statement(rows)}, &why)) {
      case OneTrip::kDone:
        return;
      case OneTrip::kRefused:
        spdlog::warn("PostgreSQL refused a batch of {} {}: {}; storing them one by one",
                     rows.size(), what, why);
        break;
      case OneTrip::kNotInlined:
        tx.exec("SAVEPOINT batch");
        break;
    }
    size_t refused = 0;
    for (const Row& row : rows) {
      try {
        insert(tx, std::vector<Row>{row});
        tx.exec("RELEASE SAVEPOINT batch");
        tx.exec("SAVEPOINT batch");
      } catch (const pqxx::sql_error& e) {
        if (classify_sqlstate(e.sqlstate()) != StoreFault::kRefused) throw;
        tx.exec("ROLLBACK TO SAVEPOINT batch");
        ++refused;
        spdlog::error("PostgreSQL refused one of {} ({}): {}", what, key(row), e.what());
      }
    }
    tx.exec("RELEASE SAVEPOINT batch");
    spdlog::warn("{} of {} {} refused and dropped", refused, rows.size(), what);
  }

  // A PostgreSQL array literal: every value quoted, NULL bare; "{}" when
  // every value is NULL (unnest pads a shorter array with NULLs), which
  // spares formatting and parsing a column this machine does not measure.
  static std::string array_literal(const std::vector<Row>& rows, const Field& field) {
    std::string out = "{";
    bool any = false;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i) out += ',';
      std::optional<std::string> v = field(rows[i]);
      if (!v) {
        out += "NULL";
        continue;
      }
      any = true;
      out += '"';
      for (char c : *v) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    }
    return any ? out + "}" : "{}";
  }

 private:
  struct Column {
    std::string name, type, expr;
    Field field;
  };

  std::string table_, tail_;
  std::vector<Column> columns_;
};

}  // namespace yardstick
