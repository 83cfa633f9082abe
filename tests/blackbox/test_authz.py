"""Authorization inside a tenant (docs/contracts/jwt.md "Authorization" and "Revocation"),
black-box against real `rtgw serve` processes on both backends.

- The matrix: role x route x mode (--authz compat / strict) -> exact status and error code, one
  parametrized test over one table; every refusal is checked to have written nothing (the job's
  detail bytes, i.e. its history and projection_version, and the row count of every table).
- Subject binding on replays, strict mode's own-jobs rule, the actor trail in detail and the
  access log.
- Revocation: at once on the replica that took it (also for a cached token), within 5 s on
  another replica (PostgreSQL), across a restart; bad bodies; `--max-token-lifetime`.
"""
from __future__ import annotations

import json
import time

import pytest

from conftest import (BACKENDS, Api, ServerPool, Unchanged, assert_error, event_body,
                      make_token, submit_body, uid)
from slurm_helpers import heartbeat_body

NODE = "mgmt-node-1"        # the node of every job of the matrix
OTHER_NODE = "mgmt-node-2"
USER = "alice"              # requested_by.user_id of the matrix's jobs, the unscoped user's sub
OTHER_USER = "bob"          # the user a BFF submits for

# role -> the claims of its token (besides tenant_id, iat, exp).
ROLES: dict[str, dict] = {
    "user": {"sub": USER},
    "scope:submit": {"sub": USER, "scope": "runtime:submit"},
    "scope:submit_as": {"sub": USER, "scope": "runtime:submit_as"},
    "scope:read": {"sub": USER, "scope": "runtime:read"},
    "scope:events": {"sub": USER, "scope": "runtime:events"},
    "scope:cancel": {"sub": USER, "scope": "runtime:cancel"},
    "scope:validate": {"sub": USER, "scope": "runtime:validate"},
    "bff": {"sub": "bff", "scope": "runtime:submit runtime:submit_as"},
    "node": {"sub": "agent-1", "node_id": NODE},
    "other_node": {"sub": "agent-2", "node_id": OTHER_NODE},
    "admin": {"sub": "operator", "scope": "runtime:admin"},
    "revoked": {"sub": USER},  # gets a jti, revoked before the call
}

S = "403 scope_denied"
SUBJ = "403 subject_mismatch"
NODEM = "403 node_mismatch"
NODET = "403 node_token_required"
REV = "401 token_revoked"

# route -> role -> expected "status[ code]" in both modes, or (compat, strict). Roles not listed
# get `S` (403 scope_denied) in both modes; "revoked" is 401 token_revoked on every route.
MATRIX: dict[str, dict[str, object]] = {
    "submit": {"user": "202", "scope:submit": "202", "bff": "202"},
    "submit_as": {"user": SUBJ, "scope:submit": SUBJ, "bff": "202"},
    "event": {"user": ("200", S), "scope:events": "200", "node": "200", "other_node": NODEM},
    "job": {"user": "200", "scope:read": "200", "node": "200", "other_node": NODEM,
            "admin": "200"},
    "detail": {"user": "200", "scope:read": "200", "node": "200", "other_node": NODEM,
               "admin": "200"},
    "projection": {"user": "200", "scope:read": "200", "node": "200", "other_node": NODEM,
                   "admin": "200"},
    "cancel": {"user": "202", "scope:cancel": "202", "node": "202", "other_node": NODEM},
    "dead_letters": {"admin": "200"},
    "dead_letter_replay": {"admin": "404 not_found"},  # no such letter: past authorization
    "validate": {"user": ("202", S), "scope:validate": "202"},
    # Reading runs (one, or the list) needs runtime:read, as reading a job; no node tokens.
    "validations": {"user": "200", "scope:read": "200", "admin": "200"},
    "nodes": {"admin": "200"},
    "revoke": {"admin": "200"},
    "heartbeat": {"user": (NODET, S), "scope:events": NODET, "node": "200", "other_node": NODEM},
    "lease": {"user": (NODET, S), "scope:events": NODET, "node": "200", "other_node": NODEM},
}
MODES = ("compat", "strict")


def expected(route: str, role: str, mode: str) -> str:
    if role == "revoked":
        return REV
    want = MATRIX[route].get(role, S)
    return want if isinstance(want, str) else want[MODES.index(mode)]


