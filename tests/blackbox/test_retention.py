"""Job retention (docs/contracts/retention.md): `rtgw store prune` archives old finished jobs,
then deletes them; GET answers 404 afterwards, the archive holds exactly what GET showed before,
a pruned idempotency key makes a new job, and a dry run changes nothing. Both backends.

SQLite: the prune runs with the server stopped (the server holds the file). PostgreSQL: beside
the running server. PostgreSQL writes an outbox row with every change whatever the relay, so
there (no relay in these tests) the prune is told --include-undelivered; SQLite without a relay
writes no outbox rows, so the default (keep undelivered) applies and still prunes.
"""
from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import time
from pathlib import Path

from conftest import Api, event_body, psql, run_cli
from fake_google import FakeGoogle


def finish(api: Api, body: dict, accepted: dict, state: str) -> None:
    for s in ("running", state):
        api.event_ok(body["job_id"], event_body(api.tenant, body["job_id"],
                                                accepted["submission_id"], s))


def prune(srv, rtgw_bin, *extra: str, env: dict | None = None,
          older_than: str = "1s") -> tuple[int, str, str]:
    args = ["store", "prune", "--database-url", srv.database_url, "--older-than", older_than,
            "--pause-ms", "0", *extra]
    if srv.backend == "postgresql":
        args.append("--include-undelivered")
    res = run_cli(rtgw_bin, *args, env=env, timeout=60)
    return res.returncode, res.stdout.decode(), res.stderr.decode()


def with_server_stopped_on_sqlite(srv, fn):
    if srv.backend == "sqlite":
        srv.stop()
    try:
        return fn()
    finally:
        if srv.backend == "sqlite":
            srv.restart()


def reconnect(api: Api) -> Api:
    """The same tenant's client on the server's (possibly new) port."""
    api.close()
    return Api(api.server, tenant=api.tenant, token=api.token)


def archive_lines(directory: Path) -> list[dict]:
    files = sorted(directory.glob("rtgw-archive-*.jsonl"))
    lines = []
    for f in files:
        assert re.fullmatch(r"rtgw-archive-\d{8}T\d{6}Z-\d+\.jsonl", f.name), f.name
        lines += [json.loads(line) for line in f.read_text().splitlines()]
    return lines


def test_prune_archives_then_deletes_and_get_answers_404(server_factory, rtgw_bin, tmp_path):
    srv = server_factory()
    api = Api(srv)
    other = Api(srv)  # another tenant's finished job goes too, into the same archive
    done = {}
    for state in ("completed", "failed", "cancelled"):
        body, accepted = api.new_job()
        finish(api, body, accepted, state)
        done[body["job_id"]] = body
    obody, oacc = other.new_job()
    finish(other, obody, oacc, "completed")
    running_body, running_acc = api.new_job()
    api.event_ok(running_body["job_id"], event_body(api.tenant, running_body["job_id"],
                                                    running_acc["submission_id"], "running"))
    before = {j: (api.job_ok(j), api.detail_ok(j)) for j in done}
    other_before = (other.job_ok(obody["job_id"]), other.detail_ok(obody["job_id"]))
    time.sleep(2.2)  # older than --older-than 1s
    fresh_body, fresh_acc = api.new_job()
    finish(api, fresh_body, fresh_acc, "completed")  # finished, but not old enough

    archive = tmp_path / "archive"
    archive.mkdir()
    rc, out, err = with_server_stopped_on_sqlite(
        srv, lambda: prune(srv, rtgw_bin, "--archive", f"file://{archive}", "--batch-size", "2"))
    assert rc == 0, err
    api, other = reconnect(api), reconnect(other)
    assert re.search(r"pruned: cutoff \S+: 4 jobs, 8 events, \d+ outbox rows deleted in 2 batches;"
                     r" 4 jobs archived", out), out

    # GET, detail and projection of each pruned job: 404 not_found, as a job that never existed.
    for j in done:
        for r in (api.job(j), api.detail(j), api.projection(j)):
            assert r.status_code == 404, r.text
            assert r.json()["error"]["code"] == "not_found"
        late = api.event(j, event_body(api.tenant, j, before[j][0]["submission_id"], "running"))
        assert late.status_code == 404, late.text
    assert other.job(obody["job_id"]).status_code == 404
    # Not terminal, or not old enough: kept.
    assert api.job_ok(running_body["job_id"])["state"] == "running"
    assert api.job_ok(fresh_body["job_id"])["state"] == "completed"

    # The archive: one line per pruned job, exactly what GET answered before.
    lines = archive_lines(archive)
    assert len(lines) == 4
    by_id = {line["job"]["job_id"]: line for line in lines}
    assert set(by_id) == set(done) | {obody["job_id"]}
    for j, (job, detail) in before.items():
        assert by_id[j]["job"] == job
        assert by_id[j]["events"] == detail["events"]
        assert [e["state"] for e in by_id[j]["events"]] == ["running", job["state"]]
    assert by_id[obody["job_id"]]["job"] == other_before[0]
    assert by_id[obody["job_id"]]["events"] == other_before[1]["events"]


