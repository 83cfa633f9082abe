"""Per-tenant rate limits and the limits file (issue 18, docs/contracts/limits.md "Quotas and rate
limits"): a bad file refuses to start; a tenant's token bucket refuses with 429 rate_limited,
Retry-After and the RateLimit fields once its burst is used, refills, and leaves other tenants
alone; health, metrics and the OpenAPI document are never limited; SIGHUP swaps the limits (a bad
file keeps them). The rate limit is per process, so one SQLite-backed server is enough."""
from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import httpx
import pytest

from conftest import (SECRET, Api, assert_error, make_token, metric_value, parse_metrics, run_cli,
                      submit_body, uid)

# --------------------------------------------------------------------------------------------
# RFC 9651 structured fields: the grammar of an sf-list of items with parameters, as an exact
# regex (Debian packages no Python structured-field parser), and a reader of its members.
# --------------------------------------------------------------------------------------------
_KEY = r"[a-z*][a-z0-9_\-.*]*"
_INTEGER = r"-?[0-9]{1,15}"
_DECIMAL = r"-?[0-9]{1,12}\.[0-9]{1,3}"
_STRING = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"'
_TOKEN = r"[A-Za-z*][!#$%&'*+\-.^_`|~:/0-9A-Za-z]*"
_BYTES = r":[A-Za-z0-9+/=]*:"
_BOOLEAN = r"\?[01]"
_BARE = f"(?:{_DECIMAL}|{_INTEGER}|{_STRING}|{_TOKEN}|{_BYTES}|{_BOOLEAN})"
_PARAMS = f"(?:;[ ]*{_KEY}(?:={_BARE})?)*"
_ITEM = f"{_BARE}{_PARAMS}"
SF_LIST_RE = re.compile(f"^{_ITEM}(?:[ \\t]*,[ \\t]*{_ITEM})*$")
_MEMBER_RE = re.compile(f"({_BARE})({_PARAMS})")
_PARAM_RE = re.compile(f";[ ]*({_KEY})(?:=({_BARE}))?")


def sf_list(value: str) -> list[tuple[str, dict]]:
    """The members of a structured-field list: (bare item, {parameter: value}); fails on text
    that is not one."""
    assert SF_LIST_RE.match(value), f"not a structured-field list: {value!r}"
    out = []
    for m in _MEMBER_RE.finditer(value):
        params = {k: v for k, v in _PARAM_RE.findall(m.group(2))}
        out.append((m.group(1), params))
    return out


def rate_fields(r: httpx.Response) -> tuple[dict, dict]:
    """RateLimit-Policy and RateLimit of `r`, checked against draft-ietf-httpapi-ratelimit-headers
    (-10): one policy named by a String, q a non-negative Integer and w a positive one; one
    service limit for the same policy with r and t non-negative Integers. Returns their
    parameters as ints."""
    policy = sf_list(r.headers["ratelimit-policy"])
    limit = sf_list(r.headers["ratelimit"])
    assert len(policy) == 1 and len(limit) == 1, (policy, limit)
    (pname, pparams), (lname, lparams) = policy[0], limit[0]
    assert re.fullmatch(_STRING, pname) and pname == lname == '"tenant"', (pname, lname)
    assert set(pparams) == {"q", "w"} and set(lparams) == {"r", "t"}, (pparams, lparams)
    for v in (*pparams.values(), *lparams.values()):
        assert re.fullmatch(r"[0-9]{1,15}", v), v
    assert int(pparams["w"]) >= 1
    return ({k: int(v) for k, v in pparams.items()}, {k: int(v) for k, v in lparams.items()})


def no_rate_fields(r: httpx.Response) -> bool:
    return "ratelimit" not in r.headers and "ratelimit-policy" not in r.headers


def write_limits(path: Path, doc) -> Path:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def retry_after(r: httpx.Response) -> int:
    value = r.headers.get("retry-after", "")
    assert re.fullmatch(r"[0-9]+", value), f"Retry-After {value!r}"
    assert int(value) >= 1
    return int(value)


