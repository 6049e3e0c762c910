#!/usr/bin/env python3
"""What an `evaluate --scores` file says about false alarms and the web server.

Usage: scripts/scores_census.py results/auditd.scores.jsonl

Prints (1) every benign window past the warm-up (window 0) scoring above the
GNN window threshold, with its top process, and the attack recordings none of
whose attack windows does; (2) the loopback web server's score by window index
0-5 (the process whose command line runs `http.server`): recordings, median
and highest.
"""
import json
import sys
from collections import defaultdict

rows = [json.loads(line) for line in open(sys.argv[1])]
threshold = rows[0]["thresholds"]["gnn_window"]
windows = [r for r in rows[1:] if "recording" in r]
print(f"window threshold {threshold:.2f}")

attack_hit = defaultdict(bool)
by_window = defaultdict(list)
for r in windows:
    if r["recording"].startswith("attack"):
        attack_hit[r["recording"]] |= r["attack_window"] and r["window"] >= 1 and r["gnn"] > threshold
    if not r["attack_window"] and r["window"] >= 1 and r["gnn"] > threshold:
        top = max(r["processes"], key=lambda p: p["gnn"], default={})
        print(f"false alarm: {r['recording']} window {r['window']} score {r['gnn']:.2f} top {top.get('exe')}")
    server = [p["gnn"] for p in r["processes"] if "http.server" in (p.get("cmdline") or "")]
    if server:
        by_window[r["window"]].append(max(server))
for rec, hit in sorted(attack_hit.items()):
    if not hit:
        print(f"missed: {rec}")
for w in range(6):
    v = sorted(by_window[w])
    if v:
        print(f"web server, window {w}: {len(v)} recordings, median {v[len(v) // 2]:.2f}, highest {v[-1]:.2f}")
