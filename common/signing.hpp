// Signed submissions: a submitter signs what it submits with an Ed25519 key
// (libsodium), and agents run with --trusted-submitters check, before they
// run anything, that the signature is right, that the key is one they trust,
// and that the job they were given is what the signed file says.
//
// What is signed: canonical_bytes() of the pipeline file exactly as sent,
// its name, the revision and the branch. The coordinator passes the signed
// original along with every job; it cannot change a byte of it unnoticed.
//
// Key files are text. The secret key file (NAME.sign, mode 0600):
//   # yardstick signing key (Ed25519 secret key): keep it private
//   ed25519-secret:<base64 of the 32-byte seed>
// The public key file (NAME.sign.pub), which is also one line of a
// --trusted-submitters file:
//   # yardstick signing public key: add this line to the agents' --trusted-submitters file
//   ed25519:<base64 of the 32-byte public key> NAME
// Lines starting with '#' and blank lines are ignored everywhere.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/types.hpp"

namespace yardstick::signing {

constexpr size_t kPublicKeyBytes = 32;
constexpr size_t kSeedBytes = 32;
constexpr size_t kSignatureBytes = 64;

// A problem with a key file; the message names the file, the line when it
// concerns one ("keys.txt:3: ..."), and what is wrong.
class KeyFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The bytes a submitter signs: "yardstick-signed-submission-v1\0", then the
// pipeline file, its name, the revision and the branch, in that order, each
// as an 8-byte big-endian length followed by its bytes. No two different
// submissions have the same canonical bytes.
std::string canonical_bytes(std::string_view yaml, std::string_view file_name,
                            std::string_view revision, std::string_view branch);

// An Ed25519 key pair, raw bytes.
struct SigningKey {
  std::string seed;        // kSeedBytes: the secret
  std::string public_key;  // kPublicKeyBytes
};

// A fresh key pair from the system's random source.
SigningKey generate_signing_key();

// "ed25519:<base64>" of a 32-byte public key.
std::string public_key_text(std::string_view public_key);
// The 32 bytes of "ed25519:<base64>"; empty, with `why` set, when it is not one.
std::string parse_public_key_text(std::string_view text, std::string* why);

// Writes NAME.sign (the secret key; created with O_EXCL and mode 0600, so it
// is never readable by anyone else, not even for a moment) and NAME.sign.pub
// (the public key, mode 0644, one line naming the key after NAME's file
// name). Refuses, writing nothing, when either file exists. Returns the
// public key's text form. Throws KeyFileError.
std::string write_signing_key_files(const std::string& name, const SigningKey& key);
// The same with a fresh key pair: what `yardstick keygen --signing --out NAME` calls.
std::string write_signing_key_files(const std::string& name);

// Reads a secret key file (NAME.sign). Refuses a file that group or others
// may read or write, and any file not in the form above. Throws KeyFileError.
SigningKey read_signing_key(const std::string& path);

// Signs a submission with `key`.
SignedSubmission sign_submission(std::string_view yaml, std::string_view file_name,
                                 std::string_view revision, std::string_view branch,
                                 const SigningKey& key);

// Empty when `s.signature` is a valid signature of s's canonical bytes by
// `s.public_key`; else why not. Whether the key is trusted is not its concern.
std::string verify_signature(const SignedSubmission& s);

// Why the coordinator refuses a signed submission, or empty: what it signs
// is not byte for byte what was submitted alongside it, a signed field is
// not text that the store keeps unchanged (UTF-8, no NUL), or the signature
// does not verify. Whom to trust is each agent's decision, not this one's.
std::string submission_problem(const SignedSubmission& s, std::string_view yaml,
                               std::string_view file_name, std::string_view revision,
                               std::string_view branch);

// The public keys an agent accepts, each with the name given after it.
struct TrustedSubmitter {
  std::string name;  // may be empty
  int line = 0;
};
class TrustedSubmitters {
 public:
  // nullptr when `public_key` (raw bytes) is not trusted.
  const TrustedSubmitter* find(const std::string& public_key) const;
  size_t size() const { return keys_.size(); }
  const std::string& file() const { return file_; }

 private:
  friend TrustedSubmitters parse_trusted_submitters(std::string_view, const std::string&);
  std::string file_;
  std::map<std::string, TrustedSubmitter> keys_;  // by raw public key
};

// Parses a --trusted-submitters file: one "ed25519:<base64> [name]" per
// line; blank lines and lines starting with '#' are ignored. A malformed
// line, a key listed twice or a file without any key is an error naming the
// file and line. Throws KeyFileError.
TrustedSubmitters parse_trusted_submitters(std::string_view text, const std::string& file);
TrustedSubmitters read_trusted_submitters(const std::string& path);

}  // namespace yardstick::signing
