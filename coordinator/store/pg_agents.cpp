#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "coordinator/store/pg_batch.hpp"
#include "coordinator/store/pg_store.hpp"

namespace yardstick {

uint64_t PgAgents::upsert_machine(const MachineInfo& m) {
  nlohmann::json tools = nlohmann::json::object();
  for (const auto& t : m.tools) tools[t.name] = t.version;
  return pg_call(s_, [&] {
    auto r = s_.tx().exec_params(
        "INSERT INTO machines (fingerprint, name, cpu_model, logical_cores, memory_bytes,"
        " os_release, kernel, arch, tools, governor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
        " $9::jsonb, $10) ON CONFLICT (fingerprint) DO UPDATE SET name = EXCLUDED.name"
        " RETURNING id",
        m.fingerprint(), m.name, m.cpu_model, m.logical_cores, m.memory_bytes, m.os_release,
        m.kernel, m.arch, tools.dump(), m.governor);
    return r[0][0].as<uint64_t>();
  });
}

uint64_t PgAgents::upsert_agent(const std::string& name, const Labels& labels, uint32_t slots,
                                uint64_t machine_id, const std::string& version,
                                const std::string& incarnation, const std::string& host) {
  return pg_call(s_, [&] {
    auto r = s_.tx().exec_params(
        "INSERT INTO agents (name, labels, slots, machine_id, version, incarnation, host) VALUES"
        " ($1, $2::jsonb, $3, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE SET labels ="
        " EXCLUDED.labels, slots = EXCLUDED.slots, machine_id = EXCLUDED.machine_id, version ="
        " EXCLUDED.version, incarnation = EXCLUDED.incarnation, host = EXCLUDED.host,"
        " last_seen = now() RETURNING id",
        name, nlohmann::json(labels).dump(), slots, machine_id, version, incarnation, host);
    return r[0][0].as<uint64_t>();
  });
}

void PgAgents::touch_agents(const std::vector<uint64_t>& agent_ids) {
  if (agent_ids.empty()) return;
  std::string ids = "{";
  for (size_t i = 0; i < agent_ids.size(); ++i) ids += (i ? "," : "") + num(agent_ids[i]);
  ids += "}";
  pg_call(s_, [&] {
    s_.tx().exec_params("UPDATE agents SET last_seen = now() WHERE id = ANY($1::bigint[])", ids);
  });
}

void PgAgents::set_agent_hourly_cost(uint64_t agent_id, std::optional<double> cost) {
  pg_call(s_, [&] {
    s_.tx().exec_params("UPDATE agents SET hourly_cost = $2::numeric WHERE id = $1",
                        static_cast<int64_t>(agent_id), cost);
  });
}

void PgAgents::set_agent_draining(const std::string& name, bool draining) {
  pg_call(s_, [&] {
    s_.tx().exec_params("UPDATE agents SET draining = $2 WHERE name = $1", name, draining);
  });
}

std::set<std::string> PgAgents::draining_agents() {
  return pg_call(s_, [&] {
    std::set<std::string> out;
    for (const auto& r : s_.tx().exec("SELECT name FROM agents WHERE draining"))
      out.insert(r[0].as<std::string>());
    return out;
  });
}

uint64_t PgAgents::agents_seen_within(uint32_t seconds) {
  return pg_call(s_, [&] {
    return s_.tx()
        .exec_params1(
            "SELECT count(*) FROM agents WHERE last_seen > now() - make_interval(secs => $1)",
            seconds)[0]
        .as<uint64_t>();
  });
}

bool PgAgents::agent_exists(const std::string& name) {
  return pg_call(s_, [&] {
    return !s_.tx().exec_params("SELECT 1 FROM agents WHERE name = $1", name).empty();
  });
}

bool PgAgents::machine_calibrated(uint64_t machine_id) {
  return pg_call(s_, [&] {
    return !s_.tx()
                .exec_params("SELECT 1 FROM machine_calibrations WHERE machine_id = $1 LIMIT 1",
                             machine_id)
                .empty();
  });
}

}  // namespace yardstick