def test_a_pruned_idempotency_key_makes_a_new_job(server_factory, rtgw_bin, tmp_path):
    srv = server_factory()
    api = Api(srv)
    body, accepted = api.new_job()
    finish(api, body, accepted, "completed")
    # Before the prune the same submit is a replay: the original 202 bytes.
    assert api.submit_ok(body) == accepted
    time.sleep(2.2)
    rc, _, err = with_server_stopped_on_sqlite(srv, lambda: prune(srv, rtgw_bin, "--archive",
                                                                  "none"))
    assert rc == 0, err
    api = reconnect(api)
    assert api.job(body["job_id"]).status_code == 404
    again = api.submit_ok(body)
    assert again["job_id"] == body["job_id"]
    assert again["submission_id"] != accepted["submission_id"]  # a new job, not a replay
    job = api.job_ok(body["job_id"])
    assert job["state"] == "submitted"
    assert job["submission_id"] == again["submission_id"]


def test_dry_run_counts_and_changes_nothing(server_factory, rtgw_bin, tmp_path):
    srv = server_factory()
    api = Api(srv)
    ids = []
    for _ in range(3):
        body, accepted = api.new_job()
        finish(api, body, accepted, "completed")
        ids.append(body["job_id"])
    api.new_job()  # active
    time.sleep(2.2)
    archive = tmp_path / "a"
    archive.mkdir()

    def dry():
        before = srv.counts()
        res = prune(srv, rtgw_bin, "--dry-run", "--archive", f"file://{archive}")
        return res, before, srv.counts()

    (rc, out, err), before, after = with_server_stopped_on_sqlite(srv, dry)
    assert rc == 0, err
    assert re.search(r"dry run: cutoff \S+: 3 jobs with 6 events would be pruned; 0 kept", out), out
    api = reconnect(api)
    assert before == after and before["jobs"] == 4
    assert list(archive.iterdir()) == []
    for j in ids:
        assert api.job_ok(j)["state"] == "completed"


def test_bad_arguments_are_refused_naming_the_problem(server_factory, rtgw_bin, tmp_path):
    srv = server_factory(start=False)
    url = srv.database_url
    cases = [
        (["--older-than", "soon", "--archive", "none"], "--older-than"),
        (["--older-than", "30d"], "--archive is required"),
        (["--older-than", "30d", "--archive", "s3://b/x"], "expected file:///absolute/dir"),
        (["--older-than", "30d", "--archive", f"file://{tmp_path}/missing"], "existing directory"),
        (["--older-than", "30d", "--archive", "none", "--batch-size", "0"], "batch-size"),
    ]
    for args, needle in cases:
        res = run_cli(rtgw_bin, "store", "prune", "--database-url", url, *args)
        assert res.returncode == 2, (args, res.stderr)
        assert needle in res.stderr.decode(), (args, res.stderr)


