#include "common/signing.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/key_file.hpp"
#include "common/text.hpp"

namespace yardstick::signing {

namespace {

constexpr std::string_view kDomain{"yardstick-signed-submission-v1\0", 31};
constexpr std::string_view kPublicPrefix = "ed25519:";
constexpr std::string_view kSecretPrefix = "ed25519-secret:";

void need_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string base64(std::string_view raw) {
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes(raw), raw.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// Exactly `size` bytes from base64, or empty.
std::string unbase64(std::string_view text, size_t size) {
  std::string out(size + 3, '\0');  // room to tell a longer value from an exact one
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size() || len != size)
    return "";
  out.resize(len);
  return out;
}

std::string errno_text() {
  return std::strerror(errno);
}

void append_field(std::string& out, std::string_view field) {
  const uint64_t n = field.size();
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(field);
}

// The text of a key file (at most `max_bytes`), or KeyFileError.
KeyFileText read_whole(const std::string& path, size_t max_bytes) {
  std::string error;
  auto file = read_key_file(path, max_bytes, &error);
  if (!file) throw KeyFileError(error);
  return std::move(*file);
}

// Calls `each(line_number, line)` for every line that is not blank or a comment.
template <typename F>
void for_each_key_line(std::string_view text, F each) {
  int number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++number;
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    each(number, line);
  }
}

// Writes `text` to a new file `path` with `mode`; O_EXCL: an existing file is an error.
void create_file(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) throw KeyFileError(path + ": already exists; nothing was written");
    throw KeyFileError(path + ": cannot create: " + errno_text());
  }
  // The umask can only have taken bits away; this also sets what it took from the owner.
  bool ok = ::fchmod(fd, mode) == 0;
  size_t done = 0;
  while (ok && done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      ok = false;
    else
      done += n;
  }
  ok = ok && ::fsync(fd) == 0;
  std::string why = ok ? "" : errno_text();
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    ::unlink(path.c_str());
    throw KeyFileError(path + ": cannot write: " + (why.empty() ? errno_text() : why));
  }
}

}  // namespace

std::string canonical_bytes(std::string_view yaml, std::string_view file_name,
                            std::string_view revision, std::string_view branch) {
  std::string out(kDomain);
  for (std::string_view field : {yaml, file_name, revision, branch}) append_field(out, field);
  return out;
}

SigningKey generate_signing_key() {
  need_sodium();
  SigningKey key;
  key.seed.resize(kSeedBytes);
  randombytes_buf(key.seed.data(), key.seed.size());
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, bytes(key.seed));
  sodium_memzero(sk, sizeof sk);
  key.public_key.assign(reinterpret_cast<const char*>(pk), sizeof pk);
  return key;
}

std::string public_key_text(std::string_view public_key) {
  return std::string(kPublicPrefix) + base64(public_key);
}

std::string parse_public_key_text(std::string_view text, std::string* why) {
  auto fail = [&](const std::string& what) {
    if (why) *why = what;
    return std::string();
  };
  if (text.rfind(kSecretPrefix, 0) == 0)
    return fail("this is a secret signing key, not a public one: keep it private");
  if (text.rfind(kPublicPrefix, 0) != 0)
    return fail("expected a signing public key, ed25519:<base64 of 32 bytes>");
  std::string raw = unbase64(text.substr(kPublicPrefix.size()), kPublicKeyBytes);
  if (raw.empty()) return fail("the key after ed25519: is not the base64 of 32 bytes");
  return raw;
}

std::string write_signing_key_files(const std::string& name, const SigningKey& key) {
  const std::string secret_path = name + ".sign";
  const std::string public_path = name + ".sign.pub";
  std::error_code ec;
  for (const auto& p : {secret_path, public_path})
    if (std::filesystem::symlink_status(p, ec).type() != std::filesystem::file_type::not_found)
      throw KeyFileError(p + ": already exists; nothing was written");
  const std::string pub = public_key_text(key.public_key);
  std::string label = std::filesystem::path(name).filename().string();
  for (char& c : label)
    if (c == ' ' || c == '\t' || c == '\r') c = '-';
  create_file(secret_path,
              "# yardstick signing key (Ed25519 secret key): keep it private\n" +
                  std::string(kSecretPrefix) + base64(key.seed) + "\n",
              0600);
  try {
    create_file(public_path,
                "# yardstick signing public key: add this line to the agents' "
                "--trusted-submitters file\n" +
                    pub + (label.empty() ? "" : " " + label) + "\n",
                0644);
  } catch (...) {
    ::unlink(secret_path.c_str());
    throw;
  }
  return pub;
}

std::string write_signing_key_files(const std::string& name) {
  return write_signing_key_files(name, generate_signing_key());
}

