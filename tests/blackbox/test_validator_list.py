"""Listing validation runs: GET /api/runtime/validations (docs/contracts/validator-callback.md
"Listing runs"), on both backends. Real runs, as tests/blackbox/test_validators.py makes them
(the local launcher, the sample validator, a crasher finished by the fallback poll): paging
through them returns each run once, newest first, each as the single GET answers it; the status
and validator filters; another tenant sees none; bad cursors and limits are 400 with the one
error shape; no token is 401. A store from before migration 7 gets the runs' statuses
backfilled."""
from __future__ import annotations

import sqlite3

import pytest

from conftest import Api, assert_error, pg_url, psql, run_cli
from test_migrate import _V7_DROPS  # migration 7 undone: the store as a version 6 build left it
from test_validators import RULES, launch, setup, wait_terminal  # noqa: F401 - fixture

PATH = "/api/runtime/validations"
GOOD = {"data": {"name": "x", "age": 3}, "rules": RULES}


def list_runs(api: Api, **params) -> dict:
    r = api.client.get(PATH, params=params, headers=api.headers())
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"runs", "next_cursor"}, body
    return body


def walk(api: Api, limit: int, **params) -> list[dict]:
    """Every page from the first, following next_cursor; each page at most `limit` runs."""
    runs: list[dict] = []
    cursor = None
    for _ in range(100):
        page = list_runs(api, limit=limit, **params, **({"cursor": cursor} if cursor else {}))
        assert len(page["runs"]) <= limit, page
        runs += page["runs"]
        cursor = page["next_cursor"]
        if cursor is None:
            return runs
        assert cursor.startswith("r1.") and page["runs"], page
    raise AssertionError("more than 100 pages")


@pytest.fixture
def finished_runs(setup):
    """A server with 9 terminal runs of one tenant: 6 json-rules (SUCCEEDED), 3 crashers (FAILED
    by the fallback poll), as GET answers each, newest first."""
    start, _, _ = setup
    srv = start()
    api = Api(srv)
    launched = [launch(api, GOOD) if i % 3 else launch(api, {}, validator="crasher")
                for i in range(9)]
    runs = [wait_terminal(api, r["run_id"]) for r in launched]
    runs.sort(key=lambda r: (r["created_at"], r["run_id"]), reverse=True)
    yield srv, api, runs
    api.close()


def test_pages_return_each_run_once_newest_first_as_get_shows_it(finished_runs):
    _, api, runs = finished_runs
    assert [r["status"] for r in runs].count("FAILED") == 3, runs
    for limit in (1, 2, 4, 9, 500):
        assert walk(api, limit) == runs, f"limit {limit}"
    first = list_runs(api)  # default limit 50: one page
    assert first["runs"] == runs and first["next_cursor"] is None
    # The limit may change from page to page.
    page = list_runs(api, limit=2)
    rest = list_runs(api, limit=7, cursor=page["next_cursor"])
    assert page["runs"] + rest["runs"] == runs and rest["next_cursor"] is None


def test_status_and_validator_filters(finished_runs):
    _, api, runs = finished_runs
    failed = [r for r in runs if r["status"] == "FAILED"]
    succeeded = [r for r in runs if r["status"] == "SUCCEEDED"]
    assert len(failed) == 3 and len(succeeded) == 6
    assert all(r["validator"] == "crasher" for r in failed)
    assert walk(api, 2, status="FAILED") == failed
    assert walk(api, 4, status="SUCCEEDED") == succeeded
    assert walk(api, 2, status="SUCCEEDED,FAILED") == runs
    assert walk(api, 2, status="PENDING,RUNNING,CANCELLED") == []
    assert walk(api, 2, validator="crasher") == failed
    assert walk(api, 5, validator="json-rules", status="SUCCEEDED") == succeeded
    assert walk(api, 5, validator="json-rules", status="FAILED") == []
    # A cursor is bound to its filters.
    page = list_runs(api, limit=1, status="FAILED")
    err = assert_error(api.client.get(PATH, params={"cursor": page["next_cursor"]},
                                      headers=api.headers()), 400, "invalid_argument")
    assert err["message"].startswith("cursor: was made for other filters"), err


