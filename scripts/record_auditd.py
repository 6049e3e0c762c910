#!/usr/bin/env python3
"""Record a benign auditd recording in the layout of ../shared/data/auditd.

Runs a private auditd (`auditd -n -c DIR`, ENRICHED format) with the shared
provenance rule set (`audit.rules`), every syscall rule restricted to login
uid 4242, and drives the same developer-style background workload as the
shared recordings: one of twelve shell commands (git, curl and Python
against a loopback `python3 -m http.server`, a CSV statistic, tar, find |
zcat | grep, gcc, ls | sort | uniq, ps, sha256sum, cp/rm, date >> log)
every 0.05-0.6 s, each started through the one-line `/bin/sh` wrapper that
writes 4242 to /proc/self/loginuid. Writes `audit.log.gz` and `truth.json`
(the shared format, `scenario: benign`) into OUT.

With `--replay TRUTH` it records an attack recording instead: the Atomic Red
Team test of a shared recording's `truth.json` (its `command`, verbatim, with
the same executor) is started 30-50 % into the workload through the same
wrapper, in its own session; its prerequisites are prepared before auditing
starts and its cleanup runs after auditing stops (PREREQUISITES below), and
`malicious_pids` are the test's root and every process it forked, read back
from the log.

Needs root and the audit subsystem (`apt-get install auditd`); the host's
own audit rules are saved and restored around the recording.

    sudo scripts/record_auditd.py --seed 301 --seconds 600 --out data/auditd-extra/benign_long_s301
"""

import argparse
import gzip
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AUID = 4242
WRAPPER = ["/bin/sh", "-c", f'echo {AUID} > /proc/self/loginuid && exec "$@"', "sh"]

# The twelve background commands of the shared recordings, verbatim (read
# from their EXECVE records); $W is the work folder, $PORT the web server's.
COMMANDS = [
    "cd $W && git init -q repo$RANDOM 2>/dev/null; cd $W/repo* 2>/dev/null && echo $RANDOM >> notes.txt "
    "&& git add -A && git -c user.email=a@b -c user.name=dev commit -qm wip; git log --oneline | head -3 >/dev/null",
    "cp $W/data.csv $W/notes/data-$RANDOM.csv; rm -f $(ls $W/notes/data-*.csv | head -1)",
    "curl -s http://127.0.0.1:$PORT/ >/dev/null; curl -s http://127.0.0.1:$PORT/data.csv -o $W/dl.csv",
    "date >> $W/notes/log.txt; tail -n 5 $W/notes/log.txt >/dev/null",
    "find /usr/share/doc -maxdepth 2 -name '*.gz' 2>/dev/null | head -50 | xargs -r zcat 2>/dev/null "
    "| grep -ci license >/dev/null",
    "ls -la /etc > $W/etc.txt; sort $W/etc.txt | uniq -c | sort -rn | head > /dev/null",
    "printf 'int main(){return 0;}' > $W/a.c && gcc -O1 -o $W/a.out $W/a.c && $W/a.out",
    "ps aux > $W/ps.txt; wc -l $W/ps.txt >/dev/null",
    "python3 -c \"import csv,statistics;r=list(csv.reader(open('$W/data.csv')));"
    "print(statistics.mean(float(x[1]) for x in r[1:]))\" > $W/mean.txt",
    "python3 -c \"import json,urllib.request;urllib.request.urlopen('http://127.0.0.1:$PORT/').read()\"",
    "sha256sum /usr/bin/ls /usr/bin/cat > $W/sums.txt",
    "tar czf $W/backup.tgz -C $W data.csv notes 2>/dev/null; tar tzf $W/backup.tgz >/dev/null",
]

# Prerequisites of the replayed tests, prepared before auditing (not in the
# log), as the shared recordings did. hello.c stands in for the atomic's
# source file (a setuid demo), which is not on this machine.
PREREQUISITES = {
    "T1027": "echo ZWNobyBIZWxsbyBmcm9tIHRoZSBBdG9taWMgUmVkIFRlYW0= > /tmp/encoded.dat",
    "T1070.004": "echo victim > /tmp/victim-shred.txt",
    "T1222.002": "mkdir -p /tmp/AtomicRedTeam/atomics/T1222.002/src && "
    "touch /tmp/AtomicRedTeam/atomics/T1222.002/T1222.002.yaml /tmp/AtomicRedTeam/atomics/T1222.002/src/a.sh",
    "T1548.001": "mkdir -p /tmp/AtomicRedTeam/atomics/T1548.001/src && printf "
    "'#include <stdio.h>\\n#include <unistd.h>\\nint main(){setuid(0);printf(\"hello %d\\\\n\",getuid());return 0;}\\n' "
    "> /tmp/AtomicRedTeam/atomics/T1548.001/src/hello.c",
}

