"""Validator runs and their media under retention (docs/contracts/retention.md "Validator runs"):
`rtgw store prune` and serve's background runner archive finished validator runs older than the
cutoff, delete their media files (the input files, each execution's envelope and result) from
file:// or gs:// storage, then their rows. Afterwards GET of the run answers 404 and the objects
are gone (checked on disk, and in the fake GCS server); a dry run changes nothing; a run that is
not old enough keeps its row and its files. Both backends.

Real runs, as tests/blackbox/test_validators.py makes them (the local launcher and the sample
validator), or on the fake Cloud Run and GCS of test_validator_launchers.py. Waiting out a
retention of days is not possible: the runs to prune are aged straight in the store (their
executions' finished_at set years back), and the prune cuts at one day.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from conftest import Api, psql
from test_retention import archive_lines, reconnect, with_server_stopped_on_sqlite
from test_retention import prune as retention_prune
from test_validator_launchers import cloud, google  # noqa: F401 - fixtures
from test_validators import RULES, envelope, launch, setup, wait_job_state, wait_terminal  # noqa: F401

OLD = "2020-01-01T00:00:00.000000Z"
DOC = {"data": {"name": "x", "age": 3}, "rules": RULES}


def age_runs(srv, run_ids: list[str]) -> None:
    """Every execution of these runs finished years ago (the server is stopped on SQLite)."""
    ids = ", ".join(f"'{r}'" for r in run_ids)
    sql = f"UPDATE validator_executions SET finished_at = '{OLD}' WHERE run_id IN ({ids})"
    if srv.backend == "postgresql":
        psql(f"SET search_path TO {srv.pg_schema}; {sql}")
        return
    con = sqlite3.connect(str(srv.db_path))
    with con:
        con.execute(sql)
    con.close()


def prune(srv, rtgw_bin, *extra: str, env: dict | None = None) -> tuple[int, str, str]:
    """`rtgw store prune` cutting at one day: only the aged runs are old enough."""
    return retention_prune(srv, rtgw_bin, *extra, env=env, older_than="1d")


def finished(api: Api, run: dict) -> dict:
    """The run once terminal and its runtime job's terminal event stored (event_synced)."""
    done = wait_terminal(api, run["run_id"])
    wait_job_state(api, done["job_id"], "completed" if done["status"] == "SUCCEEDED" else "failed")
    return done


def media_of(run: dict) -> list[Path]:
    """The files of the run's current execution on disk: envelope, input files, result."""
    env = envelope(run)
    input_json = Path(run["input_uri"][len("file://"):])
    paths = [input_json] + [Path(f["uri"][len("file://"):]) for f in env["files"]]
    if run["result_uri"]:
        paths.append(Path(run["result_uri"][len("file://"):]))
    return paths


def test_prune_deletes_old_runs_with_their_media_and_keeps_the_rest(setup, rtgw_bin, tmp_path):
    start, _, media = setup
    srv = start()
    api = Api(srv)
    ok = launch(api, DOC)
    crashed = launch(api, DOC, validator="crasher")
    fresh = launch(api, DOC)
    ok_first = finished(api, ok)
    # A rerun: the run then has two executions, two envelopes and two results.
    r = api.post_json(f"/api/runtime/validations/{ok['run_id']}:rerun", {})
    assert r.status_code == 202, r.text
    ok_done = finished(api, r.json())
    assert ok_done["attempt"] == 2
    crashed_done, fresh_done = finished(api, crashed), finished(api, fresh)
    assert crashed_done["status"] == "FAILED"
    before = {run["run_id"]: api.get(f"/api/runtime/validations/{run['run_id']}").json()
              for run in (ok_done, crashed_done)}
    old_files = media_of(ok_first) + media_of(ok_done) + media_of(crashed_done)
    fresh_files = media_of(fresh_done)
    assert all(p.is_file() for p in old_files + fresh_files), old_files + fresh_files
    old_ids = [ok["run_id"], crashed["run_id"]]
    archive = tmp_path / "archive"
    archive.mkdir()

    # Dry run: the counts, nothing deleted.
    def dry():
        age_runs(srv, old_ids)
        return prune(srv, rtgw_bin, "--dry-run", "--media-root", str(media))
    rc, out, err = with_server_stopped_on_sqlite(srv, dry)
    assert rc == 0, err
    assert "dry run: cutoff" in out and "2 validator runs with 3 executions would be pruned" in out, out
    api = reconnect(api)
    assert all(p.is_file() for p in old_files), "a dry run deleted media"
    for run_id in old_ids:
        assert api.get(f"/api/runtime/validations/{run_id}").status_code == 200

    rc, out, err = with_server_stopped_on_sqlite(srv, lambda: prune(
        srv, rtgw_bin, "--archive", f"file://{archive}", "--media-root", str(media)))
    assert rc == 0, err
    assert ("pruned validator runs: cutoff" in out and "2 runs, 3 executions deleted with their "
            "media in 1 batches; 2 runs archived; 0 kept" in out), out
    api = reconnect(api)

    # GET of a pruned run: 404, as a run that never existed; so is a rerun of it.
    for run_id in old_ids:
        got = api.get(f"/api/runtime/validations/{run_id}")
        assert got.status_code == 404 and got.json()["error"]["code"] == "not_found", got.text
        assert api.post_json(f"/api/runtime/validations/{run_id}:rerun", {}).status_code == 404
    # Its media are gone from disk, directories included; the fresh run keeps everything.
    assert not any(p.exists() for p in old_files), [p for p in old_files if p.exists()]
    tenant_dir = old_files[0].parents[2]
    for run_id in old_ids:
        assert not (tenant_dir / run_id).exists()
    assert api.get(f"/api/runtime/validations/{fresh['run_id']}").json() == fresh_done
    assert all(p.is_file() for p in fresh_files)

    # The archive: one line per pruned run, the run as GET showed it and every execution.
    runs = {line["validator_run"]["run_id"]: line for line in archive_lines(archive)
            if "validator_run" in line}
    assert set(runs) == set(old_ids)
    for run_id, shown in before.items():  # as GET showed it, but for the aging
        assert runs[run_id]["validator_run"] == {**shown, "finished_at": OLD}
    assert [e["attempt"] for e in runs[ok["run_id"]]["executions"]] == [1, 2]
    assert [e["input_uri"] for e in runs[ok["run_id"]]["executions"]] == [
        ok_first["input_uri"], ok_done["input_uri"]]
    assert runs[crashed["run_id"]]["executions"][0]["status"] == "FAILED"