def test_another_tenant_sees_none_and_cannot_use_the_cursor(finished_runs):
    srv, api, runs = finished_runs
    other = Api(srv)
    assert list_runs(other) == {"runs": [], "next_cursor": None}
    assert walk(other, 1, status="FAILED") == []
    page = list_runs(api, limit=1)
    err = assert_error(other.client.get(PATH, params={"limit": 1, "cursor": page["next_cursor"]},
                                        headers=other.headers()), 400, "invalid_argument")
    assert err["message"].startswith("cursor: was made for another tenant"), err
    other.close()


def test_bad_parameters_are_400_naming_them_and_no_token_is_401(setup):
    start, _, _ = setup
    srv = start()
    api = Api(srv)
    cases = [({"limit": "0"}, "limit:"), ({"limit": "501"}, "limit:"), ({"limit": "x"}, "limit:"),
             ({"cursor": "nonsense"}, "cursor:"), ({"cursor": "r1.!!"}, "cursor:"),
             ({"cursor": "r1." + "A" * 40}, "cursor:"), ({"status": "DONE"}, "status:"),
             ({"status": "failed"}, "status:"), ({"validator": "a/b"}, "validator:"),
             ({"sort": "created_at"}, "sort:"), ({"cursor": "x" * 1025}, "cursor:")]
    for params, start_of_message in cases:
        r = api.client.get(PATH, params=params, headers=api.headers())
        err = assert_error(r, 400, "invalid_argument", str(params))
        assert err["message"].startswith(start_of_message), (params, err)
    r = api.client.get(PATH + "?limit=1&limit=2", headers=api.headers())
    assert assert_error(r, 400, "invalid_argument")["message"].startswith("limit:")
    # The jobs list's cursor is not this list's.
    api.submit_ok()
    api.submit_ok()
    jobs_page = api.list_jobs({"limit": 1}).json()
    assert jobs_page["next_cursor"].startswith("l1.")
    r = api.client.get(PATH, params={"cursor": jobs_page["next_cursor"]}, headers=api.headers())
    assert assert_error(r, 400, "invalid_argument")["message"].startswith("cursor:")
    with srv.client() as c:
        assert_error(c.get(PATH), 401, "unauthenticated")
        assert_error(c.get(PATH, headers={"authorization": "Bearer nonsense"}), 401,
                     "unauthenticated")
    api.close()


def test_a_store_at_schema_6_gets_each_runs_status_backfilled(setup, backend, rtgw_bin):
    start, _, _ = setup
    srv = start()
    api = Api(srv)
    ok = wait_terminal(api, launch(api, GOOD)["run_id"])
    crashed = wait_terminal(api, launch(api, {}, validator="crasher")["run_id"])
    assert (ok["status"], crashed["status"]) == ("SUCCEEDED", "FAILED")
    api.close()
    assert srv.stop() == 0
    if backend == "sqlite":
        con = sqlite3.connect(srv.db_path)
        for sql in _V7_DROPS:
            con.execute(sql)
        con.commit()
        con.close()
    else:
        psql(f"SET search_path TO {srv.pg_schema}; " + "; ".join(_V7_DROPS))
        out = run_cli(rtgw_bin, "migrate", "--database-url", pg_url(srv.pg_schema))
        assert out.returncode == 0 and b"schema version 6 -> 7 (migrated)" in out.stdout, out
    srv.start()  # SQLite migrates at start
    api = Api(srv, api.tenant)
    assert walk(api, 1, status="FAILED") == [crashed]
    assert walk(api, 1, status="SUCCEEDED") == [ok]
    assert walk(api, 1, status="PENDING,RUNNING") == []
    api.close()