# ============================================================================================
# the file
# ============================================================================================
@pytest.mark.parametrize("content, needle", [
    ("{not json", "not valid JSON"),
    ({"default": {"requests_per_second": 5}, "tenant": {}}, "tenant: unknown key"),
    ({"tenants": {"t1": {"max_jobs": 3}}}, "tenants.t1.max_jobs: unknown field"),
    ({"tenants": {"t1": {"burst": 0, "requests_per_second": 1}}},
     "tenants.t1.burst: must be an integer from 1"),
    ({"default": {"max_active_jobs": 2.5}}, "default.max_active_jobs: must be an integer"),
    ({"default": {"requests_per_second": -1}}, "default.requests_per_second: must be a number"),
    ({"tenants": {"t1": {"burst": 4}}}, "tenants.t1.burst: is set but no requests_per_second"),
    (None, "cannot read the file"),
])
def test_a_bad_limits_file_refuses_to_start_naming_the_path_and_field(rtgw_bin, tmp_path, content,
                                                                      needle):
    path = tmp_path / "limits.json"
    if content is not None:
        write_limits(path, content)
    db = tmp_path / "x.db"
    r = run_cli(rtgw_bin, "serve", "--listen", "127.0.0.1:0", "--jwt-hs256-secret", SECRET,
                "--database-url", "sqlite://" + str(db), "--limits-file", str(path))
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert f"rtgw serve: --limits-file: {path}: " in err, err
    assert needle in err, err
    assert not db.exists()  # refused before the store was touched


def test_the_env_twin_names_itself(rtgw_bin, tmp_path):
    path = write_limits(tmp_path / "limits.json", {"default": {"requests_per_second": "many"}})
    r = run_cli(rtgw_bin, "serve", "--listen", "127.0.0.1:0", "--jwt-hs256-secret", SECRET,
                "--database-url", "sqlite://" + str(tmp_path / "x.db"),
                env={"RTGW_LIMITS_FILE": str(path)})
    assert r.returncode == 2
    assert (f"RTGW_LIMITS_FILE: {path}: default.requests_per_second: must be a number"
            in r.stderr.decode()), r.stderr.decode()
    assert "RTGW_LIMITS_FILE" in run_cli(rtgw_bin, "serve", "--help").stdout.decode()


# ============================================================================================
# the token bucket
# ============================================================================================
SLOW = {"requests_per_second": 0.5, "burst": 3}  # 3 at once, then one every 2 s


@pytest.fixture
def limited(server_factory, tmp_path):
    """A server whose tenant "slow" has SLOW, "free" has no rate limit, the rest the default."""
    path = write_limits(tmp_path / "limits.json", {
        "default": {"requests_per_second": 100, "burst": 200},
        "tenants": {"slow": SLOW, "free": {"requests_per_second": None, "burst": None}}})
    srv = server_factory("--limits-file", str(path))
    srv.limits_path = path
    return srv


@pytest.fixture
def slow(limited):
    """Tenant "slow" on the `limited` server."""
    a = Api(limited, tenant="slow")
    yield a
    a.close()


def use_up(api: Api) -> None:
    """Requests until the tenant is refused (its burst is 3)."""
    for _ in range(10):
        if api.job("x").status_code == 429:
            return
    raise AssertionError("never refused")


def test_burst_then_429_with_retry_after_and_the_ratelimit_fields(limited, slow):
    # Every request the limit lets through takes a token, whatever a later check says: the
    # 404 and the 400 count like the 202.
    answers = [slow.job("no-such-job"), slow.submit({"not": "a submit"}),
               slow.submit(submit_body("slow"))]
    assert [r.status_code for r in answers] == [404, 400, 202]
    for left, r in zip((2, 1, 0), answers):
        policy, limit = rate_fields(r)
        assert policy == {"q": 3, "w": 6}  # ceil(3 / 0.5)
        assert limit["r"] == left, (left, r.headers["ratelimit"])
        # t: until full while tokens remain (at most 2 s per missing token), else until the
        # next token.
        assert 1 <= limit["t"] <= (2 * (3 - left) if left else 2), r.headers["ratelimit"]
    refused = slow.job("no-such-job")
    assert_error(refused, 429, "rate_limited")
    wait = retry_after(refused)
    assert wait <= 2
    policy, limit = rate_fields(refused)
    assert policy == {"q": 3, "w": 6} and limit["r"] == 0
    assert limit["t"] == wait  # Retry-After is not earlier than the reset (draft section 6)
    # A refusal takes nothing and changes nothing.
    again = slow.submit(submit_body("slow"))
    assert_error(again, 429, "rate_limited")
    assert slow.list_jobs().status_code == 429


