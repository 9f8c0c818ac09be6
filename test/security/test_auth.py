"""Authentication is never bypassed: with `--app-name basic-auth`, mlflow-bun in front of MLflow's
server (started with the same option and its auth app's config) refuses every route it would
otherwise serve natively exactly as MLflow refuses it, and lets an authorized admin through.

For each native route (routes.py: every native RPC's /api and /ajax-api paths, the mlflow-artifacts
API, the UI's get-history-bulk and downloads) the same request goes to MLflow's port and to
mlflow-bun's:
  (a) without credentials, (b) with a wrong password for an admin account, (c) as a user with no
  permission on the admin's resource (the auth config's default_permission is NO_PERMISSIONS):
  both answer the same status, body, WWW-Authenticate and Content-Type, and MLflow's answer is a
  refusal (401, or 403 for (c); the few routes MLflow opens to every user, searches and creates,
  answer the user without the admin's data);
  (d) as the admin: mlflow-bun's answer is a success (for reads, the same answer as MLflow's).
"""

from __future__ import annotations

import copy
import re
import sqlite3
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests
from werkzeug.security import generate_password_hash

from conftest import DIALECTS, POOL
from routes import Req, Route, build_request, native_routes, native_rpcs

ROUTES = native_routes()
ROUTE_IDS = [f"{r.method} {r.path}" for r in ROUTES]

CASES = ["unauthenticated", "wrong-password", "no-permission"]

# Routes MLflow's auth app does not refuse to a user without permissions: searches filter what
# they return, creations need no permission on an existing resource. Their requests here are
# chosen so that what they answer is the same twice (the creations name existing resources).
OPEN_TO_USERS = {
    "createExperiment", "searchExperiments", "searchRuns", "createRegisteredModel", "searchRegisteredModels",
    "searchModelVersions",
}

# Routes whose admin request only reads: mlflow-bun's answer must equal MLflow's.
READS = {"searchExperiments", "searchRuns", "getLatestVersions"}

TIMEOUT = 60


