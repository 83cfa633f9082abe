"""Never-applied events are capped per job (issue 18, docs/contracts/limits.md "Stored events").

A real `rtgw serve` with `--max-unapplied-events-per-job 3`, both backends, through the real
event route: three late events are stored, the fourth is 409 `event_limit` with nothing written,
a replay of a stored one and an event that applies are answered as before, and the cap is per
job. A bad flag value refuses to start.
"""
from __future__ import annotations

from conftest import SECRET, Api, Unchanged, assert_error, event_body, run_cli, uid

CAP = 3


def late_event(api: Api, job: dict, n: int, event_id: str | None = None) -> dict:
    # "queued" after "running" is late: stored in the history, never applied.
    return event_body(api.tenant, job["job_id"], job["submission_id"], "queued",
                      event_id=event_id or f"evt-late-{n}-{uid()}",
                      occurred_at=f"2026-02-18T00:00:{n:02d}Z")


def test_fourth_late_event_is_409_event_limit_and_writes_nothing(server_factory):
    srv = server_factory("--max-unapplied-events-per-job", str(CAP))
    api = Api(srv)
    job = api.submit_ok()
    job_id = job["job_id"]
    api.event_ok(job_id, event_body(api.tenant, job_id, job["submission_id"], "running"))
    stored = [late_event(api, job, n) for n in range(CAP)]
    for e in stored:
        api.event_ok(job_id, e)

    unchanged = Unchanged(api, [job_id])
    r = api.event(job_id, late_event(api, job, 10))
    err = assert_error(r, 409, "event_limit")
    assert "--max-unapplied-events-per-job" in err["message"], err
    unchanged.check("refused late event")

    # A replay of a stored late event is still answered as before (idempotent, 200).
    api.event_ok(job_id, stored[1], idempotent=True)
    # The same event_id with another payload is still event_conflict, not event_limit.
    drifted = dict(stored[1], occurred_at="2026-02-18T01:00:00Z")
    assert_error(api.event(job_id, drifted), 409, "event_conflict")
    unchanged.check("replay and conflict")

    # An event that applies is never refused by the cap.
    api.event_ok(job_id, event_body(api.tenant, job_id, job["submission_id"], "completed"))
    j = api.job_ok(job_id)
    assert j["state"] == "completed", j
    detail = api.detail_ok(job_id)
    assert len(detail["events"]) == 1 + CAP + 1, detail
    assert [e["applied"] for e in detail["events"]] == [True] + [False] * CAP + [True], detail
    # ... and after it a late one is still refused.
    assert_error(api.event(job_id, event_body(api.tenant, job_id, job["submission_id"], "running")),
                 409, "event_limit")

    # The cap is per job: another job of the same tenant stores its own late events.
    other = api.submit_ok()
    api.event_ok(other["job_id"],
                 event_body(api.tenant, other["job_id"], other["submission_id"], "running"))
    api.event_ok(other["job_id"], late_event(api, other, 1))
    api.close()


def test_the_cap_survives_a_restart(server_factory):
    """The count is of stored rows, not process memory: a restart does not reset it."""
    srv = server_factory("--max-unapplied-events-per-job", "1")
    api = Api(srv)
    job = api.submit_ok()
    job_id = job["job_id"]
    api.event_ok(job_id, event_body(api.tenant, job_id, job["submission_id"], "running"))
    api.event_ok(job_id, late_event(api, job, 1))
    api.close()
    srv.restart()
    api = Api(srv, tenant=api.tenant)
    assert_error(api.event(job_id, late_event(api, job, 2)), 409, "event_limit")
    api.close()


def test_bad_flag_value_refuses_to_start(rtgw_bin, tmp_path):
    base = ["serve", "--listen", "127.0.0.1:0", "--jwt-hs256-secret", SECRET,
            "--database-url", "sqlite://" + str(tmp_path / "refused.db")]
    for args, env, needle in (
            (["--max-unapplied-events-per-job", "0"], {}, "max-unapplied-events-per-job"),
            (["--max-unapplied-events-per-job", "1000001"], {}, "max-unapplied-events-per-job"),
            ([], {"RTGW_MAX_UNAPPLIED_EVENTS_PER_JOB": "many"},
             "RTGW_MAX_UNAPPLIED_EVENTS_PER_JOB")):
        r = run_cli(rtgw_bin, *base, *args, env=env, cwd=str(tmp_path))
        assert r.returncode != 0, (args, env, r.stdout, r.stderr)
        assert needle in r.stderr.decode(), (args, env, r.stderr)
