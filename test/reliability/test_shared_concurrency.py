"""Three servers on one PostgreSQL database — MLflow's own and two mlflow-bun processes — and 64
concurrent clients writing to the same runs (log-metric and log-batch, overlapping steps and
timestamps, NaN and ±inf values) and creating versions of the same registered model through all
three. Every call succeeds; each run's latest_metrics row is what MLflow's rule gives from the
metrics rows that were written; version numbers are 1..N with no repeat and no gap."""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import requests

CLIENTS = 64
OPS_PER_CLIENT = 12
RUNS = 4
KEYS = ["loss", "acc", "lr"]
BASE_TS = 1_700_000_000_000
MAX_DOUBLE = 1.7976931348623157e308


def _post(session: requests.Session, url: str, rpc: str, body: dict) -> requests.Response:
    return session.post(f"{url}/api/2.0/mlflow/{rpc}", json=body, timeout=120)


def _value(rng: random.Random) -> float | str:
    # As MLflow's client sends them (protobuf JSON): NaN and ±inf as the strings "NaN",
    # "Infinity", "-Infinity" (a bare NaN literal is a protobuf parse error MLflow ignores).
    # Never 0.0: a NaN is stored as 0 with is_nan, and a tie between the two would be decided by
    # which transaction came first (MLflow's rule is a strict "newer than").
    roll = rng.random()
    if roll < 0.1:
        return "NaN"
    if roll < 0.15:
        return "Infinity"
    if roll < 0.2:
        return "-Infinity"
    return round(rng.uniform(-10, 10), 3) or 0.5


def _metric(rng: random.Random) -> dict:
    # Few steps and timestamps: writers collide on the same (step, timestamp) all the time.
    return {"key": rng.choice(KEYS), "value": _value(rng), "timestamp": BASE_TS + rng.randrange(4), "step": rng.randrange(6)}


def _client(n: int, urls: list[str], run_ids: list[str], model: str, start: threading.Barrier) -> list[tuple]:
    rng = random.Random(n)
    session = requests.Session()
    out = []
    start.wait()
    for i in range(OPS_PER_CLIENT):
        server = (n + i) % len(urls)
        run_id = run_ids[(n + i) % len(run_ids)]
        if i % 4 == 0:
            op, body = "model-versions/create", {"name": model, "source": f"s3://bucket/client{n}/{i}"}
        elif i % 4 == 3:
            op, body = "runs/log-metric", {"run_id": run_id, **_metric(rng)}
        else:
            op, body = "runs/log-batch", {"run_id": run_id, "metrics": [_metric(rng) for _ in range(rng.randrange(5, 25))]}
        r = _post(session, urls[server], op, body)
        out.append((server, op, r.status_code, r.text if r.status_code != 200 else r.json()))
    return out


def test_64_clients_through_three_servers_on_one_database(pg_trio):
    urls = [s.url for s in pg_trio.all]
    names = ["python", "bun0", "bun1"]
    setup = requests.Session()
    exp = _post(setup, urls[0], "experiments/create", {"name": "shared-concurrency"}).json()["experiment_id"]
    run_ids = [_post(setup, urls[i % 3], "runs/create", {"experiment_id": exp}).json()["run"]["info"]["run_id"] for i in range(RUNS)]
    model = "shared-concurrency-model"
    assert _post(setup, urls[1], "registered-models/create", {"name": model}).status_code == 200

    start = threading.Barrier(CLIENTS)
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        futures = [pool.submit(_client, n, urls, run_ids, model, start) for n in range(CLIENTS)]
        results = [r for f in futures for r in f.result()]

    assert len(results) == CLIENTS * OPS_PER_CLIENT
    failed = [(names[s], op, status, body[:300]) for s, op, status, body in results if status != 200 and not _mlflow_metric_race(names[s], op, status, body)]
    assert failed == [], "\n".join(map(str, failed))

    conn = psycopg2.connect(pg_trio.db.uri)
    try:
        with conn.cursor() as cur:
            # MLflow's rule (_update_latest_metrics_if_necessary): the row with the greatest
            # (step, timestamp, value), values as stored (NaN as 0, ±inf as ±max double).
            cur.execute(
                """SELECT DISTINCT ON (run_uuid, key) run_uuid, key, step, timestamp, value, is_nan FROM metrics
                   WHERE run_uuid = ANY(%s) ORDER BY run_uuid, key, step DESC, timestamp DESC, value DESC""",
                (run_ids,),
            )
            expected = sorted(cur.fetchall())
            cur.execute("SELECT run_uuid, key, step, timestamp, value, is_nan FROM latest_metrics WHERE run_uuid = ANY(%s)", (run_ids,))
            latest = sorted(cur.fetchall())
            cur.execute("SELECT count(*), count(*) FILTER (WHERE is_nan), count(*) FILTER (WHERE abs(value) = %s) FROM metrics", (MAX_DOUBLE,))
            rows, nans, infs = cur.fetchone()
            cur.execute("SELECT version FROM model_versions WHERE name = %s ORDER BY version", (model,))
            stored_versions = [v for (v,) in cur.fetchall()]
    finally:
        conn.close()
    assert rows > 1000 and nans > 0 and infs > 0  # the load did what it says
    assert len(expected) == RUNS * len(KEYS)
    assert latest == expected

    creates = [body for _, op, _, body in results if op == "model-versions/create"]
    answered = sorted(int(b["model_version"]["version"]) for b in creates)
    assert answered == list(range(1, len(creates) + 1))
    assert stored_versions == answered

    # Every server reads the same latest values back (NaN and ±inf as MLflow writes them).
    for run_id in run_ids:
        seen = [
            json.dumps(sorted((m["key"], m["value"], m["timestamp"], m["step"]) for m in _get_run(setup, url, run_id)))
            for url in urls
        ]
        assert seen[1] == seen[0] and seen[2] == seen[0], run_id


def _mlflow_metric_race(server: str, op: str, status: int, body) -> bool:
    """MLflow's own log_batch, racing another writer of the same metric row: its IntegrityError
    recovery re-inserts a row another transaction has just committed and answers this 400 (the
    batch is rolled back, so latest_metrics still agrees with the metrics rows). mlflow-bun's
    INSERT ... ON CONFLICT DO NOTHING has no such window (docs/differences.md)."""
    return server == "python" and op == "runs/log-batch" and status == 400 and 'unique constraint \\"metric_pk\\"' in body


def _get_run(session: requests.Session, url: str, run_id: str) -> list[dict]:
    r = session.get(f"{url}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["run"]["data"]["metrics"]