def test_the_bucket_refills_after_retry_after(limited, slow):
    for _ in range(3):
        assert slow.job("x").status_code == 404
    refused = slow.job("x")
    assert refused.status_code == 429
    time.sleep(retry_after(refused) + 0.05)
    ok = slow.job("x")
    assert ok.status_code == 404, ok.text  # let through: one token back
    assert rate_fields(ok)[1]["r"] == 0
    assert slow.job("x").status_code == 429  # and only one


def test_other_tenants_are_not_affected(limited, slow):
    other, free = Api(limited, tenant=uid("t")), Api(limited, tenant="free")
    try:
        use_up(slow)
        r = other.submit(submit_body(other.tenant))
        assert r.status_code == 202, r.text
        policy, limit = rate_fields(r)
        assert policy == {"q": 200, "w": 2} and limit["r"] == 199  # the default's bucket, its own
        # A tenant whose entry sets requests_per_second to null is not limited: no fields.
        for _ in range(10):
            r = free.job("x")
            assert r.status_code == 404 and no_rate_fields(r), r.headers
        assert slow.job("x").status_code == 429
    finally:
        other.close()
        free.close()


def test_health_metrics_openapi_and_unauthenticated_requests_are_never_limited(limited, slow):
    use_up(slow)
    with limited.client() as c:
        bearer = {"authorization": "Bearer " + slow.token}
        for path in ("/api/health", "/api/health?deep=1", "/metrics", "/api/openapi.json"):
            for _ in range(5):
                r = c.get(path, headers=bearer)
                assert r.status_code == 200, (path, r.status_code, r.text[:200])
                assert no_rate_fields(r), (path, r.headers)
        # Before authentication nothing is counted or limited: a bad token is 401, without
        # the fields, also for the tenant that is over its limit.
        bad = make_token("slow", secret="another-secret-0123456789abcdef-xyz")
        for _ in range(5):
            r = c.get("/api/runtime/jobs/x", headers={"authorization": "Bearer " + bad})
            assert_error(r, 401, "unauthenticated")
            assert no_rate_fields(r)
        samples = parse_metrics(c.get("/metrics").text)
    assert metric_value(samples, "rtgw_limit_refusals_total", reason="rate_limited") >= 1
    assert not [l for n, l, _ in samples if n == "rtgw_limit_refusals_total" and "tenant" in l]


def test_an_idempotent_replay_still_takes_a_token(limited, slow):
    body = submit_body("slow")
    first = slow.submit(body)
    assert first.status_code == 202, first.text
    replays = [slow.submit(body), slow.submit(body)]
    for r in replays:
        assert r.status_code == 202 and r.content == first.content  # the original bytes
    assert [rate_fields(r)[1]["r"] for r in (first, *replays)] == [2, 1, 0]
    assert_error(slow.submit(body), 429, "rate_limited")


# ============================================================================================
# SIGHUP
# ============================================================================================
def test_sighup_swaps_the_limits_and_a_bad_file_keeps_them(limited, slow):
    use_up(slow)
    write_limits(limited.limits_path,
                 {"tenants": {"slow": {"requests_per_second": 50, "burst": 40}}})
    limited.proc.send_signal(signal.SIGHUP)
    limited.wait_for_log(lambda e: e.get("msg") == "limits file reloaded"
                         and e.get("limits_file") == str(limited.limits_path))
    # The new policy applies from the next request: the bucket refills at 50/s up to 40.
    time.sleep(1.0)
    r = slow.job("x")
    assert r.status_code == 404, r.text
    policy, limit = rate_fields(r)
    assert policy == {"q": 40, "w": 1} and limit["r"] >= 30, r.headers
    # Tenants without an entry now have no default: not limited.
    other = Api(limited, tenant=uid("t"))
    assert no_rate_fields(other.job("x"))
    other.close()

    write_limits(limited.limits_path, {"tenants": {"slow": {"burst": "lots"}}})
    limited.proc.send_signal(signal.SIGHUP)
    rec = limited.wait_for_log(
        lambda e: e.get("msg") == "limits file not reloaded; the previous limits stay in force")
    assert rec["limits_file"] == str(limited.limits_path)
    assert rec["error"].startswith(f"{limited.limits_path}: tenants.slow.burst: must be"), rec
    assert limited.running
    r = slow.job("x")
    assert r.status_code == 404
    assert rate_fields(r)[0] == {"q": 40, "w": 1}  # still the last good file's