class Resources:
    """What the requests target, all owned by the admin, created through MLflow's own port."""

    def __init__(self, url: str, admin: tuple[str, str]):
        self.url = url
        self.admin = admin
        self.fresh = False
        self.tag = uuid.uuid4().hex[:8]
        self.exp_name = self.unique("exp")
        self.exp_id = self._experiment(self.exp_name)
        self.run_id, self.run_artifact_uri = self._run(self.exp_id)
        self.run_artifact_dir = self.run_artifact_uri.removeprefix("mlflow-artifacts:/")
        self._call("POST", "/runs/log-metric", run_id=self.run_id, key="m", value=1.0, timestamp=1, step=0)
        self._call("POST", "/runs/log-parameter", run_id=self.run_id, key="p", value="v")
        self._put(f"{self.run_artifact_dir}/file.txt", b"hello")
        self.model_name = self._model()
        # The victims: resources a refused request names (refused, so never touched).
        self._victims = {
            "experiment": self._new_experiment(),
            "deleted_experiment": self._new_deleted_experiment(),
            "run": self._new_run(),
            "deleted_run": self._new_deleted_run(),
            "model": self._model(),
            "artifact": self._new_artifact(),
        }

    # -- plumbing
    def unique(self, what: str) -> str:
        return f"sec-{what}-{self.tag}-{uuid.uuid4().hex[:8]}"

    def _call(self, method: str, path: str, **body) -> dict:
        url = f"{self.url}/api/2.0/mlflow{path}"
        r = requests.request(method, url, params=body if method == "GET" else None,
                             json=None if method == "GET" else body, auth=self.admin, timeout=TIMEOUT)
        assert r.status_code == 200, f"setup {method} {path} {body}: {r.status_code} {r.text}"
        return r.json()

    def _put(self, rel: str, data: bytes) -> None:
        r = requests.put(f"{self.url}/api/2.0/mlflow-artifacts/artifacts/{rel}", data=data, auth=self.admin, timeout=TIMEOUT)
        assert r.status_code == 200, f"setup upload {rel}: {r.status_code} {r.text}"

    def _experiment(self, name: str) -> str:
        exp_id = self._call("POST", "/experiments/create", name=name)["experiment_id"]
        self._call("POST", "/experiments/set-experiment-tag", experiment_id=exp_id, key="victim", value="v")
        return exp_id

    def _run(self, exp_id: str) -> tuple[str, str]:
        info = self._call("POST", "/runs/create", experiment_id=exp_id, start_time=1)["run"]["info"]
        self._call("POST", "/runs/set-tag", run_id=info["run_id"], key="victim", value="v")
        return info["run_id"], info["artifact_uri"]

    def _model(self) -> str:
        name = self.unique("model")
        self._call("POST", "/registered-models/create", name=name)
        self._call("POST", "/registered-models/set-tag", name=name, key="victim", value="v")
        self._call("POST", "/model-versions/create", name=name, source=self.run_artifact_uri, run_id=self.run_id)
        self._call("POST", "/model-versions/set-tag", name=name, version="1", key="victim", value="v")
        self._call("POST", "/registered-models/alias", name=name, alias="champ", version="1")
        return name

    def _new_experiment(self) -> str:
        return self._experiment(self.unique("victim"))

    def _new_deleted_experiment(self) -> str:
        exp_id = self._new_experiment()
        self._call("POST", "/experiments/delete", experiment_id=exp_id)
        return exp_id

    def _new_run(self) -> str:
        return self._run(self.exp_id)[0]

    def _new_deleted_run(self) -> str:
        run_id = self._new_run()
        self._call("POST", "/runs/delete", run_id=run_id)
        return run_id

    def _new_artifact(self) -> str:
        name = self.unique("victim") + ".txt"
        self._put(f"{self.run_artifact_dir}/{name}", b"victim")
        return name

    def fresh_view(self) -> "Resources":
        """The same resources, for a request that really runs: its victims are made for it."""
        view = copy.copy(self)
        view.fresh = True
        return view

    # -- what the requests name: in refused requests the shared victims, in real ones fresh ones
    def _victim(self, kind: str, make):
        return make() if self.fresh else self._victims[kind]

    def victim_experiment(self):
        return self._victim("experiment", self._new_experiment)

    def victim_deleted_experiment(self):
        return self._victim("deleted_experiment", self._new_deleted_experiment)

    def victim_run(self):
        return self._victim("run", self._new_run)

    def victim_deleted_run(self):
        return self._victim("deleted_run", self._new_deleted_run)

    def victim_model(self):
        return self._victim("model", self._model)

    def victim_artifact(self):
        return self._victim("artifact", self._new_artifact)


def send(base: str, req: Req, auth) -> requests.Response:
    return requests.request(req.method, base + req.path, params=req.params, json=req.json, data=req.data,
                            headers=req.headers, auth=auth, allow_redirects=False, timeout=TIMEOUT)


def answer(r: requests.Response) -> dict:
    return {
        "status": r.status_code,
        "www-authenticate": r.headers.get("WWW-Authenticate"),
        "content-type": r.headers.get("Content-Type"),
        # an error may quote the time of the request (e.g. an INSERT's parameters)
        "body": re.sub(r"\b1\d{12}\b", "<ms>", r.text),
    }


def where(req: Req) -> str:
    return f"{req.method} {req.path} {req.params or req.json or ''}"


