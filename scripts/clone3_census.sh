#!/bin/sh
# clone3 children that never act as `pid=` (threads: glibc's pthread_create is
# a clone3 whose flags the audit record hides), per recording and in all.
# Usage: scripts/clone3_census.sh ../shared/data/auditd/*/audit.log.gz
# Prints "recording never-acting clone3-children" lines, then the total.
for f in "$@"; do
  case $f in *.zst) cat="zstd -dc" ;; *) cat="zcat" ;; esac
  $cat "$f" | awk -v rec="$(basename "$(dirname "$f")")" '
    /^type=SYSCALL/ {
      s = ""; ok = ""; e = ""
      for (i = 1; i <= NF; i++) {
        n = index($i, "="); k = substr($i, 1, n - 1); v = substr($i, n + 1)
        if (k == "pid") acting[v] = 1
        else if (k == "exit") e = v
        else if (k == "syscall") s = v
        else if (k == "success") ok = v
      }
      if (s == "435" && ok == "yes") child[++m] = e
    }
    END {
      n = 0
      for (j = 1; j <= m; j++) if (!(child[j] in acting)) n++
      print rec, n, m
    }'
done | awk '{ print; n += $2; t += $3 } END { print "all:", n, "of", t, "clone3 children never act" }'
