// Secrets: values an agent holds (from its environment or its secrets file)
// that jobs name in `secrets:`. Only names travel and are stored; the values
// stay on the agent, go into the environment of the steps that asked for
// them, and are masked as "***" in everything the agent sends as text.
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace yardstick {

// What a secret value becomes in logs and messages.
inline constexpr std::string_view kSecretMask = "***";

// True for names of environment variables: [A-Za-z_][A-Za-z0-9_]*.
bool valid_env_name(std::string_view name);

// Replaces every occurrence of every value with "***", also across the
// pieces of a stream. Where occurrences touch or overlap (values "abcd" and
// "cdef" in "abcdef"), the whole stretch they cover becomes one "***", so no
// byte of any occurrence shows. Empty values are ignored.
//
// As a stream: feed() returns what can be sent now and holds back only a
// tail that could still be the start of a value (at most the longest value's
// length - 1 bytes, and nothing when the tail cannot start one); finish()
// returns what is held, masked, and makes the masker ready for a new stream.
// Feeding a text in any pieces, then finish(), gives what mask() gives for
// the whole text.
class SecretMasker {
 public:
  SecretMasker() = default;
  explicit SecretMasker(const std::vector<std::string>& values);

  void add(const std::string& value);
  bool empty() const { return values_.empty(); }
  // The whole text, masked. Does not touch the stream's state.
  std::string mask(std::string_view text) const;

  std::string feed(std::string_view bytes);
  std::string finish();
  // Bytes fed and not yet returned.
  size_t held() const { return carry_.size(); }

 private:
  std::string process(std::string_view bytes, bool final);

  std::vector<std::string> values_;  // longest first, no duplicates
  std::array<bool, 256> first_{};    // the first bytes of the values
  std::string carry_;                // held back: could start a value
  size_t carry_covered_ = 0;         // its first bytes, inside an occurrence already found
  bool masking_ = false;             // the output so far ends inside a masked stretch
};

// `url` with the user information of a URL masked: "https://user:token@host/x"
// becomes "https://***@host/x". For http(s) any user information is masked
// (a token may be the user name); for other schemes (ssh://git@host/x) only
// when it carries a password (after ':'). Anything else comes back unchanged.
std::string mask_url_credentials(std::string_view url);
// True when mask_url_credentials would change `url`.
bool url_has_credentials(std::string_view url);
// A webhook URL as it may be shown: webhooks carry their token in the path
// or the query (https://hooks.slack.com/services/T0/B0/XXXX), so only the
// scheme, host and port stay: "https://hooks.slack.com/***". User
// information goes too. Text that is not scheme://host... becomes "***".
std::string mask_webhook_url(std::string_view url);
// The password (or http(s) token) of `url`, when it has one: to mask where
// the URL's output might show it.
std::optional<std::string> url_secret(std::string_view url);

// The KEY=VALUE lines of a secrets file. Blank lines and lines starting
// with '#' are skipped; the value is everything after the first '=', as is
// (no quotes are removed, no spaces trimmed). On a malformed line returns
// nullopt and sets `error` to "line N: why" (never the line's text: it may
// hold a value).
std::optional<std::map<std::string, std::string>> parse_secrets(std::string_view text,
                                                                std::string* error);

// Reads and parses a secrets file, refusing one that its group or others may
// read or write (its mode must allow the owner alone). nullopt with `error`
// naming the path (and the mode, or the line) otherwise.
std::optional<std::map<std::string, std::string>> load_secrets_file(const std::string& path,
                                                                    std::string* error);

}  // namespace yardstick
