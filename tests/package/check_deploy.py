#!/usr/bin/env python3
"""Checks deploy/ci, deploy/kubernetes and deploy/container (its compose
file and Containerfile) against the
installed binaries: every file is valid YAML; every yardstick command, flag
and YARDSTICK_* variable they use exists in the --help of the binary that
takes it; Kubernetes objects are whole (apiVersion, kind, name), selectors
match their pods, every file of a Secret is mounted alone (subPath: the key
reader refuses symbolic links) and every secret key named exists; the
Containerfile copies the packages cpack makes.

    check_deploy.py BIN_DIR DEPLOY_DIR DEB_DIR
Exits 1 naming each problem.
"""
import glob
import os
import re
import shlex
import subprocess
import sys

import yaml

bin_dir, deploy_dir, deb_dir = sys.argv[1:4]
problems = []
checked = {"commands": 0, "flags": 0, "variables": 0, "files": 0}


def problem(where, what):
    problems.append(f"{os.path.relpath(where, deploy_dir)}: {what}")


def help_of(*argv):
    out = subprocess.run([os.path.join(bin_dir, argv[0]), *argv[1:], "--help"],
                         capture_output=True, text=True, check=True).stdout
    return out


BINARIES = ("yardstick", "yardstick-coordinator", "yardstick-agent")
top_help = {b: help_of(b) for b in BINARIES}
subcommands = set(re.findall(r"^  ([a-z][a-z-]*) ", top_help["yardstick"].split("Subcommands:")[1],
                             re.M))
if len(subcommands) < 10:
    sys.exit(f"check_deploy.py: cannot read the subcommands of yardstick --help: {subcommands}")


def flags_in(text):
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text))


def variables_in(text):
    return set(re.findall(r"Env:(YARDSTICK_\w+)", text))


all_variables = set().union(*(variables_in(t) for t in top_help.values()))


def check_command(where, words):
    """words: a command line; the part from a yardstick binary on is checked."""
    for i, w in enumerate(words):
        name = os.path.basename(w)
        if name not in BINARIES:
            continue
        rest = words[i + 1:]
        known = flags_in(top_help[name])
        if name == "yardstick":
            sub = next((x for x in rest if not x.startswith("-")), None)
            if sub not in subcommands:
                problem(where, f"'yardstick {sub}': no such subcommand")
                return
            known |= flags_in(help_of("yardstick", sub))
        checked["commands"] += 1
        for f in rest:
            if f.startswith("-"):
                flag = f.split("=", 1)[0]
                checked["flags"] += 1
                if flag not in known:
                    problem(where, f"{name}: no flag {flag} ({' '.join(words[i:])})")
        return


def check_variables(where, text):
    for v in set(re.findall(r"\bYARDSTICK_[A-Z_]+\b", text)):
        checked["variables"] += 1
        # The CI templates' own secrets are named for the user; they are not flags.
        if v not in all_variables and not v.startswith(("YARDSTICK_CLIENT_KEY", "YARDSTICK_COORDINATOR_PUB")):
            problem(where, f"{v} is no binary's variable (--help says Env:...)")


def shell_lines(script):
    """The lines of a shell script, continuation lines joined, as words."""
    for line in script.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            yield shlex.split(line, comments=True)
        except ValueError:
            yield line.split()


