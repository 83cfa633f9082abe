"""Checks rtgw's HTTP responses against docs/openapi.json.

conftest.py installs one `ResponseChecker` for the whole session and routes every response an
httpx client of the suite receives from an rtgw process through `check()`, so the document and the
server's behaviour cannot drift apart unnoticed. The rules, for a response to METHOD PATH:

  status     the operation that PATH and METHOD match declares the status (or a `4XX`-style range,
             or `default`). A request the document does not declare (unknown path, a method the
             path does not have, /api/zpe/*, or an operation whose `x-rtgw-served-by` does not
             list the process's APP_ROLE) must get an error status (4xx/5xx) with the
             document's default error response, `components.responses.DefaultError`.
  content    the Content-Type's media type is one of the declared response's media types; a
             declared response without content has an empty body.
  schema     the body validates against the media type's schema (OpenAPI 3.1 schemas are JSON
             Schema 2020-12; `$ref`s resolve inside the document; `format: date-time` and `uuid`
             are checked). JSON media types are parsed first; text ones are checked as strings.
  security   the request satisfied one alternative of the operation's `security` (an http bearer
             scheme: an `Authorization: Bearer <token>` header; an apiKey header scheme: that
             header; `{}`: nothing), or else the response is a declared 401.

HEAD is checked as the GET it mirrors, without a body. Pure: no pytest, no I/O but reading the
document. Safe for concurrent use (tests send from threads).
"""
from __future__ import annotations

import json
import re
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker, RefResolver

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# RFC 3339 section 5.6 date-time (a stricter shape than ISO 8601).
_DATE_TIME_RE = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$")


def _format_checker() -> FormatChecker:
    # Our own checks: jsonschema's date-time needs a package this box does not have.
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def _date_time(value) -> bool:
        return not isinstance(value, str) or bool(_DATE_TIME_RE.match(value))

    @checker.checks("uuid", raises=ValueError)
    def _uuid(value) -> bool:
        if not isinstance(value, str):
            return True
        return str(uuid.UUID(value)) == value.lower() and len(value) == 36

    return checker


@dataclass
class Observed:
    """One response to check, independent of the HTTP client library."""
    method: str
    raw_path: str                 # as sent, without the query; percent-escapes kept
    role: str                     # APP_ROLE of the answering process: all, web or worker
    request_headers: dict         # lower-case names
    status: int
    response_headers: dict        # lower-case names
    body: bytes | None            # None when not read (a streamed response)


@dataclass
class Mismatch:
    method: str
    path: str
    status: int
    rule: str                     # status | content-type | schema | security
    detail: str
    operation: str                # "POST /api/runtime/jobs:submit" or "undeclared"

    def __str__(self) -> str:
        return (f"{self.method} {self.path} -> {self.status}: [{self.rule}] {self.detail} "
                f"(document: {self.operation})")


@dataclass
class _Route:
    template: str
    regex: re.Pattern
    literal_chars: int
    item: dict = field(repr=False)


