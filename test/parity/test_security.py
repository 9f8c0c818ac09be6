"""The security middleware, mlflow-bun against the real `mlflow server` started with the same
security options: for a table of Host / Origin / method cases on a native route, /health, /version
and unknown routes, both must answer the same status, the same security headers and, for what
the middleware answers itself (403s, CORS preflights), the same body and content type.

Requests go out through http.client so the Host header is exactly the one in the table.
"""

from __future__ import annotations

import http.client
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

import servers

CONFIGS = {
    "default": [],
    "custom": [
        "--allowed-hosts", "mlflow.example.com,10.0.0.*:5000,app-*.internal,127.0.0.1:*",
        "--cors-allowed-origins", "https://app.example.com,https://*.trusted.dev,HTTPS://Upper.Example.com",
        "--x-frame-options", "deny",
    ],
    "wildcard": ["--allowed-hosts", "*", "--cors-allowed-origins", "*", "--x-frame-options", "NONE"],
    "disabled": ["--disable-security-middleware"],
}

SECURITY_HEADERS = [
    "x-content-type-options",
    "x-frame-options",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age",
    "access-control-allow-private-network",
    "vary",
]

GET_NATIVE = "/api/2.0/mlflow/experiments/get?experiment_id=424242"
SEARCH = "/api/2.0/mlflow/experiments/search"
AJAX_SEARCH = "/ajax-api/2.0/mlflow/experiments/search"
UNKNOWN_API = "/api/2.0/mlflow/no-such-endpoint"
BAD_SEARCH = json.dumps({"max_results": 0})  # a deterministic 400 from both servers

LOCAL = "{local}"  # 127.0.0.1:<the server's port>

HOSTS = [LOCAL, "localhost", "localhost:8080", "evil.com", "10.0.0.5:5000", "10.0.0.5", "10evil.com", "[::1]:5000",
         "fc00::1", "192.168.1.1", "172.31.0.1:80", "mlflow.example.com", "app-1.internal", "0.0.0.0:5000"]
ORIGINS = [None, "http://localhost:3000", "https://localhost:3000", "http://127.0.0.1", "http://evil.com", "null",
           "https://app.example.com", "https://x.trusted.dev", "https://upper.example.com", "HTTP://LOCALHOST:3000"]


def _cases():
    cases = []
    # The host check: every host against a native GET, /health (exempt), /version (exempt), unknown.
    for host in HOSTS:
        for path in (GET_NATIVE, "/health", "/version", "/nope"):
            cases.append(("GET", path, {"Host": host}, None))
    # Cross-origin: reads pass, writes to the API from foreign origins are blocked.
    for origin in ORIGINS:
        o = {} if origin is None else {"Origin": origin}
        cases += [
            ("GET", GET_NATIVE, {"Host": LOCAL, **o}, None),
            ("POST", SEARCH, {"Host": LOCAL, **o}, BAD_SEARCH),
            ("POST", AJAX_SEARCH, {"Host": LOCAL, **o}, BAD_SEARCH),
            ("DELETE", SEARCH, {"Host": LOCAL, **o}, None),
            ("PATCH", UNKNOWN_API, {"Host": LOCAL, **o}, "{}"),
            ("GET", "/health", {"Host": LOCAL, **o}, None),
            ("GET", "/version", {"Host": LOCAL, **o}, None),
            ("GET", "/nope", {"Host": LOCAL, **o}, None),
            ("POST", "/nope", {"Host": LOCAL, **o}, "{}"),
            # a non-preflight OPTIONS (no Access-Control-Request-Method): Flask's automatic answer
            ("OPTIONS", SEARCH, {"Host": LOCAL, **o}, None),
        ]
        if origin is not None:
            cases += [
                ("OPTIONS", SEARCH, {"Host": LOCAL, **o, "Access-Control-Request-Method": "POST"}, None),
                ("OPTIONS", SEARCH, {"Host": LOCAL, **o, "Access-Control-Request-Method": "POST",
                                     "Access-Control-Request-Headers": "Content-Type, X-Custom"}, None),
                ("OPTIONS", "/health", {"Host": LOCAL, **o, "Access-Control-Request-Method": "GET"}, None),
                ("OPTIONS", "/nope", {"Host": LOCAL, **o, "Access-Control-Request-Method": "TRACE"}, None),
                ("OPTIONS", SEARCH, {"Host": LOCAL, **o, "Access-Control-Request-Method": "GET",
                                     "Access-Control-Request-Private-Network": "true"}, None),
                ("OPTIONS", SEARCH, {"Host": "evil.com", **o, "Access-Control-Request-Method": "POST"}, None),
                ("POST", SEARCH, {"Host": "evil.com", **o}, BAD_SEARCH),
            ]
    return cases


