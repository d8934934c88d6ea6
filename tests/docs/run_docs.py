#!/usr/bin/env python3
"""Runs the command blocks of README.md and docs/*.md, and every example
pipeline of deploy/examples/, against a throw-away yardstick stack.

Every fenced shell block (sh, bash, shell, console, zsh) carries a marker on
the line before its opening fence, an HTML comment that GitHub does not
show:

    <!-- runnable -->                   run here, in order, and must exit 0
    <!-- not runnable: REASON -->       left alone; REASON says why

A shell block without one fails the run. Runnable blocks run one after
another, each in a fresh `bash` with `set -eo pipefail`, from the source
tree, with the built `yardstick`, `yardstick-coordinator` and
`yardstick-agent` first on PATH and the environment of a `deploy/quickstart.sh
--keep` stack: YARDSTICK_COORDINATOR, YARDSTICK_KEY, YARDSTICK_COORDINATOR_KEY,
YARDSTICK_SIGNING_KEY, DSN (the stack's database), BUILD_DIR. The stack is
the quick start's: a coordinator with CURVE keys and two agents, `laptop`
(1 slot) and `buildbox` (2 slots), labelled role=NAME, running only jobs
signed by the submitter's key. Both agents name one machine (`docs-host`):
they share it, and a `machines: all` job runs once.

Every pipeline file under deploy/examples/ must be submitted with --wait by
a runnable block (or by a script one calls, as deploy/quickstart.sh submits
quickstart.yml); any other is submitted here (REPO replaced by the source
tree, --revision HEAD, --wait) and must exit 0, or the code its comment
`# expected exit: N` gives.

    tests/docs/run_docs.py --build build            run everything
    tests/docs/run_docs.py --check                  only check the markers (no stack)
    tests/docs/run_docs.py --build build --only docs/deploy.md --only README.md:28

PostgreSQL: the superuser DSN in YARDSTICK_TEST_DSN (a fresh database per
run, dropped at the end), else a throw-away server (tests/support/pg.sh).
Exit 0 when every block and example passed; 1 otherwise, each failure
reported as FILE:LINE with its output.
"""

import argparse
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

SHELL_LANGS = {"sh", "bash", "shell", "console", "zsh", "shell-session"}
RUNNABLE = re.compile(r"^\s*<!--\s*runnable\s*-->\s*$")
NOT_RUNNABLE = re.compile(r"^\s*<!--\s*not runnable:\s*(.*?)\s*-->\s*$")
ANY_MARKER = re.compile(r"^\s*<!--\s*(not )?runnable")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)")
BLOCK_TIMEOUT_S = 900


class Block:
    def __init__(self, path, line, lang, text, marker, reason):
        self.path, self.line, self.lang, self.text = path, line, lang, text
        self.marker, self.reason = marker, reason  # marker: runnable, not runnable, None

    def where(self):
        return f"{self.path}:{self.line}"


def doc_files(root):
    return ["README.md"] + sorted(
        os.path.relpath(p, root) for p in glob.glob(os.path.join(root, "docs", "*.md")))


