#include "coordinator/cli/bisect_record.hpp"

#include <memory>
#include <string>

#include "common/wire.hpp"
#include "coordinator/cli/requests.hpp"

namespace yardstick {

uint64_t send_bisection(Client& client, const BisectArgs& a, const nlohmann::json& out, uint64_t id,
                        uint32_t runs, double seconds) {
  auto text = [&](const char* key) {
    return out.contains(key) && out[key].is_string() ? out[key].get<std::string>() : std::string();
  };
  auto number = [&](const char* key) {
    return out.contains(key) && out[key].is_number() ? out[key].get<double>() : 0.0;
  };
  std::unique_ptr<capnp::MallocMessageBuilder> b;
  auto r = client.request(fresh(b)).getBody().initBisection();
  r.setId(id);
  r.setPipeline(a.pipeline);
  r.setJob(a.job);
  r.setKind(a.kind);
  r.setWhat(a.what);
  r.setMachine(a.machine);
  r.setGood(text("good"));
  r.setBad(text("bad"));
  r.setOutcome(text("outcome"));
  r.setCommit(text("commit"));
  r.setSubject(text("subject"));
  r.setChangePct(number("step_change_pct"));
  r.setLowPct(number("low_pct"));
  r.setHighPct(number("high_pct"));
  r.setSteps(static_cast<uint32_t>(number("steps")));
  r.setRuns(runs);
  r.setSeconds(seconds);
  r.setMessage(text("message"));
  auto frame = client.call(*b);
  return frame->envelope().getBody().getBisectionReply().getId();
}

}  // namespace yardstick