def test_prune_to_gs_archive_writes_one_object_per_batch(server_factory, rtgw_bin):
    google = FakeGoogle()
    try:
        srv = server_factory()
        api = Api(srv)
        before = {}
        for _ in range(3):
            body, accepted = api.new_job()
            finish(api, body, accepted, "completed")
            before[body["job_id"]] = api.job_ok(body["job_id"])
        time.sleep(2.2)
        env = {"RTGW_GCS_ENDPOINT": google.url, "RTGW_GCP_METADATA_URL": google.url}
        rc, out, err = with_server_stopped_on_sqlite(srv, lambda: prune(
            srv, rtgw_bin, "--archive", "gs://arch-bucket/rtgw/jobs", "--batch-size", "2",
            env=env))
        assert rc == 0, err
        assert "3 jobs archived to gs://arch-bucket/rtgw/jobs" in out, out
        assert google.errors == []
        names = sorted(name for (bucket, name) in google.objects if bucket == "arch-bucket")
        assert len(names) == 2, names
        assert all(re.fullmatch(r"rtgw/jobs/rtgw-archive-\d{8}T\d{6}Z-[12]\.jsonl", n)
                   for n in names), names
        lines = []
        for n in names:
            data, ctype = google.objects[("arch-bucket", n)]
            assert ctype.startswith("application/x-ndjson")
            lines += [json.loads(x) for x in data.decode().splitlines()]
        assert {line["job"]["job_id"]: line["job"] for line in lines} == before
        api = reconnect(api)
        for j in before:
            assert api.job(j).status_code == 404
    finally:
        google.close()


def age_all_jobs(srv) -> None:
    """Makes every job's last change years old, straight in the store (the retention is in
    days; the test cannot wait that long). SQLite: with the server stopped, then restarted."""
    sql = "UPDATE jobs SET updated_at = '2020-01-01T00:00:00.000000Z'"
    if srv.backend == "postgresql":
        psql(f"SET search_path TO {srv.pg_schema}; {sql}")
        return
    srv.stop()
    con = sqlite3.connect(str(srv.db_path))
    with con:
        con.execute(sql)
    con.close()
    srv.restart()


def test_serve_prunes_in_the_background_with_its_archive(server_factory, tmp_path):
    archive = tmp_path / "serve-archive"
    archive.mkdir()
    args = ["--job-retention-days", "1", "--job-archive", f"file://{archive}",
            "--job-retention-interval", "1s"]
    if server_factory.backend == "postgresql":
        args.append("--job-retention-include-undelivered")
    srv = server_factory(*args)
    api = Api(srv)
    done = []
    for state in ("completed", "failed"):
        body, accepted = api.new_job()
        finish(api, body, accepted, state)
        done.append(body["job_id"])
    live_body, _ = api.new_job()
    before = {j: api.job_ok(j) for j in done}
    age_all_jobs(srv)
    api = reconnect(api)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(api.job(j).status_code != 404 for j in done):
        time.sleep(0.2)
    for j in done:
        assert api.job(j).status_code == 404
    assert api.job_ok(live_body["job_id"])["state"] == "submitted"  # active: kept
    lines = archive_lines(archive)
    assert {line["job"]["job_id"]: line["job"]["state"] for line in lines} == {
        j: before[j]["state"] for j in done}
    log = srv.wait_for_log(lambda e: e.get("msg") == "retention: pruned jobs")
    assert log["jobs"] == 2 and log["archived"] == 2


def test_serve_refuses_retention_without_an_archive_choice(server_factory):
    srv = server_factory("--job-retention-days", "30", start=False)
    cmd, env = srv.command_and_env()
    res = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=20)
    assert res.returncode != 0
    assert "--job-retention-days needs --job-archive" in res.stderr.decode()