def parse_blocks(root, rel):
    """Every fenced block of one Markdown file, with the marker before it."""
    lines = open(os.path.join(root, rel), encoding="utf-8").read().split("\n")
    blocks, problems = [], []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            if ANY_MARKER.match(lines[i]):
                # A marker must sit right before a fence (blank lines allowed).
                j = i + 1
                while j < len(lines) and not lines[j].strip():
                    j += 1
                if j >= len(lines) or not FENCE.match(lines[j]):
                    problems.append(f"{rel}:{i + 1}: a runnable marker that is not before a fenced block")
                elif not (RUNNABLE.match(lines[i]) or NOT_RUNNABLE.match(lines[i])):
                    problems.append(f"{rel}:{i + 1}: malformed marker (write <!-- runnable --> "
                                    "or <!-- not runnable: REASON -->)")
            i += 1
            continue
        indent, fence, lang = m.group(1), m.group(2), m.group(3).lower()
        start = i
        j = i + 1
        while j < len(lines):
            s = lines[j].strip()
            if s.startswith(fence[0] * len(fence)) and not s.strip(fence[0]):
                break
            j += 1
        body = [l[len(indent):] if l.startswith(indent) else l.lstrip() for l in lines[start + 1:j]]
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        before = lines[k] if k >= 0 else ""
        marker, reason = None, ""
        if RUNNABLE.match(before):
            marker = "runnable"
        elif NOT_RUNNABLE.match(before):
            marker, reason = "not runnable", NOT_RUNNABLE.match(before).group(1)
        block = Block(rel, start + 1, lang, "\n".join(body) + "\n", marker, reason)
        if lang in SHELL_LANGS:
            if marker is None:
                problems.append(f"{block.where()}: a {lang} block without a marker: put "
                                "<!-- runnable --> or <!-- not runnable: REASON --> on the line before it")
            elif marker == "not runnable" and not reason:
                problems.append(f"{block.where()}: 'not runnable' needs a reason")
        elif marker is not None:
            problems.append(f"{block.where()}: a runnable marker on a block that is not shell "
                            f"('{lang or 'no language'}')")
        blocks.append(block)
        i = j + 1
    return blocks, problems


def example_pipelines(root):
    out = []
    for p in sorted(glob.glob(os.path.join(root, "deploy", "examples", "**", "*.yml"), recursive=True)):
        text = open(p, encoding="utf-8").read()
        if re.search(r"^pipeline:", text, re.M):
            out.append(os.path.relpath(p, root))
    return out


def covered_text(root, block):
    """The block's text and that of the repository's scripts it calls."""
    text = block.text
    for token in set(re.findall(r"[\w./-]+", block.text)):
        path = os.path.join(root, token)
        if "/" in token and os.path.isfile(path) and os.access(path, os.X_OK) \
                and not token.startswith("build"):
            try:
                text += "\n" + open(path, encoding="utf-8").read()
            except UnicodeDecodeError:
                pass
    return text


def dsn_with_db(dsn, db):
    if "://" in dsn:
        base, _, query = dsn.partition("?")
        scheme, _, rest = base.partition("://")
        host = rest.split("/", 1)[0]
        return f"{scheme}://{host}/{db}" + (f"?{query}" if query else "")
    if re.search(r"\bdbname=\S+", dsn):
        return re.sub(r"\bdbname=\S+", f"dbname={db}", dsn)
    return f"{dsn} dbname={db}"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tail(text, n=80):
    lines = text.rstrip("\n").split("\n")
    cut = len(lines) - n
    return ("... (%d lines above)\n" % cut if cut > 0 else "") + "\n".join(lines[-n:])


