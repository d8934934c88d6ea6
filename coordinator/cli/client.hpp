// The CLI's connection to the coordinator: one DEALER, one request at a time.
#pragma once

#include <capnp/message.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <zmq.hpp>

#include "common/curve.hpp"
#include "common/wire.hpp"

namespace yardstick {

// The coordinator did not answer in time.
class Unreachable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The endpoint given cannot be used (no scheme, no port, ...).
class BadEndpoint : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The coordinator answered with an Error.
class RemoteError : public std::runtime_error {
 public:
  RemoteError(wire::ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  wire::ErrorCode code() const { return code_; }

 private:
  wire::ErrorCode code_;
};

class Client {
 public:
  // With CURVE unless `security.insecure`. A key the coordinator refuses
  // ends a call with RemoteError(forbidden); a coordinator that is not the
  // one whose key was given, with Unreachable saying so.
  Client(zmq::context_t& context, std::string endpoint, std::chrono::milliseconds timeout,
         const ClientSecurity& security);

  // Starts a request; fill its body, then call call().
  wire::Envelope::Builder request(capnp::MallocMessageBuilder& builder);
  // Sends the request and waits for its answer. Throws Unreachable or RemoteError.
  std::unique_ptr<wire_io::Frame> call(capnp::MallocMessageBuilder& builder);

  const std::string& endpoint() const { return endpoint_; }

 private:
  zmq::socket_t socket_;
  std::unique_ptr<HandshakeWatch> watch_;
  std::string handshake_problem_;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  uint64_t next_request_ = 1;
  uint64_t pending_request_ = 0;
};

}  // namespace yardstick