CASES = [(role, route, mode, expected(route, role, mode))
         for route in MATRIX for role in ROLES for mode in MODES]


# --------------------------------------------------------------------------------------------
# servers: one per mode (module-scoped), with a validator so launches can be accepted
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mode_servers(module_server_factory, tmp_path_factory):
    vdir = tmp_path_factory.mktemp("validators")
    vfile = vdir / "validators.json"
    vfile.write_text(json.dumps({"validators": [
        {"name": "quick", "version": "1", "command": ["/bin/sh", "-c", "exit 3"],
         "timeout_seconds": 5}]}))
    env = {"RTGW_VALIDATORS_FILE": str(vfile), "MEDIA_ROOT": str(vdir / "media"),
           "RTGW_VALIDATOR_POLL_INTERVAL_MS": "200"}
    started = {}

    def get(mode: str):
        if mode not in started:
            started[mode] = module_server_factory("--authz", mode, env=env)
        if not started[mode].running:
            started[mode].start()
        return started[mode]
    return get


def token_for(tenant: str, role: str, **extra) -> str:
    claims = dict(ROLES[role])
    claims.update(extra)
    return make_token(tenant, **claims)


class Tenant:
    """A fresh tenant on one server, with a reader (admin) client for the "nothing written"
    checks and an owner client (USER, submit + read) that submits the jobs."""

    def __init__(self, srv):
        self.srv = srv
        self.tenant = uid("tenant")
        self.admin = Api(srv, self.tenant, token_for(self.tenant, "admin"))
        self.owner = Api(srv, self.tenant, make_token(
            self.tenant, sub=USER, scope="runtime:submit runtime:read runtime:cancel"))
        self.clients: list[Api] = [self.admin, self.owner]

    def client(self, token: str) -> Api:
        c = Api(self.srv, self.tenant, token)
        self.clients.append(c)
        return c

    def role(self, role: str) -> Api:
        """A client with `role`'s token; the revoked role's jti is revoked first."""
        if role != "revoked":
            return self.client(token_for(self.tenant, role))
        jti = uid("jti")
        c = self.client(token_for(self.tenant, role, jti=jti))
        revoke(self.admin, jti)
        return c

    def job(self, node: str = NODE) -> tuple[dict, dict]:
        body = submit_body(self.tenant, management_node_id=node, requested_by={"user_id": USER})
        return body, self.owner.submit_ok(body)

    def close(self) -> None:
        for c in self.clients:
            c.close()


@pytest.fixture
def tenant_on(request):
    made: list[Tenant] = []

    def make(srv) -> Tenant:
        made.append(Tenant(srv))
        return made[-1]
    yield make
    for t in made:
        t.close()


def revoke(admin: Api, jti: str, **body):
    r = admin.post_json("/api/runtime/tokens:revoke", {"jti": jti, **body})
    assert r.status_code == 200, r.text
    return r.json()


def post(c: Api, path: str, body) -> object:
    return c.post_json(path, body)


def call_route(route: str, c: Api, t: Tenant, job: dict, sub: dict, role: str):
    """Sends `route` as client `c`; returns (response, ids of jobs that must not exist)."""
    jid = job["job_id"]
    if route in ("submit", "submit_as"):
        user = OTHER_USER if route == "submit_as" else ROLES[role]["sub"]
        body = submit_body(t.tenant, management_node_id=NODE, requested_by={"user_id": user})
        return c.submit(body), [body["job_id"]]
    if route == "event":
        return c.event(jid, event_body(t.tenant, jid, sub["submission_id"], "running")), []
    if route == "job":
        return c.job(jid), []
    if route == "detail":
        return c.detail(jid), []
    if route == "projection":
        return c.projection(jid), []
    if route == "cancel":
        return c.post_json(f"/api/runtime/jobs/{jid}:cancel", {}), []
    if route == "dead_letters":
        return c.get("/api/runtime/projection/dead-letters"), []
    if route == "dead_letter_replay":
        return c.post_json("/api/runtime/projection/dead-letters:replay", {"id": 987654321}), []
    if route == "validate":
        return c.post_json("/api/runtime/validations:launch",
                           {"validator": "quick", "workspace_id": t.tenant,
                            "input": {"document": {"a": 1}}}), []
    if route == "nodes":
        return c.get("/api/runtime/nodes"), []
    if route == "validations":
        return c.get("/api/runtime/validations?limit=1"), []
    if route == "revoke":
        return c.post_json("/api/runtime/tokens:revoke", {"jti": uid("jti")}), []
    if route == "heartbeat":
        return c.post_json(f"/api/runtime/nodes/{NODE}/heartbeat", heartbeat_body()), []
    if route == "lease":
        return c.post_json(f"/api/runtime/nodes/{NODE}/leases:acquire", {"wait_seconds": 0}), []
    raise AssertionError(route)