class Stack:
    """A coordinator and two agents on loopback, as deploy/quickstart.sh starts them."""

    def __init__(self, root, build, state):
        self.root, self.build, self.state = root, build, state
        self.bin = {
            "cli": os.path.join(build, "coordinator", "cli", "yardstick"),
            "coordinator": os.path.join(build, "coordinator", "yardstick-coordinator"),
            "agent": os.path.join(build, "agent", "yardstick-agent"),
        }
        self.procs = {}
        self.pg_dir = None
        self.base_dsn = self.dsn = None
        self.db = None

    def start_database(self):
        self.base_dsn = os.environ.get("YARDSTICK_TEST_DSN", "")
        if not self.base_dsn:
            self.pg_dir = os.path.join(self.state, "pg")
            self.base_dsn = subprocess.run(
                [os.path.join(self.root, "tests/support/pg.sh"), "start", self.pg_dir],
                check=True, capture_output=True, text=True).stdout.strip()
        self.db = "yardstick_docs_" + uuid.uuid4().hex[:12]
        subprocess.run(["psql", self.base_dsn, "-qc", f"CREATE DATABASE {self.db}"],
                       check=True, capture_output=True, text=True)
        self.dsn = dsn_with_db(self.base_dsn, self.db)

    def keys(self):
        keys = os.path.join(self.state, "keys")
        os.makedirs(keys)
        cli = self.bin["cli"]
        for name in ("coordinator", "laptop", "buildbox", "you"):
            subprocess.run([cli, "keygen", "--out", os.path.join(keys, name)], check=True,
                           capture_output=True)
        subprocess.run([cli, "keygen", "--signing", "--out", os.path.join(keys, "you")],
                       check=True, capture_output=True)

        def pub(name):
            text = open(os.path.join(keys, name + ".pub")).read()
            return re.search(r'^public-key = "(.*)"$', text, re.M).group(1)

        with open(os.path.join(keys, "authorized-agents"), "w") as f:
            f.write(f"{pub('laptop')} laptop\n{pub('buildbox')} buildbox\n")
        with open(os.path.join(keys, "authorized-clients"), "w") as f:
            f.write(f"{pub('you')} you submit\n")
        shutil.copy(os.path.join(keys, "you.sign.pub"), os.path.join(keys, "trusted-submitters"))
        return keys

    def spawn(self, name, argv):
        log = open(os.path.join(self.state, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        with open(os.path.join(self.state, name + ".pid"), "w") as f:
            f.write(f"{p.pid}\n")
        self.procs[name] = p
        return p

    def start(self):
        self.start_database()
        keys = self.keys()
        self.clients = f"tcp://127.0.0.1:{free_port()}"
        agents = f"tcp://127.0.0.1:{free_port()}"
        ready = os.path.join(self.state, "ready")
        self.spawn("coordinator", [
            self.bin["coordinator"], "--db", self.dsn, "--clients", self.clients,
            "--agents", agents, "--ready-file", ready,
            "--secret-key", os.path.join(keys, "coordinator.key"),
            "--authorized-agents", os.path.join(keys, "authorized-agents"),
            "--authorized-clients", os.path.join(keys, "authorized-clients")])
        deadline = time.time() + 30
        while not os.path.exists(ready):
            if time.time() > deadline or self.procs["coordinator"].poll() is not None:
                raise RuntimeError("the coordinator did not start:\n" + self.log("coordinator"))
            time.sleep(0.1)
        for name, slots in (("laptop", 1), ("buildbox", 2)):
            self.spawn(f"agent-{name}", [
                self.bin["agent"], "--coordinator", agents, "--name", name,
                "--machine", "docs-host", "--labels", f"role={name}", "--slots", str(slots),
                "--home", os.path.join(self.state, f"agent-{name}"),
                "--lock-dir", os.path.join(self.state, "lock"),
                "--key", os.path.join(keys, f"{name}.key"),
                "--coordinator-key", os.path.join(keys, "coordinator.pub"),
                "--trusted-submitters", os.path.join(keys, "trusted-submitters")])
        self.env = dict(os.environ)
        self.env.update({
            "PATH": os.pathsep.join([os.path.dirname(self.bin["cli"]),
                                     os.path.dirname(self.bin["coordinator"]),
                                     os.path.dirname(self.bin["agent"]), os.environ["PATH"]]),
            "YARDSTICK_COORDINATOR": self.clients,
            "YARDSTICK_KEY": os.path.join(keys, "you.key"),
            "YARDSTICK_COORDINATOR_KEY": os.path.join(keys, "coordinator.pub"),
            "YARDSTICK_SIGNING_KEY": os.path.join(keys, "you.sign"),
            "DSN": self.dsn,
            "BUILD_DIR": self.build,
            # deploy/quickstart.sh, when a block runs it, keeps its files here,
            # not in the tree (where a developer's own --keep stack may live).
            "YARDSTICK_QUICKSTART_DIR": os.path.join(self.state, "quickstart"),
        })
        deadline = time.time() + 60
        while True:
            r = subprocess.run([self.bin["cli"], "agents", "--json"], env=self.env,
                               capture_output=True, text=True)
            if r.returncode == 0 and r.stdout.count('"connected": true') >= 2:
                break
            if time.time() > deadline:
                raise RuntimeError("the agents did not connect:\n" + r.stdout + r.stderr +
                                   self.log("agent-laptop") + self.log("agent-buildbox"))
            time.sleep(0.2)

    def log(self, name):
        try:
            return tail(open(os.path.join(self.state, name + ".log"), errors="replace").read(), 40)
        except OSError:
            return ""

    def stop(self):
        # The first SIGTERM drains an agent; a second one stops its jobs.
        for sig in (signal.SIGTERM, signal.SIGTERM):
            for name, p in self.procs.items():
                if name.startswith("agent-") and p.poll() is None:
                    p.send_signal(sig)
            time.sleep(0.5)
        for name, p in self.procs.items():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self.db and not os.environ.get("YARDSTICK_KEEP_TEST_DIRS"):
            subprocess.run(["psql", self.base_dsn, "-qc", f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)"],
                           capture_output=True)
        if self.pg_dir:
            subprocess.run([os.path.join(self.root, "tests/support/pg.sh"), "stop", self.pg_dir],
                           capture_output=True)


def run_shell(text, root, env, timeout_s):
    """Runs `text` in bash from `root`; returns (exit code, output, seconds)."""
    started = time.time()
    p = subprocess.Popen(["bash", "-c", "set -eo pipefail\n" + text], cwd=root, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout_s)
        code = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        out += f"\n(killed after {timeout_s} s)\n".encode()
        code = -1
    # Whatever the block left running in the background goes with it.
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return code, out.decode("utf-8", "replace"), time.time() - started


def become_subreaper():
    """Orphans of the blocks (daemons they started and did not stop) become
    this process's children, so that sweep() finds them."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def children():
    """This process's live children (pid: command line); zombies are reaped."""
    out = {}
    me = os.getpid()
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = open(stat).read()
            state, ppid = text[text.rindex(")") + 2:].split()[:2]
            if int(ppid) != me:
                continue
            pid = int(stat.split("/")[2])
            if state == "Z":
                os.waitpid(pid, os.WNOHANG)
                continue
            out[pid] = open(f"/proc/{pid}/cmdline").read().replace("\0", " ").strip()
        except (OSError, ValueError):
            pass
    return out


def sweep(keep):
    """Stops what a block left running (SIGTERM, then SIGKILL), after 3 s in
    which it may still be on its way out; returns their command lines."""
    grace = time.time() + 3
    while time.time() < grace and any(pid not in keep for pid in children()):
        time.sleep(0.2)
    left = []
    deadline = time.time() + 10
    while True:
        stray = {pid: cmd for pid, cmd in children().items() if pid not in keep}
        if not stray:
            return left
        for pid, cmd in stray.items():
            if cmd and cmd not in left:
                left.append(cmd)
            try:
                os.kill(pid, signal.SIGKILL if time.time() > deadline else signal.SIGTERM)
            except ProcessLookupError:
                pass
        time.sleep(0.3)
        for pid in stray:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", default=os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), help="the source tree (default: this script's)")
    ap.add_argument("--build", help="the build tree with the binaries")
    ap.add_argument("--check", action="store_true", help="only check that every shell block is marked")
    ap.add_argument("--only", action="append", default=[],
                    help="run only this block (FILE:LINE) or file's blocks (FILE); repeatable")
    ap.add_argument("--no-examples", action="store_true",
                    help="do not submit the examples no runnable block submits")
    ap.add_argument("--verbose", action="store_true", help="print every block's output")
    args = ap.parse_args()
    # Every coordinator started here (the runner's own, the quick start's a
    # block runs) serves its dashboard on a port of its own: two on the
    # default 7480 would not start, nor one beside a developer's own stack.
    os.environ["YARDSTICK_HTTP"] = "127.0.0.1:0"
    root = os.path.abspath(args.source)

    blocks, problems = [], []
    for rel in doc_files(root):
        b, p = parse_blocks(root, rel)
        blocks += b
        problems += p
    runnable = [b for b in blocks if b.marker == "runnable"]
    shell = [b for b in blocks if b.lang in SHELL_LANGS]
    examples = example_pipelines(root)
    uncovered = []
    for ex in examples:
        if not any(ex in t and "--wait" in t for t in (covered_text(root, b) for b in runnable)):
            uncovered.append(ex)
    for p in problems:
        print(p, file=sys.stderr)
    print(f"docs: {len(shell)} shell blocks, {len(runnable)} runnable, "
          f"{len(shell) - len(runnable)} not runnable; examples: {len(examples)}, "
          f"{len(examples) - len(uncovered)} submitted by a block")
    if problems:
        return 1
    if args.check:
        return 0
    if not args.build:
        ap.error("--build is needed to run the blocks")

    if args.only:
        def picked(b):
            return any(o == b.path or o == b.where() for o in args.only)
        runnable = [b for b in runnable if picked(b)]
        uncovered = [] if args.no_examples else [e for e in uncovered if e in args.only]
    elif args.no_examples:
        uncovered = []

    state = tempfile.mkdtemp(prefix="ys-docs-")
    os.chmod(state, 0o755)  # pg.sh runs PostgreSQL as the postgres user under it, as root
    stack = Stack(root, os.path.abspath(args.build), state)
    failures = []
    started = time.time()
    try:
        stack.start()
        print(f"docs: stack up in {time.time() - started:.1f} s ({state})", flush=True)
        become_subreaper()
        keep = set(children())  # the stack's processes (and a PostgreSQL of its own)
        for b in runnable:
            code, out, took = run_shell(b.text, root, stack.env, BLOCK_TIMEOUT_S)
            for cmd in sweep(keep):
                out += f"\n(left running by the block, now stopped: {cmd})\n"
            print(f"{'ok  ' if code == 0 else 'FAIL'} {b.where()} ({took:.1f} s)", flush=True)
            if args.verbose or code != 0:
                print(tail(out, 10000 if args.verbose else 80))
            if code != 0:
                failures.append((b.where(), code, out))
        for ex in uncovered:
            m = re.search(r"^#\s*expected exit:\s*(\d+)", open(os.path.join(root, ex)).read(), re.M)
            want = int(m.group(1)) if m else 0
            copy = os.path.join(state, os.path.basename(ex))
            with open(copy, "w") as f:
                f.write(open(os.path.join(root, ex)).read().replace("REPO", root))
            code, out, took = run_shell(
                f'yardstick submit {copy} --revision "$(git rev-parse HEAD)" --wait',
                root, stack.env, BLOCK_TIMEOUT_S)
            ok = code == want
            print(f"{'ok  ' if ok else 'FAIL'} {ex} (exit {code}, expected {want}; {took:.1f} s)",
                  flush=True)
            if args.verbose or not ok:
                print(tail(out, 10000 if args.verbose else 80))
            if not ok:
                failures.append((ex, code, out))
    except Exception as e:  # the stack itself
        failures.append(("the stack", -1, str(e)))
        print(f"FAIL the stack: {e}", file=sys.stderr)
    finally:
        stack.stop()
    print(f"docs: {len(runnable)} blocks and {len(uncovered)} examples in "
          f"{time.time() - started:.0f} s; {len(failures)} failed")
    for where, code, _ in failures:
        print(f"  {where}: exit {code}", file=sys.stderr)
    if failures:
        print(f"docs: the stack's logs are in {state}", file=sys.stderr)
        for name in ("coordinator", "agent-laptop", "agent-buildbox"):
            print(f"--- {name}.log (end)\n{stack.log(name)}", file=sys.stderr)
        return 1
    if not os.environ.get("YARDSTICK_KEEP_TEST_DIRS"):
        shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
