#include <chrono>

#include "coordinator/cli/client.hpp"
#include "coordinator/cli/commands.hpp"
#include "coordinator/cli/requests.hpp"

namespace yardstick {

int cmd_status(const Options& o, uint64_t id) {
  zmq::context_t ctx(1);
  Client client(ctx, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o));
  auto st = fetch_status(client, id);
  print_status(st->envelope().getBody().getStatusReply(), o.json);
  return kOk;
}

}  // namespace yardstick