@pytest.mark.parametrize("role,route,mode,want", CASES,
                         ids=[f"{m}-{ro}-{r}" for r, ro, m, _ in CASES])
def test_authorization_matrix(mode_servers, tenant_on, role, route, mode, want):
    t = tenant_on(mode_servers(mode))
    body, sub = t.job()
    c = t.role(role)
    status, _, code = want.partition(" ")
    before = Unchanged(t.admin, job_ids=[body["job_id"]]) if code else None
    r, absent = call_route(route, c, t, body, sub, role)
    ctx = f"{role} {route} --authz {mode}"
    if code:
        err = assert_error(r, int(status), code, ctx)
        if code == "scope_denied" and not ROLES[role].get("node_id"):
            assert "runtime:" in err["message"], err  # names the missing scope
        before.absent = absent
        before.check(ctx)
        return
    assert r.status_code == int(status), f"{ctx}: {r.status_code} {r.text}"
    if route in ("submit", "submit_as"):
        assert r.json()["job_id"] == absent[0]
    elif route in ("job", "projection"):
        assert r.json()["job_id"] == body["job_id"]
    elif route == "detail":
        assert r.json()["job_id"] == body["job_id"] and r.json()["submitted_by"] == {"sub": USER}
    elif route == "event":
        assert r.json() == {"ok": True, "idempotent": False}
    elif route == "cancel":
        assert r.json()["job_id"] == body["job_id"] and r.json()["cancel_requested"] is True
    elif route == "lease":
        assert [lease["job_id"] for lease in r.json()["leases"]] == [body["job_id"]]
    elif route == "nodes":
        assert isinstance(r.json()["nodes"], list)
    elif route == "validations":
        assert len(r.json()["runs"]) <= 1, r.json()
    elif route == "revoke":
        assert r.json()["revoked"] is True
    elif route == "validate":
        # The run fails (exit 3) in the background: wait until its job says so, so that no
        # write of this case lands in the next case's "nothing written" snapshot.
        run_id = r.json()["run_id"]
        deadline = time.monotonic() + 20
        while True:
            run = t.admin.get(f"/api/runtime/validations/{run_id}").json()
            if run["status"] == "FAILED" and t.admin.job_ok(run["job_id"])["state"] == "failed":
                break
            assert time.monotonic() < deadline, f"validation run not finished: {run}"
            time.sleep(0.05)


# --------------------------------------------------------------------------------------------
# subject binding, strict mode's own jobs, actor trail
# --------------------------------------------------------------------------------------------
def test_a_replay_sent_for_another_user_is_subject_mismatch(server):
    tenant = uid("tenant")
    api = Api(server, tenant, make_token(tenant, sub=USER))
    try:
        body = submit_body(api.tenant, requested_by={"user_id": USER})
        first = api.submit(body)
        assert first.status_code == 202, first.text
        before = Unchanged(api, job_ids=[body["job_id"]])
        other = dict(body, requested_by={"user_id": OTHER_USER})
        assert_error(api.submit(other), 403, "subject_mismatch")
        before.check("replay for another user")
        again = api.submit(body)  # the same replay for the same user is still a replay
        assert again.status_code in (200, 202) and again.json() == first.json(), again.text
    finally:
        api.close()


