#!/usr/bin/env python3
"""Cuts the auditd test fixtures from the shared recordings (read-only input).

Usage: python3 cut_fixtures.py /work/shared/data/auditd
Every fixture is real lines, in their original order, unless its entry in
README.md says otherwise.
"""
import gzip, io, re, shutil, sys

SRC = sys.argv[1]
HEAD = re.compile(rb'msg=audit\((\d+)\.(\d+):(\d+)\)')


def lines_of(rec):
    with gzip.open(f"{SRC}/{rec}/audit.log.gz") as f:
        return f.read().split(b"\n")


def serial(line):
    return int(HEAD.search(line).group(3))


def event_start(lines, i, step):
    """Moves i (by step) to a line that is the first record of its serial."""
    while True:
        s = serial(lines[i])
        if all(serial(l) != s for l in lines[max(0, i - 40):i]):
            return i
        i += step


def write_gz(name, lines):
    data = b"".join(l + b"\n" for l in lines)
    with open(name, "wb") as out:
        # mtime=0: reproducible bytes.
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
            gz.write(data)
    return data


def excerpt(rec, lo, hi):
    lines = lines_of(rec)
    a = event_start(lines, lo, -1)
    b = event_start(lines, hi, +1)
    return lines[a:b]


# 1. T1003.008: the whole attack (pids 25396-25398) plus background around it.
t1003 = excerpt("attack_T1003.008-1_s206", 26780, 27640)
write_gz("auditd-t1003-shadow.log.gz", t1003)
shutil.copy(f"{SRC}/attack_T1003.008-1_s206/truth.json", "auditd-t1003-shadow.truth.json")

# 2. T1136.001: useradd (pids 19483-19489).
t1136 = excerpt("attack_T1136.001-1_s203", 22150, 23010)
write_gz("auditd-t1136-useradd.log.gz", t1136)
shutil.copy(f"{SRC}/attack_T1136.001-1_s203/truth.json", "auditd-t1136-useradd.truth.json")

# 3. Raw format: the T1003.008 excerpt with the ENRICHED tail (0x1d and after) cut off.
write_gz("auditd-raw-t1003.log.gz", [l.split(b"\x1d")[0] for l in t1003])

# 4. Truncated gzip: the T1003.008 excerpt's gzip cut to 60 % of its bytes.
data = open("auditd-t1003-shadow.log.gz", "rb").read()
open("auditd-truncated.log.gz", "wb").write(data[: len(data) * 6 // 10])

# 5. Dirty lines, each around real events (first 120 lines of the T1003.008 excerpt).
base = t1003[:120]
dirty = list(base)
# 5a. invalid UTF-8 inside a quoted exe (line 3 of the fixture).
i = next(n for n, l in enumerate(dirty) if l.startswith(b"type=SYSCALL") and b' exe="' in l)
dirty[i] = dirty[i].replace(b' exe="', b' exe="\xff\xfe', 1)
# 5b. a malformed header (msg without the serial).
j = next(n for n, l in enumerate(dirty) if n > i + 20 and l.startswith(b"type=SYSCALL"))
dirty.insert(j, re.sub(rb"msg=audit\(([0-9.]+):\d+\)", rb"msg=audit(\1)", dirty[j]))
write_gz("auditd-dirty-lines.log.gz", dirty)

# 6. Out of order: the same 120 lines with two whole events swapped and one
# event's PROCTITLE moved after the next event's records (interleaving).
ooo = list(base)
def span(lines, s):
    return [n for n, l in enumerate(lines) if serial(l) == s]
serials = []
for l in ooo:
    s = serial(l)
    if s not in serials and b"SYSCALL=openat" in l:
        serials.append(s)
s1, s2 = serials[1], serials[2]
a, b = span(ooo, s1), span(ooo, s2)
ooo = ooo[: a[0]] + [ooo[n] for n in b] + [ooo[n] for n in a] + ooo[b[-1] + 1 :]
# Interleave: the PROCTITLE of the 4th openat event after the 5th event's SYSCALL.
s3, s4 = serials[3], serials[4]
p3 = [n for n in span(ooo, s3) if ooo[n].startswith(b"type=PROCTITLE")][0]
moved = ooo.pop(p3)
at = span(ooo, s4)[0] + 1
ooo.insert(at, moved)
write_gz("auditd-out-of-order.log.gz", ooo)

# 7. With EOE: an EOE line (kernel format) after each SYSCALL event of the
# 120 lines, except one (the missing EOE), plus one record of a completed
# event repeated after its EOE (a duplicate).
eoe, seen = [], {}
for l in base:
    m = HEAD.search(l)
    seen.setdefault(m.group(3), []).append(l)
order = list(seen)
syscall_serials = [s for s in order if any(x.startswith(b"type=SYSCALL") for x in seen[s])]
missing = syscall_serials[5]
dup = syscall_serials[8]
for s in order:
    recs = seen[s]
    eoe.extend(recs)
    if s in syscall_serials and s != missing:
        m = HEAD.search(recs[0])
        eoe.append(b"type=EOE msg=audit(%s.%s:%s): " % (m.group(1), m.group(2), s))
    if s == dup:
        eoe.append(recs[-1])
write_gz("auditd-eoe.log.gz", eoe)
print("ok", len(t1003), len(t1136))
