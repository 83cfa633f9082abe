"""Schema versions at start-up: `rtgw migrate` for both backends, `rtgw serve --migrate`, refusal of
schemas that are behind (PostgreSQL default) or newer than the build (always), bad URLs naming
the key. PostgreSQL cases need RTGW_TEST_BACKENDS to include postgresql."""
from __future__ import annotations

import re
import sqlite3
import subprocess

import pytest

from conftest import (BACKENDS, SECRET, Api, ServerPool, clean_env, event_body, new_pg_schema,
                      pg_counts, pg_url, psql, run_cli, submit_body, uid)

needs_pg = pytest.mark.skipif("postgresql" not in BACKENDS,
                              reason="RTGW_TEST_BACKENDS does not include postgresql")


def _serve_once(rtgw_bin, tmp_path, url: str, *args: str) -> subprocess.CompletedProcess:
    """Starts serve and expects it to exit on its own (refusal); bounded."""
    return subprocess.run([rtgw_bin, "serve", "--listen", "127.0.0.1:0", "--database-url", url,
                           "--jwt-hs256-secret", SECRET, *args], capture_output=True, text=True,
                          timeout=20, env=clean_env({}), cwd=str(tmp_path))


@pytest.fixture
def schema():
    name = new_pg_schema("mig")
    yield name
    psql(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@needs_pg
def test_postgres_serve_refuses_a_schema_behind_until_migrated(rtgw_bin, tmp_path, schema):
    res = _serve_once(rtgw_bin, tmp_path, pg_url(schema))
    assert res.returncode != 0
    assert "rtgw migrate" in res.stderr, res.stderr
    out = run_cli(rtgw_bin, "migrate", "--database-url", pg_url(schema))
    assert out.returncode == 0, out.stderr
    assert b"schema version 0 -> 7 (migrated)" in out.stdout, out.stdout
    again = run_cli(rtgw_bin, "migrate", "--database-url", pg_url(schema))
    assert again.returncode == 0 and b"up to date" in again.stdout, again.stdout
    assert psql(f"SELECT count(*) FROM {schema}.schema_migrations").strip() == "7"


@needs_pg
def test_postgres_serve_migrate_on_starts_on_an_empty_schema(rtgw_bin, tmp_path, schema):
    pool = ServerPool(rtgw_bin, tmp_path, "postgresql")
    try:
        srv = pool("--migrate", "on", pg_schema=schema)
        with srv.client() as c:
            h = c.get("/api/health").json()
    finally:
        pool.close()
    assert h["checks"]["store"]["backend"] == "postgresql", h
    assert psql(f"SELECT max(version) FROM {schema}.schema_migrations").strip() == "7"


@needs_pg
def test_a_postgres_schema_at_version_2_is_upgraded_keeping_its_jobs(rtgw_bin, tmp_path, schema):
    """A deployment from before nodes/validator runs were stored on PostgreSQL (v2): --check says
    behind, serve refuses, `rtgw migrate` applies 3 to 7 and keeps every row."""
    assert run_cli(rtgw_bin, "migrate", "--database-url", pg_url(schema)).returncode == 0
    pool = ServerPool(rtgw_bin, tmp_path, "postgresql")
    try:
        srv = pool(pg_schema=schema)
        tenant = uid("tenant")
        api = Api(srv, tenant)
        assert api.submit(submit_body(tenant)).status_code == 202
        api.close()
    finally:
        pool.close()
    # Back to exactly what a v2 build leaves: no v3-v7 tables, columns or index, no v3-v7 rows.
    _drop_v5(schema)
    psql(f"DROP TABLE {schema}.validator_executions, {schema}.validator_runs, "
         f"{schema}.job_cancels, {schema}.job_leases, {schema}.nodes; "
         f"DROP INDEX {schema}.jobs_submitted_by_node; "
         f"DELETE FROM {schema}.schema_migrations WHERE version > 2")
    check = run_cli(rtgw_bin, "migrate", "--check", "--database-url", pg_url(schema))
    assert check.returncode == 1 and b"behind: run rtgw migrate" in check.stdout, check
    res = _serve_once(rtgw_bin, tmp_path, pg_url(schema))
    assert res.returncode != 0 and "rtgw migrate" in res.stderr, res.stderr
    out = run_cli(rtgw_bin, "migrate", "--database-url", pg_url(schema))
    assert out.returncode == 0 and b"schema version 2 -> 7 (migrated)" in out.stdout, out
    counts = pg_counts(schema)
    assert counts["jobs"] == 1 and counts["nodes"] == 0 and counts["validator_runs"] == 0, counts
    check = run_cli(rtgw_bin, "migrate", "--check", "--database-url", pg_url(schema))
    assert check.returncode == 0 and b"(current)" in check.stdout, check


# What migration 5 added (the actor trail, token revocations); both backends name them alike.
_V5_DROPS = ["DROP TABLE token_revocations", "ALTER TABLE jobs DROP COLUMN submitted_by",
             "ALTER TABLE job_events DROP COLUMN actor_sub",
             "ALTER TABLE job_events DROP COLUMN actor_node_id",
             "DELETE FROM schema_migrations WHERE version = 5"]


# What migration 7 did (validator_runs.current_status and the run list indexes), undone; the
# backfill of current_status is tested in test_validator_list.py.
_V7_DROPS = ["DROP INDEX validator_runs_list_validator", "DROP INDEX validator_runs_list_status",
             "ALTER TABLE validator_runs DROP COLUMN current_status",
             "DELETE FROM schema_migrations WHERE version = 7"]


# What migration 6 did (jobs.requested_by, the list indexes replacing migration 3's
# jobs_submitted_by_node, the change feed tables), undone (migration 7's first).
_V6_DROPS = _V7_DROPS + ["DROP TABLE job_change_heads", "DROP TABLE job_changes",
             "DROP TABLE job_unapplied_events"] + [
    f"DROP INDEX {i}" for i in ("jobs_by_node", "jobs_list_workspace", "jobs_list_state",
                                "jobs_list_requested_by")] + [
    "CREATE INDEX jobs_submitted_by_node ON jobs (tenant_id, management_node_id, accepted_at)"
    " WHERE state = 'submitted'",
    "ALTER TABLE jobs DROP COLUMN requested_by", "DELETE FROM schema_migrations WHERE version = 6"]


def _drop_v6(schema: str) -> None:
    psql(f"SET search_path TO {schema}; " + "; ".join(_V6_DROPS))


def _drop_v5(schema: str) -> None:
    """Back to version 4 (drops versions 7 and 6 first)."""
    _drop_v6(schema)
    psql(f"SET search_path TO {schema}; " + "; ".join(_V5_DROPS))


def test_a_store_at_schema_4_migrates_keeping_its_rows_without_an_actor(server_factory, backend,
                                                                         rtgw_bin):
    """A store written by a v4 build (no actor trail): this build migrates it (SQLite at start,
    PostgreSQL by `rtgw migrate`), the old job and event show actor null, new ones name theirs."""
    srv = server_factory()
    api = Api(srv)
    body, out = api.new_job()
    api.event_ok(body["job_id"], event_body(api.tenant, body["job_id"], out["submission_id"],
                                            "running"))
    api.close()
    assert srv.stop() == 0
    if backend == "sqlite":
        con = sqlite3.connect(srv.db_path)
        for sql in _V6_DROPS + _V5_DROPS:
            con.execute(sql)
        con.commit()
        con.close()
    else:
        _drop_v5(srv.pg_schema)
        out5 = run_cli(rtgw_bin, "migrate", "--database-url", pg_url(srv.pg_schema))
        assert out5.returncode == 0 and b"schema version 4 -> 7 (migrated)" in out5.stdout, out5
    srv.start()
    api = Api(srv, api.tenant)
    old = api.detail_ok(body["job_id"])
    assert old["submitted_by"] is None, old
    assert [e["actor"] for e in old["events"]] == [None], old
    new_body, new = api.new_job()
    api.event_ok(new_body["job_id"], event_body(api.tenant, new_body["job_id"],
                                                new["submission_id"], "running"))
    fresh = api.detail_ok(new_body["job_id"])
    assert fresh["submitted_by"] == {"sub": "blackbox-user"}, fresh
    assert fresh["events"][0]["actor"] == {"sub": "blackbox-user"}, fresh
    api.close()


def test_a_store_at_schema_5_migrates_backfilling_requested_by(server_factory, backend, rtgw_bin):
    """A store written by a v5 build (no jobs.requested_by, no change feed): this build migrates it,
    the old job's requested_by is taken from its stored spec, and the change feed starts at seq 1
    with the next change."""
    srv = server_factory()
    api = Api(srv)
    body, _ = api.new_job()
    api.close()
    assert srv.stop() == 0
    if backend == "sqlite":
        con = sqlite3.connect(srv.db_path)
        for sql in _V6_DROPS:
            con.execute(sql)
        con.commit()
        con.close()
    else:
        _drop_v6(srv.pg_schema)
        out6 = run_cli(rtgw_bin, "migrate", "--database-url", pg_url(srv.pg_schema))
        assert out6.returncode == 0 and b"schema version 5 -> 7 (migrated)" in out6.stdout, out6
    srv.start()
    api = Api(srv, api.tenant)
    api.new_job()
    api.close()
    sql_old = f"SELECT requested_by FROM jobs WHERE job_id = '{body['job_id']}'"
    sql_feed = f"SELECT seq, job_id FROM job_changes WHERE tenant_id = '{api.tenant}' ORDER BY seq"
    if backend == "sqlite":
        con = sqlite3.connect(srv.db_path)
        old = con.execute(sql_old).fetchone()[0]
        feed = con.execute(sql_feed).fetchall()
        con.close()
    else:
        old = psql(f"SET search_path TO {srv.pg_schema}; {sql_old}").strip()
        feed = [tuple(line.split("|")) for line in
                psql(f"SET search_path TO {srv.pg_schema}; {sql_feed}").split()]
    assert old == body["requested_by"]["user_id"], old
    assert len(feed) == 1 and str(feed[0][0]) == "1" and feed[0][1] != body["job_id"], feed


@needs_pg
def test_newer_postgres_schema_is_refused_by_every_command(rtgw_bin, tmp_path, schema):
    assert run_cli(rtgw_bin, "migrate", "--database-url", pg_url(schema)).returncode == 0
    psql(f"INSERT INTO {schema}.schema_migrations (version, name) VALUES (99, 'future')")
    for args in ([], ["--migrate", "on"]):
        res = _serve_once(rtgw_bin, tmp_path, pg_url(schema), *args)
        assert res.returncode != 0 and "newer" in res.stderr, res.stderr
    res = run_cli(rtgw_bin, "migrate", "--database-url", pg_url(schema))
    assert res.returncode != 0 and b"newer" in res.stderr, res.stderr


def test_sqlite_migrate_and_migrate_off(rtgw_bin, tmp_path):
    db = tmp_path / "m.db"
    res = _serve_once(rtgw_bin, tmp_path, f"sqlite://{db}", "--migrate", "off")
    assert res.returncode != 0 and "rtgw migrate" in res.stderr, res.stderr
    out = run_cli(rtgw_bin, "migrate", "--database-url", f"sqlite://{db}")
    assert out.returncode == 0 and re.search(rb"version 0 -> \d+ \(migrated\)", out.stdout), out
    con = sqlite3.connect(db)
    con.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (50, 'x')")
    con.commit()
    con.close()
    res = _serve_once(rtgw_bin, tmp_path, f"sqlite://{db}")
    assert res.returncode != 0 and "newer" in res.stderr, res.stderr


@pytest.mark.parametrize("url,needle", [
    ("postgresql://u:hunter2@127.0.0.1/db?nosuch=1", "--database-url"),
    ("mysql://x", "--database-url"),
    ("sqlite://", "--database-url"),
])
def test_bad_database_url_refuses_to_start_naming_the_key(rtgw_bin, tmp_path, url, needle):
    res = _serve_once(rtgw_bin, tmp_path, url)
    assert res.returncode == 2, res
    assert needle in res.stderr, res.stderr
    assert "hunter2" not in res.stderr, res.stderr


def test_unreachable_postgres_refuses_to_start(rtgw_bin, tmp_path):
    res = _serve_once(rtgw_bin, tmp_path, "postgresql://u:p@127.0.0.1:1/db", "--migrate", "on")
    assert res.returncode != 0
    assert "cannot connect" in res.stderr, res.stderr


def test_migrate_check_reports_without_changing_anything(rtgw_bin, tmp_path):
    url = "sqlite://" + str(tmp_path / "check.db")
    behind = run_cli(rtgw_bin, "migrate", "--check", "--database-url", url)
    assert behind.returncode == 1, behind
    assert b"behind: run rtgw migrate" in behind.stdout
    assert not (tmp_path / "check.db").exists(), "--check created the database"
    assert run_cli(rtgw_bin, "migrate", "--database-url", url).returncode == 0
    current = run_cli(rtgw_bin, "migrate", "--check", "--database-url", url)
    assert current.returncode == 0 and b"(current)" in current.stdout, current