AUDITD_CONF = """log_file = {log}
log_format = ENRICHED
log_group = root
write_logs = yes
flush = INCREMENTAL_ASYNC
freq = 50
max_log_file = 4096
max_log_file_action = IGNORE
num_logs = 2
space_left = 10
space_left_action = IGNORE
admin_space_left = 5
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = SYSLOG
priority_boost = 4
name_format = NONE
local_events = yes
"""


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def restricted_rules(rules_path: Path) -> str:
    """The shared rule set with every syscall rule limited to AUID, plus the
    two rules that drop other login uids' records and user messages."""
    out = []
    for line in rules_path.read_text().splitlines():
        s = line.strip()
        if s.startswith("-a always,exit"):
            out.append(f"{s} -F auid={AUID}")
        elif s and not s.startswith("#"):
            out.append(s)
    out.append(f"-a always,exclude -F auid!={AUID}")
    out.append(f"-a never,user -F auid!={AUID}")
    return "\n".join(out) + "\n"


LISTENER = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8443)); s.listen(8)
while True:
    c, _ = s.accept(); c.recv(4096); c.sendall(b"Hello from the stand-in server\\n"); c.close()
"""


def descendants(log_gz: Path, root_pid: int) -> list:
    """The root and every process it forked, transitively: the log's
    successful clone/clone3/fork/vfork records (exit = the child's pid) give
    the tree. Records are not in fork order (a child's first syscalls can be
    logged before its parent's clone), so the tree is built first and walked
    after; a child that never shows up as `pid=` is a thread and left out."""
    forks = re.compile(rb" syscall=(56|435|57|58) success=yes exit=([0-9]+) .* pid=([0-9]+) ")
    pid_of = re.compile(rb" pid=([0-9]+) ")
    children: dict = {}
    seen = set()
    with gzip.open(log_gz, "rb") as f:
        for line in f:
            if not line.startswith(b"type=SYSCALL"):
                continue
            p = pid_of.search(line)
            if p:
                seen.add(int(p.group(1)))
            m = forks.search(line)
            if m:
                children.setdefault(int(m.group(3)), []).append(int(m.group(2)))
    mal, todo = {root_pid}, [root_pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child in seen and child not in mal:
                mal.add(child)
                todo.append(child)
    return sorted(mal)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--rules",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "data/auditd-extra/audit.rules",
    )
    ap.add_argument("--replay", type=Path, help="truth.json of a shared attack recording whose test to replay")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("record_auditd.py: needs root (kernel audit)")
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="cd-auditd-"))
    log = state / "audit.log"
    (state / "auditd.conf").write_text(AUDITD_CONF.format(log=log))
    (state / "prov.rules").write_text(restricted_rules(args.rules))
    saved = subprocess.run(["auditctl", "-l"], capture_output=True, text=True).stdout

    # The workload's folder and home, as in the shared recordings.
    work = Path(tempfile.mkdtemp(prefix="wl", dir="/tmp"))
    (work / "notes").mkdir()
    with open(work / "data.csv", "w") as f:
        f.write("name,value\n")
        for i in range(200):
            f.write(f"item{i},{rng.uniform(0, 100):.3f}\n")
    home = Path("/home/dev")
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree("/etc/skel", home)
    port = free_port()
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(home),
        "W": str(work),
        "PORT": str(port),
        "LANG": "C.UTF-8",
    }

    daemon = subprocess.Popen(["auditd", "-n", "-c", str(state)])
    server = None
    truth = {
        "scenario": "benign",
        "seed": args.seed,
        "auid": AUID,
        "launcher_pid": os.getpid(),
        "http_port": port,
        "workdir": str(work),
        "background_seconds": args.seconds,
        "malicious_roots": [],
        "malicious_pids": [],
        "recorded_by": "scripts/record_auditd.py",
        "host_kernel": os.uname().release,
    }
    root = None
    listener = None
    if args.replay:
        shared = json.loads(args.replay.read_text())
        # The test as the shared recording ran it, without that run's
        # outcome (pids, times, exit), which this run writes anew.
        root = {
            k: v
            for k, v in shared["malicious_roots"][0].items()
            if k not in ("root_pid", "start", "end", "exit", "malicious_pids")
        }
        technique = root["technique"]
        prep = PREREQUISITES.get(technique)
        if prep:
            subprocess.run(["/bin/sh", "-c", prep], check=True)
        if technique == "T1105":
            # The unaudited stand-in "remote" server on 127.0.0.1:8443.
            listener = subprocess.Popen(
                [sys.executable, "-c", LISTENER], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        truth["scenario"] = "attack"
        truth["replay_of"] = str(args.replay)
    try:
        time.sleep(1.0)
        run(["auditctl", "-D"], capture_output=True)
        run(["auditctl", "-R", str(state / "prov.rules")], capture_output=True)
        run(["auditctl", "-e", "1"], capture_output=True)
        time.sleep(0.5)
        truth["started"] = time.time()
        server = subprocess.Popen(
            WRAPPER + ["python3", "-m", "http.server", str(port), "--bind", "127.0.0.1", "-d", str(work)],
            cwd=work,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        truth["http_server_pid"] = server.pid
        time.sleep(0.5)
        t0 = time.monotonic()
        end = t0 + args.seconds
        attack_at = t0 + args.seconds * rng.uniform(0.3, 0.5)
        attack = None
        while time.monotonic() < end:
            if root is not None and attack is None and time.monotonic() >= attack_at:
                shell = "/bin/bash" if root["executor"] == "bash" else "/bin/sh"
                root["start"] = time.time()
                attack = subprocess.Popen(
                    WRAPPER + [shell, "-c", root["command"]],
                    cwd=work,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                root["root_pid"] = attack.pid
            if attack is not None and "end" not in root and attack.poll() is not None:
                root["end"] = time.time()
                root["exit"] = attack.returncode
            cmd = rng.choice(COMMANDS)
            subprocess.run(
                WRAPPER + ["/bin/sh", "-c", cmd],
                cwd=work,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=60,
            )
            time.sleep(rng.uniform(0.05, 0.6))
        if attack is not None and "end" not in root:
            try:
                attack.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(attack.pid, signal.SIGKILL)
                attack.wait()
            root["end"] = time.time()
            root["exit"] = attack.returncode
        truth["ended"] = time.time()
    finally:
        if listener is not None:
            listener.kill()
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        time.sleep(0.5)
        subprocess.run(["auditctl", "-e", "0"], capture_output=True)
        subprocess.run(["auditctl", "-D"], capture_output=True)
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        if saved.strip() and "No rules" not in saved:
            (state / "saved.rules").write_text(saved)
            subprocess.run(["auditctl", "-R", str(state / "saved.rules")], capture_output=True)

    # Keep the daemon's start/end lines and the workload's events only: an
    # event (all lines of one `audit(ts:serial)`) whose records name another
    # login uid is the recorder's own (rule loading, auditctl) and goes.
    serial_of = re.compile(rb"msg=audit\(([0-9.]+:[0-9]+)\)")
    auid_of = re.compile(rb"(?:^|[ ])auid=([0-9]+)")
    foreign = set()
    with open(log, "rb") as src:
        for line in src:
            m = serial_of.search(line)
            if not m or line.startswith(b"type=DAEMON_"):
                continue
            a = auid_of.search(line)
            if (a and a.group(1) != str(AUID).encode()) or line.startswith(b"type=CONFIG_CHANGE"):
                foreign.add(m.group(1))
    kept = dropped = 0
    with open(log, "rb") as src, gzip.open(args.out / "audit.log.gz", "wb", compresslevel=9) as dst:
        for line in src:
            m = serial_of.search(line)
            if m and m.group(1) in foreign and not line.startswith(b"type=DAEMON_"):
                dropped += 1
                continue
            dst.write(line)
            kept += 1
    truth["dropped_foreign_lines"] = dropped
    if root is not None:
        pids = descendants(args.out / "audit.log.gz", root["root_pid"])
        root["malicious_pids"] = pids
        truth["malicious_roots"] = [root]
        truth["malicious_pids"] = pids
        if root.get("cleanup"):
            subprocess.run(
                ["/bin/sh", "-c", root["cleanup"]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
    (args.out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    shutil.rmtree(state, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    print(f"{args.out}: {kept} lines kept, {dropped} dropped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