def load(path):
    checked["files"] += 1
    try:
        with open(path) as f:
            return [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        problem(path, f"not valid YAML: {e}")
        return []


# CI templates: GitHub's steps[].run, GitLab's script lists.
for path in sorted(glob.glob(os.path.join(deploy_dir, "ci", "*.yml"))):
    scripts = []
    for doc in load(path):
        for job in (doc.get("jobs") or {}).values():
            scripts += [s["run"] for s in job.get("steps", []) if "run" in s]
        for key, job in doc.items():
            if isinstance(job, dict) and "script" in job:
                scripts.append("\n".join(job["script"]))
    if not scripts:
        problem(path, "no run: or script: found")
    for script in scripts:
        check_variables(path, script)
        for words in shell_lines(script):
            # a command may follow ';', '&&' or '||'
            command = []
            for w in words + [";"]:
                if w in (";", "&&", "||", "|"):
                    check_command(path, command)
                    command = []
                else:
                    command.append(w)
    if not any("yardstick" in s and "submit" in s and "--wait" in s for s in scripts):
        problem(path, "does not run yardstick submit --wait")

# Kubernetes manifests.
docs = []
for path in sorted(glob.glob(os.path.join(deploy_dir, "kubernetes", "*.yaml"))):
    docs += [(path, d) for d in load(path)]
secrets = {d["metadata"]["name"]: set((d.get("stringData") or {}) | (d.get("data") or {}))
           for _, d in docs if d.get("kind") == "Secret"}
pod_labels = []
for path, d in docs:
    for field in ("apiVersion", "kind"):
        if field not in d:
            problem(path, f"an object without {field}")
    name = (d.get("metadata") or {}).get("name")
    if not name:
        problem(path, f"a {d.get('kind')} without metadata.name")
    if d.get("kind") not in ("Deployment", "DaemonSet"):
        continue
    template = d["spec"]["template"]
    labels = template["metadata"].get("labels", {})
    pod_labels.append(labels)
    for k, v in d["spec"]["selector"]["matchLabels"].items():
        if labels.get(k) != v:
            problem(path, f"{name}: selector {k}={v} does not match its pods' labels")
    volumes = {v["name"]: v for v in template["spec"].get("volumes", [])}
    for c in template["spec"]["containers"]:
        words = c.get("command", []) + c.get("args", [])
        if os.path.basename(words[0]) not in BINARIES:
            problem(path, f"{name}: container {c['name']} runs {words[0]}, not a yardstick binary")
        check_command(path, words)
        binary_help = top_help.get(os.path.basename(words[0]), "")
        for e in c.get("env", []):
            if e["name"].startswith("YARDSTICK_"):
                checked["variables"] += 1
                if e["name"] not in variables_in(binary_help):
                    problem(path, f"{name}: {words[0]} has no variable {e['name']}")
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if ref and ref["key"] not in secrets.get(ref["name"], set()):
                problem(path, f"{name}: secret {ref['name']} has no key {ref['key']}")
        for m in c.get("volumeMounts", []):
            secret = (volumes.get(m["name"]) or {}).get("secret")
            if not secret:
                continue
            if "subPath" not in m and "subPathExpr" not in m:
                problem(path, f"{name}: {m['mountPath']} mounts a whole Secret: its files are "
                        "symbolic links, which the key reader refuses; mount each with subPath")
            if "subPath" in m and secret["secretName"] in secrets and \
                    m["subPath"] not in secrets[secret["secretName"]]:
                problem(path, f"{name}: secret {secret['secretName']} has no key {m['subPath']}")
            mode = secret.get("defaultMode", 0o644)
            if mode & 0o077:
                problem(path, f"{name}: secret {secret['secretName']} mode {mode:o}: the key "
                        "reader refuses keys that others may read")
for path, d in docs:
    if d.get("kind") == "Service":
        sel = d["spec"]["selector"]
        if not any(all(l.get(k) == v for k, v in sel.items()) for l in pod_labels):
            problem(path, f"service {d['metadata']['name']}: its selector matches no pods")

# The compose file: the yardstick services' commands, variables and key paths.
compose_path = os.path.join(deploy_dir, "container", "compose.yaml")
for doc in load(compose_path):
    for name, service in doc.get("services", {}).items():
        if not str(service.get("image", "")).startswith("yardstick:"):
            continue
        words = service.get("command") or []
        if words:
            check_command(compose_path, words)
        for line in shell_lines("\n".join(service.get("entrypoint") or [])):
            check_command(compose_path, line)
        binary_help = top_help.get(words[0] if words else "yardstick", "")
        mounts = [v.split(":")[1] for v in service.get("volumes", [])]
        for var, value in (service.get("environment") or {}).items():
            if not var.startswith("YARDSTICK_"):
                continue
            checked["variables"] += 1
            if var not in variables_in(binary_help):
                problem(compose_path, f"{name}: {words[0]} has no variable {var}")
            if str(value).startswith("/etc/yardstick/") and \
                    not any(str(value).startswith(m + "/") for m in mounts):
                problem(compose_path, f"{name}: {var}={value} is in no mounted volume")

# The Containerfile copies what cpack makes.
containerfile = os.path.join(deploy_dir, "container", "Containerfile")
debs = [os.path.basename(p) for p in glob.glob(os.path.join(deb_dir, "*.deb"))]
for line in open(containerfile):
    if line.startswith("COPY "):
        for pattern in line.split()[1:-1]:
            import fnmatch
            if not fnmatch.filter(debs, pattern):
                problem(containerfile, f"COPY {pattern} matches none of the packages {debs}")

for p in problems:
    print("check_deploy.py:", p, file=sys.stderr)
print(f"  deploy/: {checked['files']} YAML files, {checked['commands']} yardstick command lines, "
      f"{checked['flags']} flags and {checked['variables']} variables checked against --help")
sys.exit(1 if problems else 0)
