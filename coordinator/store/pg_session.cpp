#include "coordinator/store/pg_session.hpp"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <pqxx/pqxx>
#include <set>
#include <stdexcept>

#include "coordinator/store/pg_batch.hpp"

namespace yardstick {

StoreFault classify_sqlstate(std::string_view state) {
  if (state.size() != 5) return StoreFault::kUnavailable;
  const std::string_view cls = state.substr(0, 2);
  if (cls == "22" || cls == "23" || cls == "42" || cls == "54") return StoreFault::kRefused;
  return StoreFault::kUnavailable;
}

void exec_in_one_trip(pqxx::dbtransaction& tx, const std::vector<std::string>& statements) {
  // libpqxx's pipeline sends them as one query, and leaves the transaction
  // open when the server refuses one (a failed transaction_base::exec
  // closes it for good); what the server refused is thrown when its result
  // is retrieved, in order.
  pqxx::pipeline p(tx);
  p.retain(static_cast<int>(statements.size()) + 1);
  std::vector<pqxx::pipeline::query_id> ids;
  ids.reserve(statements.size());
  for (const std::string& st : statements) ids.push_back(p.insert(st));
  p.complete();
  for (const auto id : ids) p.retrieve(id);
}

OneTrip exec_in_savepoint(pqxx::dbtransaction& tx, const std::string& name,
                          const std::vector<Statement>& statements, std::string* why,
                          const std::string& then, std::set<std::string>* prepared) {
  std::vector<std::string> sql{"SAVEPOINT " + name};
  try {
    for (const Statement& st : statements) {
      if (st.name && prepared) {
        // Parsed and planned once a connection; each value a literal.
        if (!prepared->count(st.name)) {
          tx.exec(std::string("PREPARE ") + st.name + " AS " + st.sql);
          prepared->insert(st.name);
        }
        std::string one = std::string("EXECUTE ") + st.name + "(";
        for (size_t i = 0; i < st.params.size(); ++i)
          one += (i ? ", " : "") + tx.quote(st.params[i]);
        sql.push_back(one + ")");
        continue;
      }
      std::string one;
      one.reserve(st.sql.size());
      // $N by N: "$1" never mistaken for the start of "$12".
      for (size_t i = 0; i < st.sql.size(); ++i) {
        size_t digits = i + 1;
        while (st.sql[i] == '$' && digits < st.sql.size() &&
               std::isdigit(static_cast<unsigned char>(st.sql[digits])))
          ++digits;
        if (st.sql[i] != '$' || digits == i + 1) {
          one += st.sql[i];
          continue;
        }
        const size_t n = std::stoul(st.sql.substr(i + 1, digits - i - 1));
        if (n == 0 || n > st.params.size())
          throw std::logic_error("a statement without its $" + std::to_string(n));
        one += tx.quote(st.params[n - 1]);
        i = digits - 1;
      }
      sql.push_back(std::move(one));
    }
  } catch (const pqxx::argument_error&) {
    return OneTrip::kNotInlined;  // not valid in the connection's encoding
  }
  sql.push_back("RELEASE SAVEPOINT " + name);
  if (!then.empty()) sql.push_back(then);
  try {
    exec_in_one_trip(tx, sql);
    return OneTrip::kDone;
  } catch (const pqxx::sql_error& e) {
    if (classify_sqlstate(e.sqlstate()) != StoreFault::kRefused) throw;
    if (why) *why = e.what();
  }
  tx.exec("ROLLBACK TO SAVEPOINT " + name);
  return OneTrip::kRefused;
}

std::string dsn_with_options(const std::string& dsn, const PgOptions& o) {
  const bool uri = dsn.rfind("postgresql://", 0) == 0 || dsn.rfind("postgres://", 0) == 0;
  std::string out = dsn;
  auto add = [&](const std::string& key, const std::string& value) {
    if (dsn.find(key + "=") != std::string::npos) return;  // the user's own setting wins
    if (uri)
      out += (out.find('?') == std::string::npos ? "?" : "&") + key + "=" + value;
    else
      out += (out.empty() ? "" : " ") + key + "=" + value;
  };
  add("connect_timeout", std::to_string(o.connect_timeout_s));
  add("keepalives", "1");
  add("keepalives_idle", std::to_string(o.keepalive_idle_s));
  add("keepalives_interval", std::to_string(o.keepalive_interval_s));
  add("keepalives_count", std::to_string(o.keepalive_count));
  return out;
}

std::string ts(const char* param) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "to_timestamp(%s::float8 / 1e6)", param);
  return buf;
}