def make_setup(pair):
    """The user without permissions, the admin account whose password is guessed wrong, and the
    admin's resources."""
    admin = pair.auth.admin
    user = pair.auth.user
    r = requests.post(f"{pair.python.url}/api/2.0/mlflow/users/create",
                      json={"username": user[0], "password": user[1]}, auth=admin, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    # (b) guesses the password of a second admin account, `root`. Its password hash is stored
    # with a cheap method (werkzeug reads the method from the stored hash): checking a wrong
    # password against the default scrypt hash costs a large fraction of a second, for each of
    # the hundreds of requests of (b). What MLflow does with a wrong password is the same.
    r = requests.post(f"{pair.python.url}/api/2.0/mlflow/users/create",
                      json={"username": "root", "password": "R00t-" + uuid.uuid4().hex}, auth=admin, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    db = sqlite3.connect(pair.auth.auth_db)
    try:
        with db:
            db.execute("UPDATE users SET password_hash = ?, is_admin = 1 WHERE username = 'root'",
                       (generate_password_hash("R00t-right-password", method="pbkdf2:sha256:1000"),))
    finally:
        db.close()
    right = requests.get(f"{pair.bun.url}/api/2.0/mlflow/users/current", auth=("root", "R00t-right-password"), timeout=TIMEOUT)
    assert right.status_code == 200 and right.json()["user"]["is_admin"], right.text
    return pair, Resources(pair.python.url, admin)


def collect_refusals(pair, res):
    """(route, case) -> (request, MLflow's answer, mlflow-bun's answer): every request of cases
    (a)-(c), sent to both ports, many at a time."""
    auths = {
        "unauthenticated": None,
        "wrong-password": ("root", "R00t-wrong-password"),
        "no-permission": pair.auth.user,
    }
    jobs = [(route, case, build_request(route, res)) for route in ROUTES for case in CASES]

    def ask(job):
        route, case, req = job
        py = answer(send(pair.python.url, req, auths[case]))
        bun = answer(send(pair.bun.url, req, auths[case]))
        return (route, case), (req, py, bun)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(ask, jobs))


def collect_admin_answers(pair, res):
    """route -> (request, mlflow-bun's answer, MLflow's answer or None): each route asked by the
    admin through mlflow-bun, many at a time; its victims are its own. The writes go first; the
    reads (also asked of MLflow, to compare) after them, when nothing changes any more."""
    admin = pair.auth.admin

    def is_read(route: Route) -> bool:
        return (route.method == "GET" and route.name != "artifacts.downloadArtifact") or route.name in READS

    def write(routes: list[Route]):
        out = []
        for route in routes:  # one RPC's paths one after the other (e.g. versions are numbered)
            req = build_request(route, res.fresh_view())
            bun = send(pair.bun.url, req, admin)
            py = send(pair.python.url, req, admin) if "MultipartUpload" in route.name else None
            out.append((route, (req, answer(bun), None if py is None else answer(py))))
        return out

    def read(route: Route):
        req = build_request(route, res.fresh_view())
        return route, (req, answer(send(pair.bun.url, req, admin)), answer(send(pair.python.url, req, admin)))

    writes: dict[str, list[Route]] = {}
    for route in ROUTES:
        if not is_read(route):
            writes.setdefault(route.name, []).append(route)
    out = {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        for answers in pool.map(write, writes.values()):
            out.update(answers)
        out.update(pool.map(read, [r for r in ROUTES if is_read(r)]))
    return out


@dataclass
class Prepared:
    pair: object
    res: Resources
    refusals: dict
    admin: dict


_PREPARING: dict[str, Future] = {}
_PREP_LOCK = threading.Lock()
_PREP_POOL = ThreadPoolExecutor(max_workers=len(DIALECTS), thread_name_prefix="security-auth")


def _prepare(dialect: str) -> Prepared:
    pair = POOL.get(("auth", dialect))
    pair, res = make_setup(pair)
    return Prepared(pair, res, collect_refusals(pair, res), collect_admin_answers(pair, res))


def prepared(dialect: str) -> Prepared:
    """Every answer the tests of one dialect check. Asked for the first dialect, the work starts
    for every dialect the session's tests need, side by side (each has its own MLflow server)."""
    with _PREP_LOCK:
        for d in [kd for kind, kd in POOL.wanted() if kind == "auth"] + [dialect]:
            if d not in _PREPARING:
                _PREPARING[d] = _PREP_POOL.submit(_prepare, d)
    return _PREPARING[dialect].result()


@pytest.fixture(scope="session")
def auth(auth_pair) -> Prepared:
    return prepared(auth_pair.key[1])


def test_every_native_route_is_covered():
    names = {r.name for r in ROUTES}
    # every RPC native.ts gives a handler has its routes here, and so have the extra routes
    for service, rpcs in native_rpcs().items():
        assert rpcs and rpcs <= names, f"{service}: {sorted(rpcs - names)}"
    assert {"artifacts.uploadArtifact", "getMetricHistoryBulk", "getArtifact", "getModelVersionArtifact"} <= names
    assert len(ROUTES) >= 100, len(ROUTES)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_refused_as_python_refuses(auth, route: Route, case: str):
    req, py, bun = auth.refusals[(route, case)]
    assert bun == py, f"{case}: {where(req)}\nMLflow:     {py}\nmlflow-bun: {bun}"
    if case != "no-permission":
        assert py["status"] == 401 and py["www-authenticate"] == 'Basic realm="mlflow"', f"{where(req)}: {py}"
    elif route.name in OPEN_TO_USERS:
        assert py["status"] in (200, 400), f"{where(req)}: {py}"
    else:
        assert py["status"] == 403 and py["body"] == "Permission denied", f"{where(req)}: {py}"


# One route of each kind: Flask RPC GET and POST, the registry, the mlflow-artifacts API (MLflow's
# FastAPI routes), the UI's downloads.
SAMPLE = ["getRun", "logMetric", "getRegisteredModel", "artifacts.downloadArtifact", "artifacts.uploadArtifact", "getArtifact"]


@pytest.mark.parametrize("name", SAMPLE)
def test_wrong_password_of_the_bootstrap_admin(auth, name: str):
    """(b) against the admin MLflow created at start-up (its default, costly password hash), on a
    sample of routes: refused by mlflow-bun as by MLflow."""
    routes = [r for r in ROUTES if r.name == name]
    assert routes, name
    wrong = (auth.pair.auth.admin[0], "wrong-" + auth.pair.auth.admin[1])
    for route in routes:
        req = build_request(route, auth.res)
        py = answer(send(auth.pair.python.url, req, wrong))
        bun = answer(send(auth.pair.bun.url, req, wrong))
        assert bun == py, f"{where(req)}\nMLflow:     {py}\nmlflow-bun: {bun}"
        assert py["status"] == 401 and py["www-authenticate"] == 'Basic realm="mlflow"', f"{where(req)}: {py}"


def test_open_routes_show_the_user_nothing_of_the_admin(auth):
    """The routes open to every user answer the user, not with the admin's resources."""
    res = auth.res
    checked = 0
    for (route, case), (req, py, bun) in auth.refusals.items():
        # the creations answer RESOURCE_ALREADY_EXISTS, naming the resource they were asked for
        if case == "no-permission" and route.name in OPEN_TO_USERS and not route.name.startswith("create"):
            assert bun["status"] == 200, f"{where(req)}: {bun}"
            for secret in (res.exp_name, res.model_name, res.run_id):
                assert secret not in bun["body"], f"{where(req)}: {bun['body'][:500]}"
            checked += 1
    assert checked >= 6, checked


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_admin_is_served(auth, route: Route):
    req, bun, py = auth.admin[route]
    if "MultipartUpload" in route.name:
        # a local artifact store has no multipart uploads: MLflow's own answer, not a refusal
        assert bun["status"] not in (401, 403), f"{where(req)}: {bun}"
    else:
        assert bun["status"] == 200, f"{where(req)}: {bun['status']} {bun['body'][:1000]}"
    if py is not None:
        assert bun == py, f"{where(req)}\nMLflow:     {py}\nmlflow-bun: {bun}"
