#include "coordinator/store/pg_leader.hpp"

#include <chrono>
#include <pqxx/pqxx>

namespace yardstick {

// pg_locks lists every database's locks: the lock of this database only
// (another installation on the same server has a leader of its own).
const std::string kThisDatabase =
    "(SELECT oid FROM pg_database WHERE datname = current_database())";

PgLeadership::PgLeadership(PgSession& session, std::string holder, int64_t grace_ms)
    : session_(session), holder_(std::move(holder)), grace_ms_(grace_ms) {
  // A new connection never holds the lock: if this coordinator led, its
  // lock went with the old one. The connect fails, so that the turn is
  // undone and regain() decides (writes stay fenced meanwhile).
  session_.on_connect([this](pqxx::connection&) {
    if (!leading_) return;
    leading_ = false;
    lost_at_ms_ = steady_ms();
    throw StoreError("the session that held the leader lock was lost", StoreFault::kUnavailable);
  });
}

int64_t PgLeadership::steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool PgLeadership::try_lead() {
  if (leading_) return true;
  pqxx::connection& conn = session_.connection();
  return pg_call(session_, [&] {
    {
      pqxx::nontransaction n(conn);
      if (!n.exec_params1("SELECT pg_try_advisory_lock($1)", kLeaderLock)[0].as<bool>())
        return false;
    }
    pqxx::work w(conn);
    const auto epoch =
        w.exec_params1(
             "UPDATE coordinator_leader SET epoch = epoch + 1, holder = $1, agents_endpoint = '', "
             "clients_endpoint = '', since = now(), heartbeat_at = now() WHERE id = 1 "
             "RETURNING epoch",
             holder_)[0]
            .as<int64_t>();
    w.commit();
    session_.set_fence(epoch);
    leading_ = true;
    return true;
  });
}

void PgLeadership::advertise(const std::string& agents_endpoint,
                             const std::string& clients_endpoint) {
  session_.begin();  // fenced
  pg_call(session_, [&] {
    session_.tx().exec_params(
        "UPDATE coordinator_leader SET agents_endpoint = $1, clients_endpoint = $2 WHERE id = 1",
        agents_endpoint, clients_endpoint);
  });
  session_.commit();
}

LeaderRow PgLeadership::current() {
  pqxx::connection& conn = session_.connection();
  return pg_call(session_, [&] {
    pqxx::nontransaction n(conn);
    auto r = n.exec_params1(
        "SELECT epoch, holder, agents_endpoint, clients_endpoint, "
        "extract(epoch FROM now() - heartbeat_at)::float8, EXISTS (SELECT 1 FROM pg_locks WHERE "
        "locktype = 'advisory' AND database = " +
            kThisDatabase +
            " AND classid = 0 AND objid = $1 "
            "AND objsubid = 1 AND granted) "
            "FROM coordinator_leader WHERE id = 1",
        kLeaderLock);
    LeaderRow row;
    row.epoch = r[0].as<int64_t>();
    row.holder = r[1].as<std::string>();
    row.agents_endpoint = r[2].as<std::string>();
    row.clients_endpoint = r[3].as<std::string>();
    row.heartbeat_age_s = r[4].as<double>();
    row.locked = r[5].as<bool>();
    return row;
  });
}

bool PgLeadership::cut_stale_leader(int64_t stale_ms) {
  pqxx::connection& conn = session_.connection();
  return pg_call(session_, [&] {
    pqxx::nontransaction n(conn);
    auto r = n.exec_params(
        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l, coordinator_leader c WHERE "
        "l.locktype = 'advisory' AND l.database = " +
            kThisDatabase +
            " AND l.classid = 0 AND "
            "l.objid = $1 AND l.objsubid = 1 AND l.granted AND l.pid <> pg_backend_pid() AND c.id "
            "= 1 AND "
            "c.heartbeat_at < now() - make_interval(secs => $2::float8 / 1000)",
        kLeaderLock, stale_ms);
    return !r.empty() && r[0][0].as<bool>();
  });
}

Leadership::Regain PgLeadership::regain() {
  if (leading_) {
    // The session stood, but the fence may have refused a turn: a newer
    // epoch means another coordinator took over.
    try {
      if (current().epoch == session_.fence()) return Regain::kLeading;
    } catch (const StoreError&) {
      return leading_ ? Regain::kWait : regain();
    }
    leading_ = false;
    return Regain::kLost;
  }
  if (steady_ms() < lost_at_ms_ + grace_ms_) return Regain::kWait;
  try {
    return try_lead() ? Regain::kLeading : Regain::kLost;
  } catch (const StoreError&) {
    return Regain::kWait;  // the store is still down
  }
}

std::string PgLeadership::leader_description() {
  try {
    const LeaderRow row = current();
    return row.holder + " (epoch " + std::to_string(row.epoch) + ", agents " + row.agents_endpoint +
           ", clients " + row.clients_endpoint + ")";
  } catch (const StoreError& e) {
    return std::string("unknown (") + e.what() + ")";
  }
}

}  // namespace yardstick