std::string us(const char* column) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "COALESCE((extract(epoch FROM %s) * 1e6)::bigint, 0)", column);
  return buf;
}

PgSession::PgSession(std::string dsn, PgOptions options)
    : dsn_(std::move(dsn)), options_(options) {}

PgSession::~PgSession() {
  // The aggregates that own the batches may be gone already (they are
  // declared after the session): only the transaction is aborted.
  batches_.clear();
  rollback();
  conn_.reset();
}

void PgSession::rethrow(const std::exception& e) {
  if (auto* se = dynamic_cast<const StoreError*>(&e)) throw *se;
  const bool broken = dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
                      dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr ||
                      (dynamic_cast<const pqxx::failure*>(&e) && conn_ && !conn_->is_open());
  if (broken) {
    depth_ = 0;
    discard_batches();
    tx_.reset();
    conn_.reset();
    throw StoreError(e.what(), StoreFault::kUnavailable, "08000");
  }
  if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e))
    throw StoreError(e.what(), classify_sqlstate(sql->sqlstate()), sql->sqlstate());
  // Values libpqxx could not convert (a peer's number out of range) are the
  // data's fault, not the server's.
  if (dynamic_cast<const pqxx::conversion_error*>(&e) ||
      dynamic_cast<const pqxx::range_error*>(&e) || dynamic_cast<const pqxx::argument_error*>(&e))
    throw StoreError(e.what(), StoreFault::kRefused);
  // Any other failure of the library or of the server's answer.
  if (dynamic_cast<const pqxx::failure*>(&e)) throw StoreError(e.what(), StoreFault::kUnavailable);
  // Not the store's: a bad_alloc, a logic error of ours. It goes on as it is.
  throw;
}

void PgSession::connect() {
  depth_ = 0;
  discard_batches();
  tx_.reset();
  conn_.reset();
  prepared_.clear();
  try {
    conn_ = std::make_unique<pqxx::connection>(dsn_with_options(dsn_, options_));
    if (options_.statement_timeout_ms)
      conn_->set_variable("statement_timeout", std::to_string(options_.statement_timeout_ms));
  } catch (const std::exception& e) {
    conn_.reset();
    throw StoreError(std::string("cannot connect to PostgreSQL: ") + e.what(),
                     StoreFault::kUnavailable);
  }
  if (on_connect_) {
    try {
      on_connect_(*conn_);
    } catch (...) {
      conn_.reset();
      throw;
    }
  }
}

bool PgSession::connected() const {
  return conn_ && conn_->is_open();
}

pqxx::connection& PgSession::connection() {
  if (!connected()) connect();
  return *conn_;
}

void PgSession::begin() {
  if (!connected()) connect();
  depth_ = 0;
  tx_.reset();
  open_ = true;
}

void PgSession::open() {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  last_open_ms_ = now;
  pg_call(*this, [&] { tx_ = std::make_unique<pqxx::work>(*conn_); });
  fence_sql_.clear();
  if (fence_ == 0) return;
  // Sent with the transaction's first statement (a message's savepoint,
  // most often), and before anything reads or writes through tx(): one
  // round trip fewer a turn.
  fence_beat_ = now >= next_beat_ms_;
  fence_sql_ = "SELECT yardstick_fence(" + std::to_string(fence_) + ", " +
               (fence_beat_ ? "true" : "false") + ")";
}

pqxx::dbtransaction& PgSession::open_tx() {
  if (!tx_) {
    if (!open_) throw StoreError("no open transaction", StoreFault::kUnavailable);
    if (!connected())
      throw StoreError("the connection to PostgreSQL is lost", StoreFault::kUnavailable);
    open();
  }
  return *tx_;
}

void PgSession::run_fence(const std::string& then) {
  open_tx();
  if (fence_sql_.empty()) {
    if (!then.empty()) tx_->exec(then);
    return;
  }
  std::vector<std::string> sql{std::move(fence_sql_)};
  fence_sql_.clear();
  if (!then.empty()) sql.push_back(then);
  try {
    exec_in_one_trip(*tx_, sql);
  } catch (const std::exception& e) {
    tx_.reset();
    rethrow(e);
  }
  if (fence_beat_)
    next_beat_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now().time_since_epoch())
                        .count() +
                    1000;
}

