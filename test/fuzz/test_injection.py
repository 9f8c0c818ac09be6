"""SQL injection and garbage in the search grammars (run, experiment, registered-model and
model-version filters and order_by clauses) and in names looked up as data, on both dialects.

Every answer is compared with the real MLflow server's to the same request (same status, same
error code; for a 200 the same number of results, the seed data being equal), and it must carry
no database error text. A canary table planted in mlflow-bun's database before the first request
must come through unchanged: had any payload been executed (a stacked DROP, an INSERT), it would
not.
"""

from __future__ import annotations

import re

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzlib import CANARY, CANARY_ROWS, LONG, examples

# Classic payloads: quotes of every kind, comments, UNION, stacked statements, backslashes,
# Unicode look-alike quotes, NUL bytes, LIKE wildcards, dialect-specific functions.
PAYLOADS = [
    "'", '"', "`", "\\", "''", '""', "\\'", "\\\"",
    "' OR '1'='1", "' OR 1=1 --", '" OR "1"="1', "1 OR 1=1", "') OR ('1'='1",
    f"'; DROP TABLE {CANARY}; --", f'"; DROP TABLE {CANARY}; --', f"1; DROP TABLE {CANARY}",
    f"'); DROP TABLE {CANARY}; --", f"\\'; DROP TABLE {CANARY}; --",
    f"'; INSERT INTO {CANARY} VALUES (2, 'pwned'); --", f"'; DELETE FROM {CANARY}; --",
    "'; UPDATE experiments SET name = 'pwned'; --", "'; COMMIT; DROP TABLE experiments; --",
    "' UNION SELECT name FROM sqlite_master --", "' UNION SELECT NULL, version() --",
    "' UNION ALL SELECT * FROM runs --", "1 UNION SELECT 1",
    "/* comment */", "-- comment", "#", "a' /*", "*/ OR 1=1 /*",
    "\u2019 OR \u20181\u2019=\u20181", "\u02bc OR 1=1--", "\uff07 OR 1=1 --", "\u201c OR \u201d",
    "\x00", "a\x00' OR 1=1 --", "'\x00; DROP TABLE x",
    "%' OR '1'='1", "%", "_", "[a-z]%", "\\%",
    "' || (SELECT 1) || '", "'; SELECT pg_sleep(0); --", "$$; DROP TABLE x; $$", "E'\\x27'",
    "'; ATTACH DATABASE 'x.db' AS x; --", "' AND 1=CAST((SELECT 1) AS int) --",
    "\u2028", "\ud7ff\ue000", "名前' OR '1'='1", "'" * 50,
]

# Where a payload goes in each grammar. {p} is the payload as written; {q} the payload inside
# single quotes (quotes not escaped: the grammar has no escape, which is the point).
RUN_FILTERS = [
    "{p}", "attributes.run_name = '{p}'", 'attributes.run_name = "{p}"', "tags.k = '{p}'",
    "params.p = '{p}'", "metrics.m > {p}", "attributes.run_name ILIKE '%{p}%'", "tags.`{p}` = 'x'",
    "tags.{p} = 'x'", "run_id IN ('{p}')", "datasets.name = '{p}'",
]
RUN_ORDER_BYS = ["{p}", "attributes.start_time {p}", "tags.`{p}` DESC", "metrics.{p}", "params.`{p}`"]
EXPERIMENT_FILTERS = ["{p}", "name = '{p}'", "name LIKE '{p}'", "tags.team = '{p}'", "tags.`{p}` != 'x'", "creation_time > {p}"]
EXPERIMENT_ORDER_BYS = ["{p}", "name {p}", "tags.{p}"]
MODEL_FILTERS = ["{p}", "name = '{p}'", "name ILIKE '{p}'", "tags.team = '{p}'", "tags.`{p}` = 'x'"]
VERSION_FILTERS = ["{p}", "name = '{p}'", "run_id = '{p}'", "source_path = '{p}'", "tags.`{p}` = 'x'", "version_number = {p}"]
REGISTRY_ORDER_BYS = ["{p}", "name {p}", "last_updated_timestamp {p}"]

# What only a database says: driver and server error texts, SQL echoed back.
DB_ERROR = re.compile(
    r"sqlite3\.|psycopg|sqlalchemy|SQLSTATE|syntax error at or near|: syntax error|unrecognized token|"
    r"no such (table|column)|OperationalError|ProgrammingError|IntegrityError|unterminated quoted|"
    r"(column|relation) \S+ does not exist|\[SQL:|current transaction is aborted",
    re.I | re.S,
)