CASES = _cases()


def _request(port: int, method: str, path: str, headers: dict, body: str | None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value.replace(LOCAL, f"127.0.0.1:{port}"))
        data = body.encode() if body is not None else None
        if data is not None:
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        r = conn.getresponse()
        raw = r.read()
        hs: dict[str, list[str]] = {}
        for k, v in r.getheaders():
            hs.setdefault(k.lower(), []).append(v)
        return r.status, raw, {k: ", ".join(v) for k, v in hs.items()}
    finally:
        conn.close()


def _views(expected, actual, path: str) -> tuple[dict, dict]:
    """What must agree: the status, the security headers, and the body where the two servers
    answer alike (MLflow's answer decides which parts are compared)."""
    out = []
    e_status, e_raw, e_headers = expected
    e_ctype = e_headers.get("content-type", "")
    for status, raw, headers in (expected, actual):
        view = {"status": status, **{h: headers.get(h) for h in SECURITY_HEADERS}}
        if "allow" in e_headers:  # Werkzeug lists them in set order, which varies per process
            view["allow"] = sorted(m.strip() for m in headers.get("allow", "").split(","))
        if e_ctype.startswith("text/plain") or e_status == 204:  # the middleware's own answers, /health
            view["content-type"] = headers.get("content-type", "")
            view["body"] = raw.decode(errors="replace")
        elif e_ctype.startswith("application/json"):
            view["body"] = json.loads(raw) if raw.startswith(b"{") else raw.decode(errors="replace")
        elif path == "/version":
            view["content-type"] = headers.get("content-type", "")
            view["body"] = raw.decode(errors="replace")
        # else: Flask's HTML 404/405 pages vs mlflow-bun's JSON 404 (docs/differences.md)
        out.append(view)
    return out[0], out[1]


@pytest.fixture(scope="module", params=list(CONFIGS))
def pair(request, tmp_path_factory):
    name = request.param
    workdir = tmp_path_factory.mktemp(f"security-{name}")
    args = CONFIGS[name]
    with ThreadPoolExecutor(2) as pool:
        py = pool.submit(servers.start_python, servers.sqlite_uri(workdir / "python.db"), workdir / "python", None, None, args)
        bun = pool.submit(servers.start_bun, servers.sqlite_uri(workdir / "bun.db"), workdir / "bun", None, None, args)
        started = []
        try:
            for f in (py, bun):
                started.append(f.result())
        except BaseException:
            for s in started:
                s.stop()
            raise
    python_server, bun_server = started
    try:
        yield name, python_server, bun_server
    finally:
        bun_server.stop()
        python_server.stop()


def test_security_answers_match_mlflow(pair):
    name, python_server, bun_server = pair
    py_port = int(python_server.url.rsplit(":", 1)[1])
    bun_port = int(bun_server.url.rsplit(":", 1)[1])
    mismatches = []
    for method, path, headers, body in CASES:
        expected, actual = _views(
            _request(py_port, method, path, headers, body), _request(bun_port, method, path, headers, body), path
        )
        if expected != actual:
            diff = {k: (expected.get(k), actual.get(k)) for k in set(expected) | set(actual) if expected.get(k) != actual.get(k)}
            mismatches.append(f"{method} {path} {headers}: (mlflow, mlflow-bun) {diff}")
    assert not mismatches, f"{len(mismatches)} of {len(CASES)} cases differ ({name}):\n" + "\n".join(mismatches[:40])


def test_the_table_covers_each_kind_of_answer(pair):
    """Guards the table itself: it reaches the host 403, the CORS 403, both preflight outcomes
    and plain answers (on the real server), so a match above means something."""
    name, python_server, _ = pair
    port = int(python_server.url.rsplit(":", 1)[1])
    seen = set()
    for method, path, headers, body in CASES:
        status, raw, _ = _request(port, method, path, headers, body)
        seen.add((status, raw.decode(errors="replace")[:40] if status in (400, 403) and not raw.startswith(b"{") else status))
    if name == "disabled":
        assert not any(isinstance(s[1], str) and "Invalid Host" in s[1] for s in seen)
        return
    kinds = {s[1] for s in seen}
    if name != "wildcard":
        assert "Invalid Host header - possible DNS rebinding attack detected"[:40] in kinds
        assert "Cross-origin request blocked" in kinds
        assert "Disallowed CORS origin" in kinds
    assert 200 in kinds and 204 in kinds
