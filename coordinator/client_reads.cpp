#include <spdlog/spdlog.h>

#include "common/calibration.hpp"
#include "common/text.hpp"
#include "common/wire.hpp"
#include "coordinator/bounds.hpp"
#include "coordinator/client_api.hpp"
#include "coordinator/comparisons.hpp"
#include "coordinator/reports.hpp"

namespace yardstick {

namespace {

wire::Stream stream_from(const std::string& s) {
  if (s == "stdout") return wire::Stream::STDOUT;
  if (s == "stderr") return wire::Stream::STDERR;
  return wire::Stream::SYSTEM;
}

bool valid_id(uint64_t id) {
  return id != 0 && id <= bounds::kMaxCount;
}

}  // namespace

void fill_job(wire::JobSummary::Builder b, const JobView& j) {
  b.setId(j.id);
  b.setPipelineId(j.pipeline_id);
  b.setName(j.name);
  b.setState(wire_io::to_wire(j.state));
  b.setNote(wire_io::to_wire(j.note));
  b.setAgent(j.agent);
  b.setMachine(j.machine);
  b.setAttempt(j.attempt);
  b.setStartedAtUs(j.started_at_us);
  b.setEndedAtUs(j.ended_at_us);
  b.setMessage(j.message);
  b.setOverBudget(j.over_budget);
  b.setRunsMeasured(j.runs_measured);
  b.setRunsPlanned(j.runs_planned);
  auto breaches = b.initBudgetBreaches(j.budget_breaches.size());
  for (unsigned i = 0; i < j.budget_breaches.size(); ++i) breaches.set(i, j.budget_breaches[i]);
  auto earlier = b.initEarlierAttempts(j.earlier_attempts.size());
  for (unsigned i = 0; i < j.earlier_attempts.size(); ++i) {
    earlier[i].setAttempt(j.earlier_attempts[i].attempt);
    earlier[i].setAgent(j.earlier_attempts[i].agent);
    earlier[i].setState(wire_io::to_wire(j.earlier_attempts[i].state));
    earlier[i].setMessage(j.earlier_attempts[i].message);
  }
  auto steps = b.initSteps(j.steps.size());
  for (unsigned i = 0; i < j.steps.size(); ++i) {
    steps[i].setIndex(j.steps[i].index);
    steps[i].setName(j.steps[i].name);
    steps[i].setWallS(j.steps[i].wall_s);
    steps[i].setExitCode(j.steps[i].exit_code);
    steps[i].setFinished(j.steps[i].finished);
    steps[i].setSignal(j.steps[i].signal);
  }
  auto phases = b.initDeployPhases(j.deploy_phases.size());
  for (unsigned i = 0; i < j.deploy_phases.size(); ++i) {
    const DeployPhase& p = j.deploy_phases[i];
    phases[i].setName(p.name);
    phases[i].setStartUs(p.start_us);
    phases[i].setEndUs(p.end_us);
    phases[i].setOk(p.ok);
    phases[i].setDetail(p.detail);
  }
  b.setHasDeploy(j.deploy.has_value());
  if (j.deploy) {
    auto d = b.initDeploy();
    wire_io::fill_outcome(d, j.deploy->outcome);
    d.setReason(j.deploy->reason);
    d.setHasProbe(j.deploy->probe.has_value());
    if (j.deploy->probe) wire_io::fill(d.initProbe(), *j.deploy->probe);
  }
}

bool ClientApi::read(const Peer& peer, uint64_t req, const std::function<void()>& fn) {
  const size_t mark = outbox_.mark();
  try {
    reader_.session.begin();
    fn();
    reader_.session.commit();
    return true;
  } catch (const StoreError& e) {
    reader_.session.rollback();
    outbox_.rewind(mark);
    if (e.refused()) {
      error(peer, req, wire::ErrorCode::BAD_REQUEST, e.what());
    } else if (e.sqlstate() == "57014") {
      error(peer, req, wire::ErrorCode::UNAVAILABLE,
            "the query took longer than the coordinator's read time limit");
    } else {
      spdlog::warn("read connection: {}", e.what());
      error(peer, req, wire::ErrorCode::UNAVAILABLE,
            "the coordinator cannot read from PostgreSQL; try again");
    }
  } catch (...) {
    reader_.session.rollback();
    throw;  // the message boundary judges it
  }
  return false;
}

void ClientApi::on_status(const Peer& peer, uint64_t req, wire::Envelope::Reader env) {
  const uint64_t id = env.getBody().getStatus().getId();
  auto not_found = [&] {
    error(peer, req, wire::ErrorCode::NOT_FOUND,
          "no pipeline or job with id " + std::to_string(id));
  };
  if (!valid_id(id)) return not_found();
  read(peer, req, [&] {
    auto view = reader_.reads.status(id);
    if (!view) return not_found();
    capnp::MallocMessageBuilder b;
    auto r = wire_io::start(b, req).getBody().initStatusReply();
    r.setPipelineId(view->id);
    r.setPipelineName(view->name);
    r.setRevision(view->revision);
    r.setBranch(view->branch);
    r.setSubmitter(view->submitter);
    r.setSubmittedAtUs(view->submitted_at_us);
    r.setBudgetWallMs(view->budget_wall_ms);
    r.setWallS(view->wall_s);
    r.setOverBudget(view->over_budget);
    auto jobs = r.initJobs(view->jobs.size());
    for (unsigned i = 0; i < view->jobs.size(); ++i) fill_job(jobs[i], view->jobs[i]);
    outbox_.reply(Side::kClients, peer.route, b);
  });
}

void ClientApi::on_logs(const Peer& peer, uint64_t req, wire::Envelope::Reader env) {
  auto m = env.getBody().getLogs();
  const uint64_t id = m.getJobId();
  auto not_found = [&](const std::string& why) {
    error(peer, req, wire::ErrorCode::NOT_FOUND, why);
  };
  if (!valid_id(id) || m.getAfterId() > bounds::kMaxCount)
    return not_found("no job with id " + std::to_string(id));
  read(peer, req, [&] {
    auto view = reader_.reads.status(id);
    if (!view) return not_found("no job with id " + std::to_string(id));
    if (view->id == id) {
      std::string jobs;
      for (const auto& j : view->jobs)
        jobs += (jobs.empty() ? "" : ", ") + std::to_string(j.id) + " (" + j.name + ")";
      return not_found(std::to_string(id) + " is a pipeline; logs are per job: " + jobs);
    }
    if (view->jobs.size() != 1) return not_found("no job with id " + std::to_string(id));
    const uint32_t max_bytes = m.getMaxBytes() == 0 ? 1 << 20 : std::min(m.getMaxBytes(), 8u << 20);
    auto chunks = reader_.reads.logs(id, m.getAfterId(), max_bytes);
    capnp::MallocMessageBuilder b;
    auto r = wire_io::start(b, req).getBody().initLogsReply();
    auto list = r.initChunks(chunks.size());
    uint64_t last = m.getAfterId();
    for (unsigned i = 0; i < chunks.size(); ++i) {
      list[i].setId(chunks[i].id);
      list[i].setAttempt(chunks[i].attempt);
      list[i].setStream(stream_from(chunks[i].stream));
      list[i].setData(kj::arrayPtr(reinterpret_cast<const capnp::byte*>(chunks[i].data.data()),
                                   chunks[i].data.size()));
      list[i].setStepIndex(chunks[i].step_index);
      list[i].setStepName(chunks[i].step_name);
      list[i].setAgent(chunks[i].agent);
      list[i].setMachine(chunks[i].machine);
      last = chunks[i].id;
    }
    r.setLastId(last);
    r.setState(wire_io::to_wire(view->jobs[0].state));
    r.setJobEnded(is_terminal(view->jobs[0].state));
    outbox_.reply(Side::kClients, peer.route, b);
  });
}

void ClientApi::on_agents(const Peer& peer, uint64_t req, wire::Envelope::Reader) {
  read(peer, req, [&] {
    auto rows = reader_.reads.agents();
    capnp::MallocMessageBuilder b;
    auto r = wire_io::start(b, req).getBody().initAgentsReply();
    auto list = r.initAgents(rows.size());
    for (unsigned i = 0; i < rows.size(); ++i) {
      const auto& row = rows[i];
      auto a = list[i];
      a.setName(row.name);
      wire_io::fill_labels(a.initLabels(row.labels.size()), row.labels);
      a.setSlots(row.slots);
      a.setMachine(row.machine);
      a.setLastSeenUs(row.last_seen_us);
      const AgentSession* s = agents_.find(row.name);
      a.setConnected(s != nullptr);
      a.setDraining(row.draining || (s && s->draining()));
      a.setCalibratedAtUs(row.calibrated_at_us);
      a.setHost(row.host);
      a.setCalibrationStale(row.calibration_stale);
      auto cal = a.initCalibration(row.calibration.size());
      for (unsigned k = 0; k < row.calibration.size(); ++k) {
        cal[k].setBenchmark(row.calibration[k].benchmark);
        cal[k].setMedianS(row.calibration[k].median_s);
        cal[k].setNoise(row.calibration[k].noise);
        cal[k].setRuns(static_cast<uint32_t>(row.calibration[k].runs));
      }
      if (auto noise = machine_noise(row.calibration)) a.setNoise(*noise);
      if (s) {
        a.setUsedSlots(placement_.used_slots(row.name));
        auto held = table_.held_by(row.name);
        auto ids = a.initRunningJobs(held.size());
        for (unsigned k = 0; k < held.size(); ++k) ids.set(k, held[k]->id);
      }
    }
    outbox_.reply(Side::kClients, peer.route, b);
  });
}

void ClientApi::on_report(const Peer& peer, uint64_t req, wire::Envelope::Reader env) {
  auto m = env.getBody().getReport();
  bounds::check_text("ReportRequest.name", m.getName(), bounds::kNameBytes);
  if (m.getParams().size() > bounds::kMaxLabels)
    throw PeerError("ReportRequest.params of " + std::to_string(m.getParams().size()) +
                    " entries is out of bounds (at most 256)");
  const std::string name = valid_text(m.getName().cStr());
  std::map<std::string, std::string> vars;
  for (auto kv : m.getParams()) {
    bounds::check_text("ReportRequest.params key", kv.getKey(), bounds::kNameBytes);
    bounds::check_text("ReportRequest.params value", kv.getValue(), bounds::kStepNameBytes);
    vars[valid_text(kv.getKey().cStr())] = valid_text(kv.getValue().cStr());
  }
  ReportTable table;
  if (is_computed_report(name, vars)) {
    // Judged here from the samples its helper reports give (comparisons.hpp).
    std::string problem;
    auto query = [&](const std::string& report, const std::map<std::string, std::string>& v) {
      TranslatedReport t;
      std::string e;
      if (!translate_report(reports().at(report), v, &t, &e)) throw std::invalid_argument(e);
      ReportTable out;
      reader_.reads.run_report(t.sql, t.params, &out.columns, &out.rows, &out.kinds, &out.nulls);
      return out;
    };
    const bool ok = read(peer, req, [&] {
      try {
        problem = run_computed_report(name, vars, query, &table);
      } catch (const std::logic_error& e) {  // a bad variable, a helper report without a column
        problem = e.what();
      }
    });
    if (!ok) return;
    if (!problem.empty()) {
      error(peer, req, wire::ErrorCode::BAD_REQUEST, "report " + name + ": " + problem);
      return;
    }
  } else {
    auto it = reports().find(name);
    if (it == reports().end()) {
      std::string known;
      for (const auto& [n, text] : reports()) known += (known.empty() ? "" : ", ") + n;
      error(peer, req, wire::ErrorCode::NOT_FOUND,
            "no report named '" + name + "' (reports: " + known + ")");
      return;
    }
    TranslatedReport t;
    std::string problem;
    if (!translate_report(it->second, vars, &t, &problem)) {
      error(peer, req, wire::ErrorCode::BAD_REQUEST, "report " + name + ": " + problem);
      return;
    }
    if (!read(peer, req, [&] {
          reader_.reads.run_report(t.sql, t.params, &table.columns, &table.rows, &table.kinds,
                                   &table.nulls);
        }))
      return;
  }
  capnp::MallocMessageBuilder b;
  auto r = wire_io::start(b, req).getBody().initReportReply();
  auto cols = r.initColumns(table.columns.size());
  for (unsigned i = 0; i < table.columns.size(); ++i) cols.set(i, table.columns[i]);
  auto out = r.initRows(table.rows.size());
  for (unsigned i = 0; i < table.rows.size(); ++i) {
    auto row = out.init(i, table.rows[i].size());
    for (unsigned k = 0; k < table.rows[i].size(); ++k) row.set(k, table.rows[i][k]);
  }
  auto kind_list = r.initKinds(table.kinds.size());
  for (unsigned i = 0; i < table.kinds.size(); ++i) kind_list.set(i, table.kinds[i]);
  auto null_list = r.initNulls(table.nulls.size());
  for (unsigned i = 0; i < table.nulls.size(); ++i) {
    auto row = null_list.init(i, table.nulls[i].size());
    for (unsigned k = 0; k < table.nulls[i].size(); ++k) row.set(k, table.nulls[i][k]);
  }
  outbox_.reply(Side::kClients, peer.route, b);
}

}  // namespace yardstick
