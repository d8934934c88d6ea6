#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/types.hpp"
#include "common/wire.hpp"
#include "coordinator/cli/client.hpp"
#include "coordinator/cli/commands.hpp"
#include "coordinator/cli/requests.hpp"

namespace yardstick {

namespace {
using json = nlohmann::json;
}  // namespace

int cmd_calibrate(const Options& o, const std::string& agent, bool wait) {
  zmq::context_t ctx(1);
  Client client(ctx, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o));
  std::unique_ptr<capnp::MallocMessageBuilder> b;
  client.request(fresh(b)).getBody().initCalibrate().setAgent(agent);
  auto frame = client.call(*b);
  auto reply = frame->envelope().getBody().getCalibrateReply();
  const uint64_t job_id = reply.getJobId(), pipeline_id = reply.getPipelineId();
  const bool existing = reply.getExisting();
  if (o.json && !wait)
    std::cout << json{{"agent", agent},
                      {"job_id", job_id},
                      {"pipeline_id", pipeline_id},
                      {"existing", existing}}
                     .dump()
              << "\n";
  else
    (o.json ? std::cerr : std::cout)
        << "calibration of agent " << agent << ": job " << job_id << " (pipeline " << pipeline_id
        << ")" << (existing ? ", already queued or running" : "") << "\n";
  std::cout.flush();
  if (!wait) return kOk;
  for (;;) {
    std::unique_ptr<wire_io::Frame> st = fetch_status_waiting(client, job_id);
    auto jobs = st->envelope().getBody().getStatusReply().getJobs();
    if (jobs.size() == 1 && is_terminal(wire_io::from_wire(jobs[0].getState()))) {
      const JobState state = wire_io::from_wire(jobs[0].getState());
      if (state != JobState::kSucceeded) {
        std::cerr << "yardstick: calibration job " << job_id << " " << to_string(state)
                  << (jobs[0].getMessage().size() ? ": " + std::string(jobs[0].getMessage().cStr())
                                                  : std::string())
                  << " (yardstick logs " << job_id << ")\n";
        return kJobsFailed;
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return cmd_report(
      o, "machine_calibrations", {"job=" + std::to_string(job_id)},
      o.json ? Format::kJson : Format::kTable, [&](const auto&, const auto& rows) -> std::string {
        return rows.empty()
                   ? "calibration job " + std::to_string(job_id) + " succeeded but stored no result"
                   : "";
      });
}

}  // namespace yardstick
