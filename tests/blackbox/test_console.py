"""The operator console's HTTP surface (docs/contracts/console.md), black-box against a real
`rtgw serve` on both backends: every file the page loads is served from the binary with its
Content-Type, the strict Content-Security-Policy and the other headers, needs no token, answers
If-None-Match with 304, unknown names 404 in the one error shape, other methods 405. The page in
a browser is tested by console/test (scripts/test-console.sh)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from conftest import assert_error, make_token

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
IMPORT_RE = re.compile(r'^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\./[^"]+)"', re.M)


class _Page(HTMLParser):
    """What index.html loads, and anything inline a strict CSP would refuse."""

    def __init__(self):
        super().__init__()
        self.loads: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "style" in a or any(name.startswith("on") for name in a):
            self.inline.append(f"<{tag}> with {sorted(a)}")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            self._in_script = True
            if not a.get("src"):
                self.inline.append("<script> without src")
            else:
                self.loads.append(a["src"])
        if tag == "link" and a.get("href"):
            self.loads.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append("inline script text")


def assert_console_headers(r, path: str) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert r.headers.get(name) == value, (path, name, r.headers.get(name))


def served_files(client) -> dict[str, bytes]:
    """/console and every file it loads, following the modules' static imports."""
    page = client.get("/console")
    assert page.status_code == 200
    parser = _Page()
    parser.feed(page.text)
    assert parser.inline == [], parser.inline
    files = {"/console": page.content}
    todo = list(parser.loads)
    while todo:
        path = todo.pop()
        if path in files:
            continue
        assert path.startswith("/console/"), path
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        files[path] = r.content
        if path.endswith(".js"):
            todo += ["/console/" + name[2:] for name in IMPORT_RE.findall(r.text)]
    return files


def test_every_file_the_page_loads_is_served_with_its_type_and_headers(server):
    with server.client() as c:
        files = served_files(c)
        # The page, its stylesheet, icon, app.js and the modules app.js imports.
        assert {"/console", "/console/app.js", "/console/console.css", "/console/favicon.svg",
                "/console/api.js", "/console/watch.js", "/console/jobs.js", "/console/nodes.js",
                "/console/relay.js", "/console/validators.js", "/console/dom.js"} <= set(files)
        for path in files:
            r = c.get(path)
            ext = "." + path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ".html"
            assert r.headers["content-type"] == TYPES[ext], path
            assert_console_headers(r, path)
            assert r.headers["cache-control"] == "no-cache", path
            assert re.fullmatch(r'"[0-9a-f]{32}"', r.headers["etag"]), path
            assert "x-trace-id" in r.headers
        # /console is index.html.
        assert c.get("/console/index.html").content == files["/console"]
        # No JavaScript builds HTML from strings or sets inline style (CSP: both refused or unsafe).
        for path, body in files.items():
            if path.endswith(".js"):
                text = body.decode()
                assert "innerHTML" not in text and ".style." not in text, path
                assert "eval(" not in text and "new Function" not in text, path


def test_no_token_is_needed_and_a_bad_one_is_not_looked_at(server):
    with server.client() as c:
        assert c.get("/console/app.js").status_code == 200
        r = c.get("/console/app.js", headers={"authorization": "Bearer not-a-token"})
        assert r.status_code == 200
        r = c.get("/console", headers={"authorization": "Bearer " + make_token("t", exp_in=-600)})
        assert r.status_code == 200


def test_if_none_match_gets_304_without_a_body(server):
    with server.client() as c:
        first = c.get("/console/jobs.js")
        etag = first.headers["etag"]
        for header in (etag, f'"0000", {etag}', "W/" + etag, "*"):
            r = c.get("/console/jobs.js", headers={"if-none-match": header})
            assert r.status_code == 304, header
            assert r.content == b""
            assert r.headers["etag"] == etag
            assert_console_headers(r, "/console/jobs.js 304")
        assert c.get("/console/jobs.js", headers={"if-none-match": '"0000"'}).status_code == 200
        # Each file has its own ETag.
        assert c.get("/console/api.js").headers["etag"] != etag


@pytest.mark.parametrize("path", ["/console/nope.js", "/console/.hidden.js",
                                  "/console/INDEX.HTML", "/console/app.js%00"])
def test_an_unknown_file_is_404_with_the_console_headers(server, path):
    with server.client() as c:
        r = c.get(path)
        if path.endswith("%00"):  # a NUL in a path segment matches no route at all
            assert_error(r, 404, "not_found")
            return
        err = assert_error(r, 404, "not_found")
        assert "no console file" in err["message"]
        assert_console_headers(r, path)


@pytest.mark.parametrize("path", ["/console/", "/console/a/app.js", "/consoles"])
def test_paths_beside_the_console_are_not_found(server, path):
    with server.client() as c:
        assert_error(c.get(path), 404, "not_found")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_with_allow_get(server, method):
    with server.client() as c:
        for path in ("/console", "/console/app.js"):
            r = c.request(method, path)
            assert_error(r, 405, "method_not_allowed")
            assert r.headers["allow"] == "GET"


def test_console_requests_are_counted_by_route_template(server):
    with server.client() as c:
        c.get("/console/app.js")
        c.get("/console/nope.js")
        metrics = c.get("/metrics").text
    assert re.search(r'rtgw_http_requests_total\{route="/console/\{asset\}",method="GET",'
                     r'status="200"\} [1-9]', metrics), metrics[:2000]
    assert re.search(r'rtgw_http_requests_total\{route="/console/\{asset\}",method="GET",'
                     r'status="404"\} [1-9]', metrics)


def test_proxy_auth_guards_the_console_like_metrics(server_factory):
    srv = server_factory("--proxy-auth-key", "console-key", "--proxy-auth-secret", "s" * 64)
    with srv.client() as c:
        assert_error(c.get("/console"), 401, "proxy_unauthorized")
        r = c.get("/console", headers={"modal-key": "console-key", "modal-secret": "s" * 64})
        assert r.status_code == 200
        assert_console_headers(r, "/console")


def test_a_worker_process_does_not_serve_the_console(server_factory):
    srv = server_factory(env={"APP_ROLE": "worker"})
    with srv.client() as c:
        assert_error(c.get("/console"), 404, "not_found")