def test_strict_mode_unscoped_users_read_and_cancel_only_their_own_jobs(mode_servers,
                                                                       tenant_on):
    t = tenant_on(mode_servers("strict"))
    alice = t.client(make_token(t.tenant, sub=USER))
    bob = t.client(make_token(t.tenant, sub=OTHER_USER))
    body = submit_body(t.tenant, requested_by={"user_id": USER})
    alice.submit_ok(body)
    jid = body["job_id"]
    before = Unchanged(t.admin, job_ids=[jid])
    for call in (lambda c: c.job(jid), lambda c: c.detail(jid), lambda c: c.projection(jid),
                 lambda c: c.post_json(f"/api/runtime/jobs/{jid}:cancel", {})):
        assert_error(call(bob), 403, "subject_mismatch")
    before.check("bob on alice's job")
    assert alice.job_ok(jid)["job_id"] == jid
    assert alice.detail_ok(jid)["job_id"] == jid
    assert alice.projection_ok(jid)["job_id"] == jid
    r = alice.post_json(f"/api/runtime/jobs/{jid}:cancel", {})
    assert r.status_code == 202 and r.json()["state"] == "cancelled", r.text
    # bob submits for himself and reads his own job.
    mine = submit_body(t.tenant, requested_by={"user_id": OTHER_USER})
    bob.submit_ok(mine)
    assert bob.job_ok(mine["job_id"])["requested_by"] == {"user_id": OTHER_USER}


def test_detail_and_access_log_carry_the_actor(server):
    tenant = uid("tenant")
    user = Api(server, tenant, make_token(tenant, sub=USER))
    node = Api(server, tenant, make_token(tenant, sub="agent-1", node_id=NODE))
    try:
        body, sub = user.new_job(requested_by={"user_id": USER})
        jid = body["job_id"]
        user.event_ok(jid, event_body(tenant, jid, sub["submission_id"], "queued"))
        r = node.event(jid, event_body(tenant, jid, sub["submission_id"], "running"))
        assert r.status_code == 200, r.text
        node_trace = r.headers["x-trace-id"]
        d = user.detail_ok(jid)
        assert d["submitted_by"] == {"sub": USER}
        assert [(e["state"], e["actor"]) for e in d["events"]] == [
            ("queued", {"sub": USER}), ("running", {"sub": "agent-1", "node_id": NODE})]
        # The gateway's own cancel event (a job no node leased yet) names the canceller.
        body2, _ = user.new_job(requested_by={"user_id": USER})
        r = user.post_json(f"/api/runtime/jobs/{body2['job_id']}:cancel", {})
        assert r.status_code == 202, r.text
        user_trace = r.headers["x-trace-id"]
        events = user.detail_ok(body2["job_id"])["events"]
        assert [(e["state"], e["actor"]) for e in events] == [("cancelled", {"sub": USER})]
        # The access log: sub always, node_id for node tokens.
        rec = server.wait_for_log(lambda x: x.get("msg") == "request"
                                  and x.get("trace_id") == node_trace)
        assert rec["sub"] == "agent-1" and rec["node_id"] == NODE, rec
        rec = server.wait_for_log(lambda x: x.get("msg") == "request"
                                  and x.get("trace_id") == user_trace)
        assert rec["sub"] == USER and not rec.get("node_id"), rec
    finally:
        user.close()
        node.close()


# --------------------------------------------------------------------------------------------
# revocation
# --------------------------------------------------------------------------------------------
def test_revocation_refuses_the_token_at_once_even_when_cached(server):
    tenant = uid("tenant")
    jti = uid("jti")
    admin = Api(server, tenant, make_token(tenant, sub="operator", scope="runtime:admin"))
    victim = Api(server, tenant, make_token(tenant, sub=USER, jti=jti))
    sibling = Api(server, tenant, make_token(tenant, sub=USER, jti=uid("jti")))
    elsewhere = Api(server, uid("tenant"))
    elsewhere.token = make_token(elsewhere.tenant, sub=USER, jti=jti)  # same jti, other tenant
    try:
        body, _ = victim.new_job(requested_by={"user_id": USER})
        assert victim.job(body["job_id"]).status_code == 200  # cached by the verifier now
        out = revoke(admin, jti)
        assert out["jti"] == jti and out["revoked"] is True and out["expires_at"]
        assert_error(victim.job(body["job_id"]), 401, "token_revoked")
        assert_error(victim.submit(submit_body(tenant, requested_by={"user_id": USER})), 401,
                     "token_revoked")
        assert sibling.job(body["job_id"]).status_code == 200
        assert elsewhere.submit(submit_body(elsewhere.tenant,
                                            requested_by={"user_id": USER})).status_code == 202
        # Idempotent; an explicit expiry is accepted too.
        assert revoke(admin, jti)["revoked"] is True
        later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7200))
        assert revoke(admin, jti, expires_at=later)["revoked"] is True
        assert_error(victim.job(body["job_id"]), 401, "token_revoked")
    finally:
        for c in (admin, victim, sibling, elsewhere):
            c.close()