SigningKey read_signing_key(const std::string& path) {
  need_sodium();
  const KeyFileText file = read_whole(path, kMaxKeyFileBytes);
  if (std::string why = secret_key_problem(path, file); !why.empty()) throw KeyFileError(why);
  const std::string& text = file.text;
  std::string seed;
  int key_line = 0;
  for_each_key_line(text, [&](int number, const std::string& line) {
    const std::string where = path + ":" + std::to_string(number) + ": ";
    if (key_line)
      throw KeyFileError(where + "a second key (the first is on line " + std::to_string(key_line) +
                         "); a secret key file holds one");
    if (line.rfind(kPublicPrefix, 0) == 0)
      throw KeyFileError(where + "this is a public key; give the secret key file (NAME.sign)");
    if (line.rfind(kSecretPrefix, 0) != 0)
      throw KeyFileError(where + "expected ed25519-secret:<base64 of 32 bytes>");
    seed = unbase64(std::string_view(line).substr(kSecretPrefix.size()), kSeedBytes);
    if (seed.empty())
      throw KeyFileError(where + "the key after ed25519-secret: is not the base64 of 32 bytes");
    key_line = number;
  });
  if (!key_line) throw KeyFileError(path + ": no key in the file");
  SigningKey key;
  key.seed = std::move(seed);
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, bytes(key.seed));
  sodium_memzero(sk, sizeof sk);
  key.public_key.assign(reinterpret_cast<const char*>(pk), sizeof pk);
  return key;
}

SignedSubmission sign_submission(std::string_view yaml, std::string_view file_name,
                                 std::string_view revision, std::string_view branch,
                                 const SigningKey& key) {
  need_sodium();
  if (key.seed.size() != kSeedBytes) throw std::invalid_argument("signing key: not 32 bytes");
  SignedSubmission s;
  s.yaml = yaml;
  s.file_name = file_name;
  s.revision = revision;
  s.branch = branch;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, bytes(key.seed));
  s.public_key.assign(reinterpret_cast<const char*>(pk), sizeof pk);
  const std::string message = canonical_bytes(yaml, file_name, revision, branch);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, bytes(message), message.size(), sk);
  sodium_memzero(sk, sizeof sk);
  s.signature.assign(reinterpret_cast<const char*>(sig), sizeof sig);
  return s;
}

std::string verify_signature(const SignedSubmission& s) {
  need_sodium();
  if (s.public_key.size() != kPublicKeyBytes)
    return "the signing public key is " + std::to_string(s.public_key.size()) + " bytes, not 32";
  if (s.signature.size() != kSignatureBytes)
    return "the signature is " + std::to_string(s.signature.size()) + " bytes, not 64";
  const std::string message = canonical_bytes(s.yaml, s.file_name, s.revision, s.branch);
  if (crypto_sign_verify_detached(bytes(s.signature), bytes(message), message.size(),
                                  bytes(s.public_key)) != 0)
    return "signature does not verify";
  return "";
}

std::string submission_problem(const SignedSubmission& s, std::string_view yaml,
                               std::string_view file_name, std::string_view revision,
                               std::string_view branch) {
  if (s.yaml != yaml) return "it signs another pipeline file than the one sent";
  if (s.file_name != file_name) return "it signs another file name than the one sent";
  if (s.revision != revision) return "it signs another revision than the one sent";
  if (s.branch != branch) return "it signs another branch than the one sent";
  for (const std::string* field : {&s.yaml, &s.file_name, &s.revision, &s.branch})
    if (!is_valid_text(*field)) return "a signed field is not UTF-8 text (or holds a NUL byte)";
  return verify_signature(s);
}

const TrustedSubmitter* TrustedSubmitters::find(const std::string& public_key) const {
  auto it = keys_.find(public_key);
  return it == keys_.end() ? nullptr : &it->second;
}

TrustedSubmitters parse_trusted_submitters(std::string_view text, const std::string& file) {
  TrustedSubmitters out;
  out.file_ = file;
  for_each_key_line(text, [&](int number, const std::string& line) {
    const std::string where = file + ":" + std::to_string(number) + ": ";
    const size_t space = line.find_first_of(" \t");
    const std::string key_text = line.substr(0, space);
    std::string why;
    std::string raw = parse_public_key_text(key_text, &why);
    if (raw.empty()) throw KeyFileError(where + why);
    TrustedSubmitter t;
    t.name = space == std::string::npos ? "" : trim(std::string_view(line).substr(space));
    t.line = number;
    auto [it, fresh] = out.keys_.emplace(std::move(raw), t);
    if (!fresh)
      throw KeyFileError(where + "the key of line " + std::to_string(it->second.line) +
                         " again; list each key once");
  });
  if (out.keys_.empty())
    throw KeyFileError(file +
                       ": no key in the file (one ed25519:<base64> [name] per line); an agent "
                       "that trusts nobody would refuse every job");
  return out;
}

TrustedSubmitters read_trusted_submitters(const std::string& path) {
  return parse_trusted_submitters(read_whole(path, kMaxKeyListBytes).text, path);
}

}  // namespace yardstick::signing