class ResponseChecker:
    def __init__(self, doc_path: Path):
        self.doc_path = Path(doc_path)
        self.doc = json.loads(self.doc_path.read_text())
        self._resolver = RefResolver.from_schema(self.doc)
        self._formats = _format_checker()
        self._validators: dict[str, Draft202012Validator] = {}
        self._routes = [self._compile(t, item) for t, item in self.doc.get("paths", {}).items()]
        self._lock = threading.Lock()
        self.checked = 0
        self.seen: Counter = Counter()      # "METHOD template status" -> count
        self.mismatches: list[Mismatch] = []

    # -- document ---------------------------------------------------------------------------------
    @staticmethod
    def _compile(template: str, item: dict) -> _Route:
        # A parameter is one path segment, or the part of one before a ":verb" literal, as
        # src/api/routes.cpp matches them.
        parts = re.split(r"(\{[^}]+\})", template)
        pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        literal = sum(len(p) for p in parts if not p.startswith("{"))
        return _Route(template, re.compile("^" + pattern + "$"), literal, item)

    def _resolve(self, node: dict) -> dict:
        while isinstance(node, dict) and "$ref" in node:
            _, node = self._resolver.resolve(node["$ref"])
        return node

    def operation(self, method: str, raw_path: str,
                  role: str = "all") -> tuple[str, dict | None]:
        """(name, operation object) for METHOD PATH on a process of `role`; (reason, None)
        when the document does not declare it there."""
        method = method.lower()
        lookup = "get" if method == "head" else method
        matching = [r for r in self._routes if r.regex.match(raw_path)]
        with_method = [r for r in matching if lookup in r.item]
        if with_method:
            best = max(with_method, key=lambda r: r.literal_chars)
            op = best.item[lookup]
            if role not in op.get("x-rtgw-served-by", [role]):
                return f"not served by APP_ROLE={role}", None
            return f"{method.upper()} {best.template}", op
        if matching:
            return "undeclared method", None
        return "undeclared path", None

    def _validator(self, key: str, schema: dict) -> Draft202012Validator:
        v = self._validators.get(key)
        if v is None:
            v = Draft202012Validator(schema, resolver=self._resolver,
                                     format_checker=self._formats)
            self._validators[key] = v
        return v

    # -- rules ------------------------------------------------------------------------------------
    @staticmethod
    def _declared_response(responses: dict, status: int) -> tuple[str, dict] | None:
        for key in (str(status), f"{status // 100}XX", f"{status // 100}xx", "default"):
            if key in responses:
                return key, responses[key]
        return None

    def _security_ok(self, op: dict, headers: dict) -> tuple[bool, str]:
        requirements = op.get("security", self.doc.get("security", [{}]))
        if not requirements:
            return True, ""
        schemes = self.doc.get("components", {}).get("securitySchemes", {})
        wanted = []
        for alternative in requirements:
            missing = [name for name in alternative if not self._scheme_ok(schemes.get(name), headers)]
            if not missing:
                return True, ""
            wanted.append("+".join(alternative) or "{}")
        return False, "request satisfied none of " + " | ".join(wanted)

    @staticmethod
    def _scheme_ok(scheme: dict | None, headers: dict) -> bool:
        if scheme is None:
            return False
        if scheme.get("type") == "http":
            auth = headers.get("authorization", "")
            want = scheme.get("scheme", "").lower() + " "
            return auth[:len(want)].lower() == want and bool(auth[len(want):].strip())
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            return bool(headers.get(scheme.get("name", "").lower()))
        return False

    @staticmethod
    def _media_type(content_type: str) -> str:
        return content_type.split(";")[0].strip().lower()

    @staticmethod
    def _media_matches(declared: str, actual: str) -> bool:
        declared = declared.lower()
        if declared in ("*/*", actual):
            return True
        return declared.endswith("/*") and actual.startswith(declared[:-1])

    def _check_body(self, key: str, response: dict, obs: Observed, head: bool) -> list[tuple[str, str]]:
        """(rule, detail) problems of the content type and body against a declared response."""
        content = response.get("content")
        ctype = obs.response_headers.get("content-type", "")
        actual = self._media_type(ctype)
        if not content:
            if obs.body and not head:
                return [("content-type", f"response declares no content but has a {ctype!r} "
                                         f"body of {len(obs.body)} bytes")]
            return []
        media = next((m for m in content if self._media_matches(m, actual)), None)
        if media is None:
            return [("content-type", f"Content-Type {ctype!r} is not one of the declared "
                                     f"{sorted(content)}")]
        schema = content[media].get("schema")
        if schema is None or head or obs.body is None:
            return []
        if actual == "application/json" or actual.endswith("+json"):
            try:
                instance = json.loads(obs.body)
            except ValueError as e:
                return [("schema", f"body is not JSON ({e}): {obs.body[:200]!r}")]
        elif actual.startswith("text/"):
            try:
                instance = obs.body.decode("utf-8")
            except UnicodeDecodeError as e:
                return [("schema", f"text body is not UTF-8: {e}")]
        else:
            return []
        errors = sorted(self._validator(f"{key} {media}", schema).iter_errors(instance),
                        key=lambda e: list(e.absolute_path))
        out = []
        for e in errors[:3]:
            where = "/" + "/".join(str(p) for p in e.absolute_path)
            schema_at = "/".join(str(p) for p in e.absolute_schema_path)
            out.append(("schema", f"body{where if where != '/' else ''}: {e.message[:300]} "
                                  f"(schema path {schema_at}); body: {obs.body[:300]!r}"))
        return out

    def check(self, obs: Observed) -> list[Mismatch]:
        """Checks one response; returns (and records) its mismatches."""
        head = obs.method.upper() == "HEAD"
        name, op = self.operation(obs.method, obs.raw_path, obs.role)
        problems: list[tuple[str, str]] = []
        if op is None:
            default = self._resolve(self.doc.get("components", {}).get("responses", {})
                                    .get("DefaultError", {}))
            seen_key = f"{obs.method.upper()} ({name}) {obs.status}"
            if not default:
                problems.append(("status", "the document declares no "
                                           "components.responses.DefaultError"))
            elif obs.status < 400:
                problems.append(("status", f"{name}: only an error status (4xx/5xx) with the "
                                           f"default error response may answer it"))
            else:
                problems += self._check_body("DefaultError", default, obs, head)
        else:
            seen_key = f"{name} {obs.status}"
            responses = op.get("responses", {})
            declared = self._declared_response(responses, obs.status)
            if declared is None:
                problems.append(("status", f"status {obs.status} is not declared (declared: "
                                           f"{', '.join(sorted(responses))})"))
            else:
                key, response = declared
                problems += self._check_body(f"{name} {key}", self._resolve(response), obs, head)
            ok, why = self._security_ok(op, obs.request_headers)
            if not ok and not (obs.status == 401 and "401" in responses):
                problems.append(("security", f"{why}, yet the answer is {obs.status}, "
                                             f"not the documented 401"))
        found = [Mismatch(obs.method.upper(), obs.raw_path, obs.status, rule, detail, name)
                 for rule, detail in problems]
        with self._lock:
            self.checked += 1
            self.seen[seen_key] += 1
            self.mismatches += found
        return found

    # -- report -----------------------------------------------------------------------------------
    def unexercised(self) -> list[str]:
        """Declared "METHOD template status" triples no checked response had."""
        seen = set(self.seen)
        out = []
        for route in self._routes:
            for method in HTTP_METHODS:
                op = route.item.get(method)
                if not isinstance(op, dict):
                    continue
                for status in op.get("responses", {}):
                    key = f"{method.upper()} {route.template} {status}"
                    if key not in seen:
                        out.append(key)
        return out
