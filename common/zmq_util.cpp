#include "common/zmq_util.hpp"

#include <cerrno>

#include "common/wire.hpp"

namespace yardstick {

void configure_router(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::router_mandatory, 1);
  socket.set(zmq::sockopt::maxmsgsize, wire_io::kMaxFrameBytes);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::sndhwm, 100000);
  socket.set(zmq::sockopt::rcvhwm, 100000);
}

void configure_dealer(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::maxmsgsize, wire_io::kMaxFrameBytes);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::sndhwm, 100000);
  socket.set(zmq::sockopt::rcvhwm, 100000);
}

std::string last_endpoint(zmq::socket_t& socket) {
  return socket.get(zmq::sockopt::last_endpoint);
}

int poll(zmq::pollitem_t* items, size_t count, std::chrono::milliseconds timeout) {
  try {
    return zmq::poll(items, count, timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return 0;
    throw;
  }
}

bool is_local_endpoint(const std::string& endpoint) {
  return endpoint.rfind("ipc://", 0) == 0 || endpoint.rfind("inproc://", 0) == 0 ||
         endpoint.rfind("tcp://127.", 0) == 0 || endpoint.rfind("tcp://localhost", 0) == 0 ||
         endpoint.rfind("tcp://[::1]", 0) == 0;
}

}  // namespace yardstick
