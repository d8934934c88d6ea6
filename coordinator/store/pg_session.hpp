// One PostgreSQL connection and its transaction: the StoreSession that the
// aggregates (pg_*.hpp) write into. It owns the error policy: whatever
// libpqxx throws becomes a StoreError typed by SQLSTATE (rethrow()), and
// anything that is not libpqxx's (a bad_alloc, a parse error of ours)
// passes through unchanged, for the message boundary to judge.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "coordinator/store/store.hpp"

#include <pqxx/connection>
#include <pqxx/transaction>

namespace yardstick {

// How a connection behaves when the server or the network does not answer.
struct PgOptions {
  uint32_t connect_timeout_s = 5;
  uint32_t statement_timeout_ms = 30'000;  // 0: none
  uint32_t keepalive_idle_s = 10;          // TCP keepalives: a dead peer is noticed in
  uint32_t keepalive_interval_s = 3;       // idle + interval * count seconds
  uint32_t keepalive_count = 3;
};

// The DSN with the options added where it does not set them itself; both
// the URI form (postgresql://...) and the key=value form are understood.
std::string dsn_with_options(const std::string& dsn, const PgOptions& options);

// Rows an aggregate batches during a turn, written with one statement at
// flush(): before a read of the same data, at the end of a guarded message
// and at commit.
class PgBatch {
 public:
  virtual ~PgBatch() = default;
  virtual void flush(pqxx::dbtransaction& tx) = 0;  // writes and forgets them
  // As flush, and runs the statement `then` in the same round trip when it
  // can; false: it did not, and `then` is the caller's to run.
  virtual bool flush_then(pqxx::dbtransaction& tx, const std::string& then) {
    (void)then;
    flush(tx);
    return false;
  }
  virtual void discard() noexcept = 0;     // forgets them unwritten
  virtual size_t size() const = 0;         // rows batched
  virtual void truncate(size_t rows) = 0;  // forgets those after the first `rows`
};

class PgSession final : public StoreSession {
 public:
  PgSession(std::string dsn, PgOptions options = {});
  ~PgSession() override;

  // Connects (again). Throws StoreError(unavailable) when the server is unreachable.
  void connect();
  bool connected() const;

  void begin() override;
  void commit() override;
  void rollback() noexcept override;
  std::optional<StoreError> guarded(const std::function<void()>& fn) override;
  void batched(const std::function<void()>& fn) override;

  // The turn's transaction. begin() sends nothing: the transaction (and
  // the fence) starts with the turn's first statement, so that a turn of
  // heartbeats alone costs the database nothing. StoreError(unavailable)
  // outside begin() ... commit().
  pqxx::dbtransaction& tx();
  pqxx::connection& connection();
  // Runs `sql` as the prepared statement `name` (parsed and planned once
  // a connection, not on every call): for the statements of every job's
  // life. One name is always given the same text.
  template <typename... Args>
  pqxx::result exec_prepared(const char* name, const std::string& sql, Args&&... args) {
    auto& t = tx();
    if (prepared_.insert(name).second) conn_->prepare(name, sql);
    return t.exec_prepared(name, std::forward<Args>(args)...);
  }
  // The names of the statements prepared on this connection (emptied on
  // every new connection): for a batch that PREPAREs its own.
  std::set<std::string>& prepared_names() { return prepared_; }
  // Writes every batch now.
  void flush();
  // As flush, and then the statement `then`, in the last batch's round
  // trip when it can.
  void flush_then(const std::string& then);
  // Whatever `e` is: libpqxx's errors as StoreError, typed; anything else
  // rethrown unchanged. Call it inside the catch block of `e`.
  [[noreturn]] void rethrow(const std::exception& e);
  // Runs `fn` in a savepoint named `name`: an error rolls back to it (when
  // the connection still stands) and is rethrown, typed.
  void in_savepoint(const char* name, const std::function<void()>& fn);

  // An aggregate's batch (it outlives the session's use of it).
  void add_batch(PgBatch* batch) { batches_.push_back(batch); }

  // The leader's epoch (0: none). Every transaction then begins with
  // yardstick_fence(epoch), which the database refuses (SQLSTATE YS001)
  // once another coordinator took a newer one; about once a second the
  // same call keeps the leader's heartbeat.
  void set_fence(int64_t epoch) { fence_ = epoch; }
  int64_t fence() const { return fence_; }
  // Runs after every new connection, before anything else is sent on it;
  // what it throws fails the connect.
  void on_connect(std::function<void(pqxx::connection&)> fn) { on_connect_ = std::move(fn); }

 private:
  void discard_batches() noexcept;
  void open();  // BEGIN; the fence is sent with the next statement (run_fence)
  // The transaction, opened when it is not, without its fence.
  pqxx::dbtransaction& open_tx();
  // The fence when it is still to be sent, and `then` (when not empty) in
  // the same round trip; `then` alone when the fence was sent.
  void run_fence(const std::string& then);
  bool beat_due() const;

  std::string dsn_;
  PgOptions options_;
  std::unique_ptr<pqxx::connection> conn_;
  std::set<std::string> prepared_;  // statements prepared on conn_
  std::unique_ptr<pqxx::work> tx_;
  bool open_ = false;  // between begin() and commit() or rollback()
  int depth_ = 0;      // guarded() calls open: each has a savepoint of its own
  std::vector<PgBatch*> batches_;
  int64_t fence_ = 0;
  std::string fence_sql_;     // the fence of the open transaction, not sent yet
  bool fence_beat_ = false;   // and whether it is a heartbeat
  int64_t next_beat_ms_ = 0;  // steady clock
  int64_t last_open_ms_ = 0;  // steady clock: the last transaction begun
  std::function<void(pqxx::connection&)> on_connect_;
};

// Unix microseconds <-> timestamptz, in SQL: ts("$7") reads parameter 7,
// us("j.started_at") gives a column as microseconds (0 for NULL).
std::string ts(const char* param);
std::string us(const char* column);

// Every write of an aggregate goes through this: run `fn`, and turn what
// libpqxx throws into StoreError.
template <typename F>
auto pg_call(PgSession& session, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const StoreError&) {
    throw;
  } catch (const std::exception& e) {
    session.rethrow(e);
  }
}

}  // namespace yardstick
