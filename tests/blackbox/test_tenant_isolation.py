"""Gate 5: tenant isolation across every read and the events endpoint."""
from __future__ import annotations

import pytest

from conftest import Api, Unchanged, assert_error, event_body, submit_body, uid


@pytest.mark.parametrize("what", ["", "/detail", "/projection"])
def test_other_tenant_read_is_404(api: Api, api_b: Api, what):
    body, sub = api.new_job()
    api.event_ok(body["job_id"], event_body(api.tenant, body["job_id"], sub["submission_id"],
                                            "running"))
    r = api_b.get(f"/api/runtime/jobs/{body['job_id']}{what}")
    err = assert_error(r, 404, "not_found")
    # indistinguishable from a job that does not exist at all
    r2 = api_b.get(f"/api/runtime/jobs/{uid('never')}{what}")
    err2 = assert_error(r2, 404, "not_found")
    never_id = r2.url.path.split("/")[4]
    assert err["message"].replace(body["job_id"], "<id>") == \
        err2["message"].replace(never_id, "<id>"), (err, err2)
    assert sub["submission_id"] not in r.text and api.tenant not in r.text


def test_other_tenant_read_without_tenant_header(server, api: Api):
    body, sub = api.new_job()
    b = Api(server, send_tenant_header=False)
    try:
        for what in ("", "/detail", "/projection"):
            r = b.get(f"/api/runtime/jobs/{body['job_id']}{what}")
            assert_error(r, 404, "not_found", what)
            assert sub["submission_id"] not in r.text
    finally:
        b.close()


def test_other_tenant_cannot_post_events(api: Api, api_b: Api):
    body, sub = api.new_job()
    jid, sid = body["job_id"], sub["submission_id"]
    snap = Unchanged(api, [jid])
    # B, with B's own tenant id and A's (leaked) submission id
    r = api_b.event(jid, event_body(api_b.tenant, jid, sid, "completed",
                                    result_ref={"output_uri": "s3://evil"}))
    assert_error(r, 404, "not_found")
    snap.check()
    assert api.job_ok(jid)["state"] == "submitted"
    assert api.projection_ok(jid)["projection_version"] == 1


def test_same_job_id_in_two_tenants_is_independent(api: Api, api_b: Api):
    job_id = uid("shared-job")
    key = uid("shared-key")
    a_sub = api.submit_ok(submit_body(api.tenant, job_id=job_id, key=key))
    # same job id AND same idempotency key in another tenant: a different job
    b_body = submit_body(api_b.tenant, job_id=job_id, key=key,
                         resource_shape={"cpu": 16, "memory_mib": 1024, "walltime_seconds": 60})
    b_sub = api_b.submit_ok(b_body)
    assert a_sub["submission_id"] != b_sub["submission_id"]

    a_job, b_job = api.job_ok(job_id), api_b.job_ok(job_id)
    assert a_job["tenant_id"] == api.tenant and b_job["tenant_id"] == api_b.tenant
    assert a_job["submission_id"] == a_sub["submission_id"]
    assert b_job["submission_id"] == b_sub["submission_id"]
    assert b_job["resource_shape"]["cpu"] == 16 and a_job["resource_shape"]["cpu"] == 1

    # the same event id in both tenants: independent idempotency (key is tenant, job, event)
    evt = uid("evt")
    api.event_ok(job_id, event_body(api.tenant, job_id, a_sub["submission_id"], "running",
                                    event_id=evt))
    api_b.event_ok(job_id, event_body(api_b.tenant, job_id, b_sub["submission_id"], "failed",
                                      event_id=evt, error={"code": "X", "message": "boom"}))
    assert api.job_ok(job_id)["state"] == "running"
    assert api_b.job_ok(job_id)["state"] == "failed"
    assert api.projection_ok(job_id)["status"] == "running"
    assert api_b.projection_ok(job_id)["status"] == "failed"
    a_events = api.detail_ok(job_id)["events"]
    b_events = api_b.detail_ok(job_id)["events"]
    assert [e["state"] for e in a_events] == ["running"]
    assert [e["state"] for e in b_events] == ["failed"]

    # a submission id of tenant A is a mismatch on B's same-named job
    r = api_b.event(job_id, event_body(api_b.tenant, job_id, a_sub["submission_id"], "completed"))
    assert_error(r, 409, "submission_mismatch")


def test_replay_of_other_tenants_key_does_not_leak(api: Api, api_b: Api):
    """Tenant B sending A's exact key must not receive A's stored response."""
    key = uid("key")
    a_body = submit_body(api.tenant, key=key)
    a_sub = api.submit_ok(a_body)
    b_body = submit_body(api_b.tenant, job_id=uid("job"), key=key)
    r = api_b.submit(b_body)
    assert r.status_code == 202, r.text
    assert r.json()["submission_id"] != a_sub["submission_id"]
    assert r.json()["job_id"] == b_body["job_id"]
    assert api_b.job(a_body["job_id"]).status_code == 404


def test_token_tenant_is_the_scope_not_the_header(server, api: Api):
    """A caller cannot reach another tenant's job by sending that tenant's id in headers or
    body: a mismatch with the token is 403, and nothing of A's is revealed."""
    body, sub = api.new_job()
    b = Api(server)
    try:
        r = b.job(body["job_id"], headers={"x-tenant-id": api.tenant})
        assert_error(r, 403, "tenant_mismatch")
        assert sub["submission_id"] not in r.text
        r = b.event(body["job_id"], event_body(api.tenant, body["job_id"], sub["submission_id"],
                                               "running"), headers={"x-tenant-id": api.tenant})
        assert_error(r, 403, "tenant_mismatch")
        r = b.event(body["job_id"], event_body(api.tenant, body["job_id"], sub["submission_id"],
                                               "running"))
        assert_error(r, 403, "tenant_mismatch")
        assert api.job_ok(body["job_id"])["state"] == "submitted"
    finally:
        b.close()
