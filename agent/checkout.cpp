#include "agent/checkout.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string_view>

namespace yardstick {

namespace fs = std::filesystem;

namespace {
// The checkout step's script. @NAME@ are replaced by shell-quoted values.
// update: under the exclusive lock, leftovers of clones that did not finish
// go, a cache that is not a repository or cannot be fetched because it is
// corrupt goes, and a missing cache is cloned into a temporary folder that
// is renamed into place only once complete.
constexpr const char* kCacheUpdate = R"sh(set -e
for t in @CACHE@.tmp.* @CACHE@.new; do
  if [ -e "$t" ]; then echo "[yardstick] removing $t, left by a clone that did not finish" >&2; rm -rf "$t"; fi
done
if [ -e @CACHE@ ]; then
  if ! git --git-dir=@CACHE@ rev-parse --git-dir >/dev/null 2>&1; then
    echo "[yardstick] the repository cache is not a git repository: cloning again" >&2
    rm -rf @CACHE@
  elif ! @GIT@ --git-dir=@CACHE@ remote update --prune >/dev/null; then
    if git --git-dir=@CACHE@ fsck --connectivity-only --no-progress >/dev/null 2>&1; then exit 1; fi
    echo "[yardstick] the repository cache is corrupt: cloning again" >&2
    rm -rf @CACHE@
  fi
fi
if [ ! -e @CACHE@ ]; then
  tmp=$(mktemp -d @CACHE@.tmp.XXXXXX)
  @GIT@ clone --quiet --mirror -- @REPO@ "$tmp"
  mv "$tmp" @CACHE@
fi
)sh";
// use: under the shared lock, the workspace becomes a clone sharing the
// cache's objects, at the commit the revision names; exit 3 when it names none.
constexpr const char* kCacheUse = R"sh(set -e
@GIT@ clone --quiet --shared --no-checkout -- @CACHE@ @WS@
commit=$(git -C @WS@ rev-parse --verify --quiet --end-of-options @REV@ ||
  git -C @WS@ rev-parse --verify --quiet --end-of-options @ORIGIN_REV@) || exit 3
git -C @WS@ -c advice.detachedHead=false checkout --quiet --detach "$commit"
# git checkout exits 0 even when it could not read some file's object.
[ -z "$(git -C @WS@ ls-files --deleted)" ]
git -C @WS@ log -1 --format='checked out %H %s'
echo "$commit" > @REVISION_FILE@
)sh";
// The whole step: update, use; when use fails and fsck finds the cache
// damaged (the connectivity for an unknown revision, every object for a
// failed checkout), the cache is removed and both run once more.
constexpr const char* kCheckout = R"sh(set -e
mkdir -p @REPOS@
update() { flock @LOCK@ sh -c @UPDATE@; }
use() { flock --shared @LOCK@ sh -c @USE@; }
no_revision() { echo "[yardstick] the repository has no revision "@SHOWN_REV@ >&2; }
update
rc=0; use || rc=$?
if [ $rc -ne 0 ]; then
  if [ $rc -eq 3 ]; then depth=--connectivity-only; else depth=--full; fi
  if git --git-dir=@CACHE@ fsck $depth --no-progress >/dev/null 2>&1; then
    [ $rc -ne 3 ] || no_revision
    exit 1
  fi
  echo "[yardstick] the repository cache is corrupt: cloning again" >&2
  flock @LOCK@ rm -rf @CACHE@
  find @WS@ -mindepth 1 -delete
  update
  use || { [ $? -ne 3 ] || no_revision; exit 1; }
fi
)sh";

// One pass over `text`: a value put in is never searched again.
std::string fill_in(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t at = text.find('@', i);
    const size_t end = at == std::string_view::npos ? at : text.find('@', at + 1);
    if (end == std::string_view::npos) {
      out += text.substr(i);
      break;
    }
    auto it = values.find(std::string(text.substr(at + 1, end - at - 1)));
    if (it == values.end()) {
      out += text.substr(i, at + 1 - i);
      i = at + 1;
      continue;
    }
    out += text.substr(i, at - i);
    out += it->second;
    i = end + 1;
  }
  return out;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}
}  // namespace

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string checkout_script(const std::string& home, const std::string& repo,
                            const std::string& revision, const std::string& workspace) {
  // One cache per repository under the agent's home.
  const std::string repos = home + "/repos";
  const std::string cache = repos + "/" + hex64(std::hash<std::string>{}(repo));
  const std::string rev = revision.empty() ? "HEAD" : revision;
  std::map<std::string, std::string> v = {
      {"GIT", "git -c protocol.ext.allow=never -c protocol.fd.allow=never"},
      {"CACHE", shell_quote(cache)},
      {"REPOS", shell_quote(repos)},
      {"LOCK", shell_quote(cache + ".lock")},
      {"REPO", shell_quote(repo)},
      {"WS", shell_quote(workspace)},
      {"REV", shell_quote(rev + "^{commit}")},
      {"ORIGIN_REV", shell_quote("refs/remotes/origin/" + rev + "^{commit}")},
      {"SHOWN_REV", shell_quote(rev)},
      {"REVISION_FILE", shell_quote(workspace + ".revision")},
  };
  v["UPDATE"] = shell_quote(fill_in(kCacheUpdate, v));
  v["USE"] = shell_quote(fill_in(kCacheUse, v));
  return fill_in(kCheckout, v);
}

std::string job_cwd(const std::string& workspace, const std::string& workdir) {
  if (workdir.empty()) return workspace;
  std::string cwd = workdir.front() == '/'
                        ? fs::path(workdir).lexically_normal().string()
                        : (fs::path(workspace) / workdir).lexically_normal().string();
  while (cwd.size() > 1 && cwd.back() == '/') cwd.pop_back();
  return cwd;
}

}  // namespace yardstick
