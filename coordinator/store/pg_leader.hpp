// Leadership in PostgreSQL (migration 0014): the session-level advisory
// lock kLeaderLock on the writer session, and coordinator_leader's epoch,
// which yardstick_fence() checks at the start of every transaction of the
// leader (PgSession::set_fence).
//
// A standby polls try_lead() every --standby-poll-ms. A leader that stopped
// without losing its session (SIGSTOP, a hung host whose TCP connection
// stands) keeps the lock; a standby cuts that session (pg_terminate_backend)
// once the leader's heartbeat is older than a lease, and the fence refuses
// the old leader's next transaction should it wake.
#pragma once

#include <cstdint>
#include <string>

#include "coordinator/leadership.hpp"
#include "coordinator/store/pg_session.hpp"

namespace yardstick {

constexpr int64_t kLeaderLock = 7400412;

struct LeaderRow {
  int64_t epoch = 0;
  std::string holder, agents_endpoint, clients_endpoint;
  double heartbeat_age_s = 0;
  bool locked = false;  // some session holds the lock now
};

class PgLeadership final : public Leadership {
 public:
  // `holder` names this coordinator (host:pid); `grace_ms` is how long a
  // leader that lost its session waits before it tries the lock again.
  PgLeadership(PgSession& session, std::string holder, int64_t grace_ms);

  // Takes the lock and a new epoch when the lock is free; true when this
  // coordinator leads. Throws StoreError.
  bool try_lead();
  // Records where agents and clients reach the leader (after it bound).
  void advertise(const std::string& agents_endpoint, const std::string& clients_endpoint);
  LeaderRow current();
  // Cuts the session that holds the lock when the leader's heartbeat is
  // older than `stale_ms`; true when it did.
  bool cut_stale_leader(int64_t stale_ms);

  bool leading() const { return leading_; }
  int64_t epoch() const { return session_.fence(); }

  Regain regain() override;
  std::string leader_description() override;

 private:
  static int64_t steady_ms();

  PgSession& session_;
  std::string holder_;
  int64_t grace_ms_;
  bool leading_ = false;
  int64_t lost_at_ms_ = 0;
};

}  // namespace yardstick