class Search:
    """One search RPC on both servers: run it, compare the answers."""

    def __init__(self, target, kind: str):
        self.target = target
        self.kind = kind
        self.session = requests.Session()
        self.problems: list[str] = []

    def request(self, server: str, filter_string: str | None, order_by: list[str] | None) -> requests.Response:
        url = getattr(self.target, server).url
        seed = self.target.seed[server]
        if self.kind == "runs":
            body = {"experiment_ids": [seed["experiment_id"]], "filter": filter_string, "order_by": order_by}
            return self.session.post(f"{url}/api/2.0/mlflow/runs/search", json={k: v for k, v in body.items() if v is not None})
        if self.kind == "experiments":
            body = {"filter": filter_string, "order_by": order_by}
            return self.session.post(f"{url}/api/2.0/mlflow/experiments/search", json={k: v for k, v in body.items() if v is not None})
        path = {"models": "registered-models/search", "versions": "model-versions/search"}[self.kind]
        params = [("filter", filter_string)] if filter_string is not None else []
        params += [("order_by", o) for o in order_by or []]
        return self.session.get(f"{url}/api/2.0/mlflow/{path}", params=params)

    def check(self, filter_string: str | None = None, order_by: list[str] | None = None, payload: str = "") -> None:
        bun = self.request("bun", filter_string, order_by)
        python = self.request("python", filter_string, order_by)
        what = f"{self.kind} filter={filter_string!r} order_by={order_by!r}"
        if summary(bun, self.kind) != summary(python, self.kind):
            self.problems.append(f"{what}\n bun: {bun.status_code} {bun.text[:300]}\n python: {python.status_code} {python.text[:300]}")
            return
        if bun.status_code != 200:
            message = bun.json().get("message", "") if is_json(bun) else bun.text
            # The payload and the request's own strings may be echoed back; anything else that looks
            # like SQL or a driver's words came from the database.
            for echoed in [payload, filter_string or "", *(order_by or [])]:
                if echoed:
                    message = message.replace(echoed, "").replace(repr(echoed), "")
            if DB_ERROR.search(message):
                self.problems.append(f"{what}: database error text reached the client: {bun.text[:500]}")

    def verify(self) -> None:
        assert not self.problems, f"{len(self.problems)} problems:\n" + "\n".join(self.problems[:30])
        assert self.target.db.canary_rows() == CANARY_ROWS, "the canary table changed: a payload was executed"


def is_json(r: requests.Response) -> bool:
    return r.headers.get("content-type", "").startswith("application/json")


def summary(r: requests.Response, kind: str) -> tuple:
    """What must be equal: the status, the error code, or the number of results."""
    if not is_json(r):
        return (r.status_code, "html" if "<html" in r.text else r.text)
    body = r.json()
    if r.status_code != 200:
        return (r.status_code, body.get("error_code"))
    key = {"runs": "runs", "experiments": "experiments", "models": "registered_models", "versions": "model_versions"}[kind]
    return (200, len(body.get(key, [])))


GRAMMARS = {
    "runs": (RUN_FILTERS, RUN_ORDER_BYS),
    "experiments": (EXPERIMENT_FILTERS, EXPERIMENT_ORDER_BYS),
    "models": (MODEL_FILTERS, REGISTRY_ORDER_BYS),
    "versions": (VERSION_FILTERS, REGISTRY_ORDER_BYS),
}


@pytest.mark.parametrize("kind", list(GRAMMARS))
def test_payloads_in_filters_and_order_by(target, kind):
    search = Search(target, kind)
    filters, order_bys = GRAMMARS[kind]
    if not LONG:  # the bounded pass: every payload, in the raw and the quoted-value positions
        filters, order_bys = filters[:3], order_bys[:2]
    for payload in PAYLOADS:
        for template in filters:
            search.check(filter_string=template.replace("{p}", payload), payload=payload)
        for template in order_bys:
            search.check(order_by=[template.replace("{p}", payload)], payload=payload)
    search.verify()


def test_payloads_as_names_are_data(target):
    """A payload as an experiment or model name is stored and found as written, never run."""
    s = requests.Session()
    for i, payload in enumerate(PAYLOADS):
        name = f"inj-{i}-{payload}"
        answers = {}
        for server in ("bun", "python"):
            url = getattr(target, server).url
            created = s.post(f"{url}/api/2.0/mlflow/experiments/create", json={"name": name})
            found = s.get(f"{url}/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": name})
            model = s.post(f"{url}/api/2.0/mlflow/registered-models/create", json={"name": name})
            got = s.get(f"{url}/api/2.0/mlflow/registered-models/get", params={"name": name})
            answers[server] = [summary(r, "experiments") if r.status_code != 200 else 200 for r in (created, found, model, got)]
            if created.status_code == 200:
                assert found.json()["experiment"]["name"] == name
            if model.status_code == 200:
                assert got.json()["registered_model"]["name"] == name
        assert answers["bun"] == answers["python"], (payload, answers)
    assert target.db.canary_rows() == CANARY_ROWS


# Garbage: text drawn mostly from the grammars' own tokens and SQL's punctuation, so that it gets
# past the tokenizer into the comparisons more often than random text would.
TOKENS = [
    " ", " ", "'", '"', "`", "(", ")", ",", "=", "!=", "<", ">", "<=", ">=", "%", "_", ".", "-", "\\", ";", "\x00",
    "AND", "OR", "and", "IN", "NOT IN", "LIKE", "ILIKE", "IS NULL", "ASC", "DESC", "NULL", "--", "/*", "*/",
    "name", "tags", "params", "metrics", "attributes", "run_name", "run_id", "datasets", "version_number",
    "source_path", "creation_time", "start_time", "1", "0", "-1", "1.5", "1e308", "inf", "a", "\u00e9", "\u2019",
]
garbage = st.lists(st.sampled_from(TOKENS) | st.text(max_size=3), min_size=1, max_size=12).map("".join)


@pytest.mark.parametrize("kind", list(GRAMMARS))
def test_generated_garbage(target, kind):
    search = Search(target, kind)

    @settings(max_examples=examples(25, 600), derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(filter_string=garbage, order_by=garbage)
    def run(filter_string, order_by):
        search.check(filter_string=filter_string)
        search.check(order_by=[order_by])

    run()
    search.verify()