def test_revoke_refuses_bad_bodies_and_non_admin_tokens(server):
    tenant = uid("tenant")
    admin = Api(server, tenant, make_token(tenant, sub="operator", scope="runtime:admin"))
    user = Api(server, tenant, make_token(tenant, sub=USER))
    node = Api(server, tenant, make_token(tenant, sub="agent-1", node_id=NODE))
    bff = Api(server, tenant, make_token(tenant, sub="bff",
                                         scope="runtime:submit runtime:submit_as runtime:read"))
    try:
        before = Unchanged(admin)
        past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
        for bad in ({}, {"jti": ""}, {"jti": 5}, {"jti": "x" * 257}, {"jti": "a\u0001b"},
                    {"jti": "x", "other": 1}, {"jti": "x", "expires_at": "tomorrow"},
                    {"jti": "x", "expires_at": past}, [], '"jti"'):
            assert_error(admin.post_json("/api/runtime/tokens:revoke", bad), 400,
                         "invalid_argument", repr(bad))
        assert_error(admin.post_json("/api/runtime/tokens:revoke", b"{not json"), 400,
                     {"invalid_argument", "invalid_json"})
        for c in (user, node, bff):
            assert_error(c.post_json("/api/runtime/tokens:revoke", {"jti": "x"}), 403,
                         "scope_denied")
        before.check("refused revocations")
    finally:
        for c in (admin, user, node, bff):
            c.close()


def test_a_revocation_survives_a_restart(server_factory):
    srv = server_factory()
    tenant = uid("tenant")
    jti = uid("jti")
    admin = Api(srv, tenant, make_token(tenant, sub="operator", scope="runtime:admin",
                                        exp_in=3600))
    victim_token = make_token(tenant, sub=USER, jti=jti, exp_in=3600)
    try:
        revoke(admin, jti)
        srv.stop()
        srv.start()
        with srv.client() as c:
            r = c.get("/api/runtime/jobs/" + uid("job"),
                      headers={"authorization": "Bearer " + victim_token})
            assert_error(r, 401, "token_revoked")
    finally:
        admin.close()


def test_max_token_lifetime_refuses_longer_tokens(server_factory):
    srv = server_factory("--max-token-lifetime", "1h")
    tenant = uid("tenant")
    api = Api(srv, tenant, make_token(tenant, sub=USER, exp_in=7200))
    try:
        err = assert_error(api.job(uid("job")), 401, "unauthenticated")
        assert "lifetime" in err["message"], err
        api.token = make_token(tenant, sub=USER, exp_in=1800)
        assert_error(api.job(uid("job")), 404, "not_found")
    finally:
        api.close()


@pytest.mark.skipif("postgresql" not in BACKENDS,
                    reason="RTGW_TEST_BACKENDS does not include postgresql")
def test_a_revocation_reaches_another_replica_within_5s(rtgw_bin, tmp_path):
    pool = ServerPool(rtgw_bin, tmp_path, "postgresql")
    try:
        a = pool()
        b = pool(pg_schema=a.pg_schema)
        tenant = uid("tenant")
        jti = uid("jti")
        admin = Api(a, tenant, make_token(tenant, sub="operator", scope="runtime:admin"))
        victim = Api(b, tenant, make_token(tenant, sub=USER, jti=jti))
        body, _ = victim.new_job(requested_by={"user_id": USER})
        assert victim.job(body["job_id"]).status_code == 200  # cached on B
        revoke(admin, jti)
        t0 = time.monotonic()
        while True:
            r = victim.job(body["job_id"])
            if r.status_code == 401:
                break
            assert r.status_code == 200, r.text
            assert time.monotonic() - t0 < 5.0, "B still accepts the revoked token after 5 s"
            time.sleep(0.02)
        took = time.monotonic() - t0
        assert_error(r, 401, "token_revoked")
        print(f"revocation reached replica B after {took:.3f}s")
        assert took < 5.0
        admin.close()
        victim.close()
    finally:
        pool.close()
