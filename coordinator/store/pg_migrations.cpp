#include <spdlog/spdlog.h>

#include <pqxx/pqxx>

#include "coordinator/store/migrations.hpp"
#include "coordinator/store/pg_store.hpp"

namespace yardstick {

namespace {

// Serialises migrations across coordinators that start at once.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7400411)";

void refuse_newer(int current, int latest) {
  if (current > latest)
    throw StoreError("the database schema is at version " + std::to_string(current) +
                         ", newer than this coordinator knows (" + std::to_string(latest) +
                         "); run a newer yardstick-coordinator",
                     StoreFault::kFatal);
}

}  // namespace

int migrate(PgSession& session) {
  const auto& known = migrations();
  const int latest = known.empty() ? 0 : known.back().version;
  return pg_call(session, [&] {
    pqxx::connection& conn = session.connection();
    {
      pqxx::work w(conn);
      w.exec(kMigrationLock);
      w.exec0(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " version integer PRIMARY KEY, name text NOT NULL,"
          " applied_at timestamptz NOT NULL DEFAULT now())");
      w.commit();
    }
    for (const auto& m : known) {
      pqxx::work w(conn);
      w.exec(kMigrationLock);
      refuse_newer(w.exec1("SELECT COALESCE(max(version), 0) FROM schema_migrations")[0].as<int>(),
                   latest);
      if (w.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", m.version).empty()) {
        spdlog::info("applying migration {:04d}_{}", m.version, m.name);
        w.exec(m.sql);
        w.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                      m.name);
      }
      w.commit();
    }
    pqxx::work w(conn);
    const int current =
        w.exec1("SELECT COALESCE(max(version), 0) FROM schema_migrations")[0].as<int>();
    refuse_newer(current, latest);
    return current;
  });
}

}  // namespace yardstick
