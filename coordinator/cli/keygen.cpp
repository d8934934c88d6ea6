#include <iostream>
#include <nlohmann/json.hpp>

#include "common/curve.hpp"
#include "common/signing.hpp"
#include "coordinator/cli/commands.hpp"

namespace yardstick {

namespace {
using json = nlohmann::json;
}  // namespace

int cmd_keygen(const Options& o, const std::string& out, bool signing_pair) {
  if (signing_pair) {
    try {
      const std::string public_key = signing::write_signing_key_files(out);
      if (o.json)
        std::cout << json{{"public_key", public_key},
                          {"secret_file", out + ".sign"},
                          {"public_file", out + ".sign.pub"}}
                         .dump()
                  << "\n";
      else
        std::cout << "wrote " << out << ".sign (secret: sign with it, mode 0600) and " << out
                  << ".sign.pub (give it to agents)\npublic key: " << public_key
                  << "\nto trust it, add " << out
                  << ".sign.pub's line to each agent's --trusted-submitters file\nto sign: "
                     "yardstick submit FILE --signing-key "
                  << out << ".sign\n";
      return kOk;
    } catch (const std::exception& e) {
      std::cerr << "yardstick: keygen: " << e.what() << "\n";
      return kUsage;
    }
  }
  try {
    auto pair = generate_curve_keypair();
    write_curve_keypair(out, pair);
    if (o.json) {
      std::cout << json{{"public_key", pair.public_key},
                        {"secret_file", out + ".key"},
                        {"public_file", out + ".pub"}}
                       .dump()
                << "\n";
    } else {
      std::cout << "wrote " << out << ".key (secret: keep it, mode 0600) and " << out
                << ".pub (give it out)\npublic key: " << pair.public_key
                << "\nto admit it, add a line to the coordinator's --authorized-agents file:\n  "
                << pair.public_key << " AGENT-NAME\nor to its --authorized-clients file:\n  "
                << pair.public_key << " USER-NAME read|submit\n";
    }
    return kOk;
  } catch (const KeyFileError& e) {
    std::cerr << "yardstick: " << e.what() << "\n";
    return kUsage;
  }
}

}  // namespace yardstick