def test_prune_deletes_gs_media_through_the_gcs_api(cloud, google, rtgw_bin, tmp_path):
    srv = cloud(storage="gs://media-bkt/rtgw")
    api = Api(srv)
    run = launch(api, DOC)
    done = finished(api, run)
    assert done["status"] == "SUCCEEDED" and done["input_uri"].startswith("gs://media-bkt/rtgw/")

    def objects_of(run_id: str) -> list[str]:
        return sorted(n for (b, n) in google.objects if b == "media-bkt" and f"/{run_id}/" in n)

    names = objects_of(run["run_id"])
    assert any(n.endswith("/input.json") for n in names), names
    assert any(n.endswith("/files/notes.txt") for n in names), names
    archive = tmp_path / "archive"
    archive.mkdir()
    env = {"RTGW_GCS_ENDPOINT": google.url, "RTGW_GCP_METADATA_URL": google.url}

    def go():
        age_runs(srv, [run["run_id"]])
        return prune(srv, rtgw_bin, "--archive", f"file://{archive}", "--validator-storage",
                     "gs://media-bkt/rtgw", env=env)
    rc, out, err = with_server_stopped_on_sqlite(srv, go)
    assert rc == 0, err
    assert "1 runs, 1 executions deleted with their media" in out, out
    assert objects_of(run["run_id"]) == []
    deletes = [p for (m, p) in google.calls if m == "DELETE"]
    assert len(deletes) >= len(names) and all(p.startswith("/storage/v1/b/media-bkt/o/")
                                              for p in deletes), deletes
    assert google.errors == []
    api = reconnect(api)
    assert api.get(f"/api/runtime/validations/{run['run_id']}").status_code == 404
    lines = [line for line in archive_lines(archive) if "validator_run" in line]
    assert [line["validator_run"]["run_id"] for line in lines] == [run["run_id"]]


def test_serve_prunes_validator_runs_in_the_background(setup, server_factory, tmp_path):
    start, _, _ = setup
    archive = tmp_path / "serve-archive"
    archive.mkdir()
    env = {"RTGW_JOB_RETENTION_DAYS": "1", "RTGW_JOB_ARCHIVE": f"file://{archive}",
           "RTGW_JOB_RETENTION_INTERVAL": "1s"}
    if server_factory.backend == "postgresql":
        env["RTGW_JOB_RETENTION_INCLUDE_UNDELIVERED"] = "1"
    srv = start(**env)
    api = Api(srv)
    old = finished(api, launch(api, DOC))
    kept = finished(api, launch(api, DOC))
    old_files = media_of(old)
    with_server_stopped_on_sqlite(srv, lambda: age_runs(srv, [old["run_id"]]))
    api = reconnect(api)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and api.get(
            f"/api/runtime/validations/{old['run_id']}").status_code != 404:
        time.sleep(0.2)
    assert api.get(f"/api/runtime/validations/{old['run_id']}").status_code == 404
    assert not any(p.exists() for p in old_files)
    assert api.get(f"/api/runtime/validations/{kept['run_id']}").status_code == 200
    assert all(p.is_file() for p in media_of(kept))
    log = srv.wait_for_log(lambda e: e.get("msg") == "retention: pruned validator runs")
    assert log["runs"] == 1 and log["executions"] == 1 and log["media_failed"] == 0
    lines = [line for line in archive_lines(archive) if "validator_run" in line]
    assert [line["validator_run"]["run_id"] for line in lines] == [old["run_id"]]