bool PgSession::beat_due() const {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  // The leader's heartbeat once a second; and a lost server noticed within
  // 100 ms of idling, as it was when every turn began a transaction.
  return (fence_ != 0 && now >= next_beat_ms_) || now - last_open_ms_ >= 100;
}

void PgSession::commit() {
  try {
    flush();
    // A turn that wrote nothing sends nothing, but for the leader's
    // heartbeat (and its check of the epoch) about once a second, and an
    // empty transaction every 100 ms at most.
    if (!tx_ && open_ && beat_due()) tx();
    if (tx_) {
      run_fence("");
      tx_->commit();
    }
    tx_.reset();
    open_ = false;
  } catch (const std::exception& e) {
    tx_.reset();
    open_ = false;
    discard_batches();
    rethrow(e);
  }
}

void PgSession::discard_batches() noexcept {
  for (PgBatch* b : batches_) b->discard();
}

void PgSession::rollback() noexcept {
  discard_batches();
  depth_ = 0;
  try {
    if (tx_) tx_->abort();
  } catch (...) {
  }
  tx_.reset();
  open_ = false;
}

pqxx::dbtransaction& PgSession::tx() {
  open_tx();
  if (!fence_sql_.empty()) run_fence("");
  return *tx_;
}

void PgSession::flush() {
  pg_call(*this, [&] {
    for (PgBatch* b : batches_)
      if (b->size() > 0) b->flush(tx());
  });
}

void PgSession::flush_then(const std::string& then) {
  pg_call(*this, [&] {
    PgBatch* last = nullptr;
    for (PgBatch* b : batches_)
      if (b->size() > 0) last = b;
    for (PgBatch* b : batches_)
      if (b != last && b->size() > 0) b->flush(tx());
    if (!last || !last->flush_then(tx(), then)) tx().exec(then);
  });
}

void PgSession::in_savepoint(const char* name, const std::function<void()>& fn) {
  pg_call(*this, [&] { tx().exec(std::string("SAVEPOINT ") + name); });
  try {
    fn();
    tx().exec(std::string("RELEASE SAVEPOINT ") + name);
  } catch (const std::exception& e) {
    try {
      if (connected() && tx_) {
        tx().exec(std::string("ROLLBACK TO SAVEPOINT ") + name);
        tx().exec(std::string("RELEASE SAVEPOINT ") + name);
      }
    } catch (const std::exception&) {
      // The connection went with it: the original error says so.
    }
    rethrow(e);
  }
}

void PgSession::batched(const std::function<void()>& fn) {
  std::vector<size_t> marks;
  marks.reserve(batches_.size());
  for (PgBatch* b : batches_) marks.push_back(b->size());
  try {
    fn();
  } catch (...) {
    for (size_t i = 0; i < batches_.size(); ++i) batches_[i]->truncate(marks[i]);
    throw;
  }
}

std::optional<StoreError> PgSession::guarded(const std::function<void()>& fn) {
  // What was batched before is written first, so that a refusal undoes
  // only fn's rows. (Savepoints are plain SQL: libpqxx 6's subtransaction
  // does not roll back after a failed parameterised query.) A guarded call
  // inside another has a savepoint of its own.
  flush();
  const std::string name = "message_" + std::to_string(depth_);
  pg_call(*this, [&] { run_fence("SAVEPOINT " + name); });
  ++depth_;
  auto undo = [&] {
    discard_batches();
    pg_call(*this, [&] {
      tx().exec("ROLLBACK TO SAVEPOINT " + name);
      tx().exec("RELEASE SAVEPOINT " + name);
    });
  };
  std::optional<StoreError> error;
  try {
    fn();
    // Batched rows of this message are its rows too; written, with the
    // release, in one round trip when they can be.
    flush_then("RELEASE SAVEPOINT " + name);
    if (depth_ > 0) --depth_;
    return std::nullopt;
  } catch (const StoreError& e) {
    error = e;
  } catch (const pqxx::failure& e) {
    try {
      rethrow(e);
    } catch (const StoreError& se) {
      error = se;
    }
  } catch (...) {
    // Not the store's (a frame that does not decode, a bug of ours): its
    // writes are undone and the message's boundary judges the rest.
    if (depth_ > 0) --depth_;
    if (tx_ && connected()) undo();
    throw;
  }
  if (depth_ > 0) --depth_;
  if (!error->refused()) throw *error;
  undo();
  return error;
}

}  // namespace yardstick
