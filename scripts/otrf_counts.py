#!/usr/bin/env python3
"""Counts behind two figures in the docs, from the shared OTRF JSON-lines captures.

* records per channel family (Sysmon / Security / other)   -> docs/BENCHMARKS.md
* Sysmon 12 records by the value of `EventType`             -> docs/formats/sysmon.md
  (NXLog writes the Windows event type `INFO` there, or drops the field)

usage: scripts/otrf_counts.py ../shared/data/windows/attack/jsonl
"""
import collections, gzip, json, os, sys

root = sys.argv[1]
channels = collections.Counter()
event_type_12 = collections.Counter()
for dirpath, _, files in os.walk(root):
    for name in sorted(files):
        if not name.endswith(".jsonl.gz"):
            continue
        with gzip.open(os.path.join(dirpath, name), "rt", errors="replace") as f:
            for line in f:
                try:
                    d = json.loads(line)
                except ValueError:
                    channels["unparsable"] += 1
                    continue
                ch = str(d.get("Channel") or d.get("channel") or (d.get("winlog") or {}).get("channel")
                         or d.get("log_name") or "?")
                family = "sysmon" if "Sysmon" in ch else ("security" if ch.lower() == "security" else "other")
                channels[family] += 1
                eid = d.get("EventID", d.get("event_id"))
                if family == "sysmon" and str(eid) == "12":
                    et = d.get("EventType", (d.get("event_data") or {}).get("EventType"))
                    event_type_12[repr(et)] += 1
total = sum(channels.values())
print("records by channel family:", dict(channels), "total", total)
known = sum(v for k, v in event_type_12.items() if k in ("'CreateKey'", "'DeleteKey'", "'DeleteValue'"))
print("Sysmon 12 by EventType:", dict(event_type_12))
print("Sysmon 12 total", sum(event_type_12.values()), "without Sysmon's EventType", sum(event_type_12.values()) - known)
