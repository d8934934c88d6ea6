// The check an agent run with --trusted-submitters makes before it runs a
// job: the job carries a signed submission, signed by a trusted key, and is
// what the signed pipeline file says. Pure functions: no I/O.
#pragma once

#include <string>

#include "common/signing.hpp"
#include "common/types.hpp"

namespace yardstick {

// The first difference between `signed_spec` (what the signed file says)
// and `given` (what the coordinator sent), in words ("step 1 run", "env FOO
// added", "bench run"); empty when they agree on everything that decides
// what runs. Not compared, as they are the coordinator's to set: job id,
// attempt, pipeline id, slots, budgets and the signed submission itself.
// Every other field is (one added to JobAssignment later is compared whole,
// as "a field of the job spec", until it gets a name here).
std::string spec_difference(const JobAssignment& signed_spec, const JobAssignment& given);

// Empty when `job` may run on an agent with `labels` that trusts `trusted`;
// else the reason to refuse it, for the job's log and status:
//   "unsigned job refused: this agent requires signatures (--trusted-submitters)"
//   "signature does not verify"
//   "job 'x' differs from what was signed: step 1 run"
// `signer`, when given, gets "NAME (ed25519:...)" of a trusted signer. Never
// throws, whatever the signed submission holds.
std::string check_signed_job(const JobAssignment& job, const signing::TrustedSubmitters& trusted,
                             const Labels& labels, std::string* signer = nullptr);

}  // namespace yardstick
