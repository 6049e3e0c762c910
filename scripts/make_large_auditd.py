#!/usr/bin/env python3
"""Build a large auditd input for the peak-RSS benchmark (docs/BENCHMARKS.md).

Concatenates the real shared auditd recordings again and again until the output
reaches --bytes, shifting every `msg=audit(SECS.MS:SERIAL)` so that time and
serials keep increasing across copies (as one long-running host would write them).
Pids are left as they are: each copy's processes start later, so the parser's
(pid, start) identities stay distinct, like pid reuse on a real host.

usage: scripts/make_large_auditd.py --shared ../shared/data/auditd --out /tmp/large.log --bytes 5e9
"""
import argparse, gzip, os, re, sys

MSG = re.compile(rb"msg=audit\((\d+)\.(\d+):(\d+)\)")

def first_stamp(path):
    with gzip.open(path, "rb") as f:
        for line in f:
            m = MSG.search(line)
            if m:
                return int(m.group(1)), int(m.group(3))
    return 0, 0

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--bytes", type=float, default=5e9)
    a = ap.parse_args()
    recs = sorted(os.path.join(a.shared, d, "audit.log.gz") for d in os.listdir(a.shared)
                  if os.path.exists(os.path.join(a.shared, d, "audit.log.gz")))
    target, written, copy = int(a.bytes), 0, 0
    t_off, s_off, prev_t, prev_s = 0, 0, 0, 0
    with open(a.out, "wb") as out:
        while written < target:
            for path in recs:
                t0, s0 = first_stamp(path)
                if copy > 0:
                    # Map this recording's first record just after the previous one's last.
                    t_off, s_off = prev_t + 1 - t0, prev_s + 1 - s0
                max_t, max_s = 0, 0
                def shift(m):
                    nonlocal max_t, max_s
                    t = int(m.group(1)) + t_off
                    s = int(m.group(3)) + s_off
                    max_t, max_s = max(max_t, t), max(max_s, s)
                    return b"msg=audit(%d.%s:%d)" % (t, m.group(2), s)
                with gzip.open(path, "rb") as f:
                    for line in f:
                        line = MSG.sub(shift, line, count=1)
                        out.write(line)
                        written += len(line)
                prev_t, prev_s = max_t, max_s
                copy += 1
                if written >= target:
                    break
            print(f"{written/1e9:.2f} GB after {copy} recordings", file=sys.stderr)

if __name__ == "__main__":
    main()
