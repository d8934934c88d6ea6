// A simulated agent for benchmarks: registers (with a listed key unless the
// cluster is --insecure), takes one benchmark job and sends `samples`
// samples for it as fast as the coordinator takes them, until every one is
// acknowledged (committed to PostgreSQL).
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <zmq.hpp>

#include "common/wire.hpp"
#include "tests/integration/harness.hpp"

namespace yardstick::test {

struct IngestResult {
  double per_s = 0;
  double seconds = 0;
  uint64_t job = 0;
};

inline IngestResult ingest_samples(Cluster& c, int samples,
                                   const std::string& name = "ingest-sim") {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::sndhwm, 0);
  s.set(zmq::sockopt::rcvhwm, 0);
  if (!c.insecure()) c.secure(s, c.authorize_agent(name));
  s.connect(c.agents_endpoint());
  {
    capnp::MallocMessageBuilder b;
    auto h = wire_io::start(b, 1).getBody().initAgentHello();
    h.setName(name);
    h.setSlots(1);
    auto labels = h.initLabels(1);
    labels[0].setKey("ingest");
    labels[0].setValue("yes");
    wire_io::fill(h.initMachine(), MachineInfo{"ingest-machine", "sim", 1, 1, "", "", "", {}, ""});
    s.send(wire_io::to_message(b), zmq::send_flags::none);
  }
  // A bench with room for every sample: variants of up to 100,000 runs
  // each (the pipeline's limit), so that none is past its bound.
  const int variants = (samples + 99'999) / 100'000;
  const int runs = (samples + variants - 1) / variants;
  std::string yaml =
      "pipeline: ingest\njobs:\n  b:\n    kind: bench\n    on: { labels: [ingest=yes] }\n"
      "    bench: { run: \"true\", runs: " +
      std::to_string(runs) + " }\n    variants:\n";
  for (int v = 0; v < variants; ++v) yaml += "      - name: v" + std::to_string(v) + "\n";
  c.write_file("ingest.yml", yaml);
  if (c.cli({"submit", "ingest.yml"}).code != 0) throw std::runtime_error("submit failed");
  uint64_t job = 0;
  uint32_t attempt = 0;
  while (!job) {
    zmq::message_t m;
    if (!s.recv(m)) continue;
    auto d = wire_io::decode_frame(m.data(), m.size());
    auto* f = std::get_if<std::unique_ptr<wire_io::Frame>>(&d);
    if (f && (*f)->envelope().getBody().which() == wire::Envelope::Body::ASSIGN) {
      job = (*f)->envelope().getBody().getAssign().getJobId();
      attempt = (*f)->envelope().getBody().getAssign().getAttempt();
    }
  }
  // One thread owns the socket: send while the socket takes frames, read
  // acknowledgements whenever they arrive, stop when all are acknowledged.
  auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + std::chrono::seconds(300);
  int sent = 0, acked = 0;
  while (acked < samples) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("ingestion: only " + std::to_string(acked) + " of " +
                               std::to_string(samples) + " acknowledged after 300 s");
    zmq::pollitem_t item{static_cast<void*>(s), 0,
                         static_cast<short>(ZMQ_POLLIN | (sent < samples ? ZMQ_POLLOUT : 0)), 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(100));
    for (int burst = 0; sent < samples && burst < 256; ++burst) {
      capnp::MallocMessageBuilder b;
      auto m = wire_io::start(b, 0).getBody().initSample();
      wire_io::fill(m.initKey(), {job, attempt, static_cast<uint64_t>(sent + 1)});
      m.setVariant("v" + std::to_string(sent % variants));
      m.setVariantIndex(sent % variants);
      m.setIndex(sent / variants);
      m.setWallNs(1'000'000 + sent);
      m.setAtUs(1'700'000'000'000'000);
      if (!s.send(wire_io::to_message(b), zmq::send_flags::dontwait)) break;
      ++sent;
    }
    zmq::message_t m;
    while (s.recv(m, zmq::recv_flags::dontwait)) {
      auto d = wire_io::decode_frame(m.data(), m.size());
      auto* f = std::get_if<std::unique_ptr<wire_io::Frame>>(&d);
      if (f && (*f)->envelope().getBody().which() == wire::Envelope::Body::ACK)
        acked += (*f)->envelope().getBody().getAck().getKeys().size();
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {samples / secs, secs, job};
}

}  // namespace yardstick::test
