#!/usr/bin/env python3
"""The example's process supervisor (what systemd or a container engine is
in a real deploy): it owns the blue and green instances of service.py, so
they outlive the deploy job that asked for them.

It watches STATE/COLOUR.want ("VERSION PORT [service args...]"): a colour
wanted and not running is started, one running but no longer wanted (or
wanted with other arguments) is stopped (SIGTERM, then SIGKILL after 5 s),
one that died is started again. STATE/COLOUR.running holds what runs.
SIGTERM stops both colours and the supervisor.
"""
import os
import signal
import subprocess
import sys
import time

state = sys.argv[1]
service = os.path.join(os.path.dirname(os.path.abspath(__file__)), "service.py")
children = {}  # colour -> (want line, Popen)
stopping = False


def on_term(*_):
    global stopping
    stopping = True


def stop(colour):
    line, proc = children.pop(colour)
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    try:
        os.unlink(os.path.join(state, colour + ".running"))
    except FileNotFoundError:
        pass
    print(f"supervisor: stopped {colour} ({line})", flush=True)


def start(colour, line):
    version, port, *extra = line.split()
    log = open(os.path.join(state, colour + ".log"), "a")
    proc = subprocess.Popen([sys.executable, service, "--port", port, "--version", version, *extra],
                            stdout=log, stderr=subprocess.STDOUT)
    children[colour] = (line, proc)
    with open(os.path.join(state, colour + ".running"), "w") as f:
        f.write(line + "\n")
    print(f"supervisor: started {colour} ({line}), pid {proc.pid}", flush=True)


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)
with open(os.path.join(state, "supervisor.pid"), "w") as f:
    f.write(str(os.getpid()) + "\n")
while not stopping:
    for colour in ("blue", "green"):
        try:
            with open(os.path.join(state, colour + ".want")) as f:
                want = f.read().strip()
        except FileNotFoundError:
            want = ""
        running = children.get(colour)
        if running and (running[0] != want or running[1].poll() is not None):
            if running[1].poll() is not None and running[0] == want:
                print(f"supervisor: {colour} exited ({running[1].returncode}), restarting", flush=True)
            stop(colour)
            running = None
        if want and not running:
            start(colour, want)
    time.sleep(0.1)
for colour in list(children):
    stop(colour)
