#!/usr/bin/env python3
# WAL frames per commit that the job list indexes add (docs/contracts/storage-schema.md,
# "Cost on the write path"): a jobs table shaped like ours, 2,000 commits of 20 inserts each,
# with no list index, with migration 6's five, and with five smaller ones. Run: bench/list_watch/index_wal_frames.py
import os
import shutil
import sqlite3
import tempfile
import time
import uuid

BASE = """CREATE TABLE jobs (tenant_id TEXT NOT NULL, job_id TEXT NOT NULL, workspace_id TEXT NOT NULL,
 idempotency_key TEXT NOT NULL, management_node_id TEXT NOT NULL, spec_json TEXT NOT NULL,
 accepted_at TEXT NOT NULL, accepted_us INTEGER NOT NULL, state TEXT NOT NULL, requested_by TEXT,
 response_json TEXT NOT NULL, updated_at TEXT NOT NULL,
 PRIMARY KEY (tenant_id, job_id), UNIQUE (tenant_id, idempotency_key)) STRICT;"""
V = {
 'none': [],
 'mig6': ["CREATE INDEX a ON jobs (tenant_id, accepted_at, job_id)",
          "CREATE INDEX b ON jobs (tenant_id, workspace_id, accepted_at, job_id)",
          "CREATE INDEX c ON jobs (tenant_id, state, accepted_at, job_id)",
          "CREATE INDEX d ON jobs (tenant_id, management_node_id, accepted_at, job_id)",
          "CREATE INDEX e ON jobs (tenant_id, requested_by, accepted_at, job_id)"],
 'small': ["CREATE INDEX a ON jobs (tenant_id, accepted_us)",
          "CREATE INDEX b ON jobs (tenant_id, workspace_id, accepted_us)",
          "CREATE INDEX c ON jobs (tenant_id, state, accepted_us)",
          "CREATE INDEX d ON jobs (tenant_id, management_node_id, accepted_us)",
          "CREATE INDEX e ON jobs (tenant_id, requested_by, accepted_us)"],
}
for name, idx in V.items():
    d = tempfile.mkdtemp(); p = os.path.join(d, 'x.db')
    db = sqlite3.connect(p, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL"); db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute(BASE)
    for s in idx: db.execute(s)
    spec = '{"execution_profile":"x","resource_shape":{"cpu":1,"memory_mb":512},"payload_ref":{"uri":"gs://b/o"},"requested_by":{"user_id":"bench"}}'
    resp = '{"job_id":"%s","submission_id":"%s","status":"accepted","trace_id":"0123456789abcdef0123456789abcdef"}'
    t0 = time.time(); us = 1_700_000_000_000_000; commits = 2000; per = 20
    for c in range(commits):
        db.execute("BEGIN")
        for i in range(per):
            j = str(uuid.uuid4()); us += 37
            db.execute("INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", ("tenant-bench", j, "ws-1", str(uuid.uuid4()), "node-1", spec,
                       "2026-12-06T18:00:00.%06dZ" % (us % 1000000), us, "submitted", "bench", resp % (j, uuid.uuid4()), "2026-12-06T18:00:00.000000Z"))
        db.execute("COMMIT")
    dt = time.time() - t0
    frames = (os.path.getsize(p + '-wal') - 32) / (4096 + 24)
    db.close()
    shutil.rmtree(d)
    print(f"{name:6s} frames/commit {frames/commits:5.2f}  rows/s {commits*per/dt:8.0f}")
