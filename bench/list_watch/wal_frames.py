#!/usr/bin/env python3
"""WAL frames per commit of a running `rtgw serve` on SQLite, by table and index
(docs/contracts/storage-schema.md "Cost on the write path").

Copies the database and its -wal while the server writes (a torn last frame is ignored), opens the
copy with Python's sqlite3 (which applies the WAL's committed frames) to map every page number to
its table or index with `dbstat`, then walks the copied WAL's frame headers: a frame whose
"database size" field is non-zero ends a commit. Prints the mean frames per commit over the last
COMMITS commits and each B-tree's share.

  bench/list_watch/wal_frames.py DB_PATH [COMMITS]

DB_PATH is the server's SQLite file (e.g. the one `bench/run.sh` starts: `ls -l /proc/$PID/fd`).
Run it while a load runs, e.g. a few seconds into `SCENARIOS=submit bench/run.sh`.
"""
import collections
import shutil
import sqlite3
import struct
import sys
import tempfile
from pathlib import Path


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    db = Path(sys.argv[1])
    last = int(sys.argv[2]) if len(sys.argv) == 3 else 300
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy.db"
        shutil.copy(f"{db}-wal", f"{copy}-wal")  # the WAL first: the database file may only grow
        shutil.copy(db, copy)
        wal = Path(f"{copy}-wal").read_bytes()
        con = sqlite3.connect(copy)
        owner = {page: name for name, page in con.execute("SELECT name, pageno FROM dbstat")}
        con.close()
    if len(wal) < 32:
        print("the WAL is empty (just checkpointed?): run again", file=sys.stderr)
        return 1
    page_size = struct.unpack(">I", wal[8:12])[0]
    commits, current, offset = [], collections.Counter(), 32
    while offset + 24 + page_size <= len(wal):
        page, db_size = struct.unpack(">II", wal[offset:offset + 8])
        current[owner.get(page, "(page not in the copy)")] += 1
        if db_size:
            commits.append(current)
            current = collections.Counter()
        offset += 24 + page_size
    commits = commits[-last:]
    if not commits:
        print("no complete commit in the WAL: run again", file=sys.stderr)
        return 1
    total = collections.Counter()
    for c in commits:
        total.update(c)
    n = len(commits)
    print(f"commits {n}  frames/commit {sum(total.values()) / n:.2f}")
    for name, frames in total.most_common():
        print(f"  {name:40s} {frames / n:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
