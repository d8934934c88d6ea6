// Key files read once and safely: CURVE key files and authorized-keys files
// (common/curve.hpp), signing key files and --trusted-submitters files
// (common/signing.hpp) all come through here.
//
// The file is opened once (O_RDONLY | O_NOFOLLOW | O_CLOEXEC) and every
// check is made on the opened file (fstat), so what was checked is what is
// read: a symbolic link is refused, as is anything but a regular file and
// anything over its size limit. Whether the mode and owner suit a secret is
// the caller's call (secret_key_problem()).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

namespace yardstick {

// A key file holds one key or one pair: a few hundred bytes.
inline constexpr size_t kMaxKeyFileBytes = 64 * 1024;
// A file listing keys (authorized keys, trusted submitters): one line a peer.
inline constexpr size_t kMaxKeyListBytes = 1024 * 1024;

struct KeyFileText {
  std::string text;
  mode_t mode = 0;  // permission bits (07777) of the file that was read
  uid_t owner = 0;
};

// The whole of the regular file `path`, at most `max_bytes`. On failure,
// nullopt and `error` set to a sentence starting with the path ("k.key: is
// a symbolic link; ...", "k.key: 70000 bytes, over the 65536-byte limit of
// a key file").
std::optional<KeyFileText> read_key_file(const std::string& path, size_t max_bytes,
                                         std::string* error);

// Why a file read as a secret key must not be used, or "": group or others
// may read or write it, or it belongs to neither this process's user nor root.
std::string secret_key_problem(const std::string& path, const KeyFileText& file);

}  // namespace yardstick
