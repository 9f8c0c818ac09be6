"""The differential machinery shared by test_differential.py (experiments),
test_differential_runs.py (runs, metrics, artifacts) and test_differential_registry.py (the model
registry).

A differential test is a list of `Step`s: one request each, sent in order to the real MLflow
server and to mlflow-bun (each on its own fresh database) and compared response by response.
Raw HTTP (requests), not the client, so that malformed and unusual requests are covered. Steps
build on each other's state: a step that refers to an entity by label (``{id:alpha}``,
``{run:basic}``, ``Id("alpha")``) uses the value that *that server* returned when the entity was
created. Running a subset (``-k``) works: the steps a selected step refers to (and, for steps in
a group, the group's setup; or, with ``replay_all_earlier``, every step before it) are replayed on
both servers first, uncompared. Both servers always receive exactly the same requests (up to the
labelled values they resolve to).

What is compared: the HTTP status, the response's media type, and the body — parsed JSON compared
as structure (key order and whitespace ignored; numbers by value, but a boolean is never equal to
a number) — after normalising what legitimately differs between two servers:

* experiment ids  -> named by their first appearance in that server's responses: ``<id from
  create/basic>`` is the id the step ``create/basic`` answered with (``0``, the Default
  experiment, is ``ID0``); also inside messages (``id=5``, ``experiment 5``) and artifact
  locations (``mlflow-artifacts:/5``, ``.../5``, ``.../5/<run>/artifacts``);
* run ids         -> (``mode="runs"``) 32-hex uuids named like experiment ids: ``<run from
  create/basic>``, in ``run_id``/``run_uuid`` fields and inside any text (messages, artifact
  URIs, the ``mlflow.log-model.history`` tag); a uuid no response ever showed (a rolled-back
  run's, in a database error) is ``<unknown uuid>``;
* generated names  -> (``mode="runs"``) a run name that a runs/create response shows and its
  request does not contain was generated at random by the server: ``<name generated for <run
  from create/x>>``, wherever it appears (``run_name``, the ``mlflow.runName`` tag, messages).
  Names the request gave are compared as they are;
* timestamps      -> ``<TIME>``. ``mode="experiments"``: every ``*_time`` field and every 13-digit
  number in a string. ``mode="runs"``: only values that are "now" (within this test session,
  give or take an hour) — times the server took from its clock (``start_time``,
  ``end_time``, ``deleted_time``, ``creation_time``, ``last_update_time``...) — in any field and
  inside strings. The steps send their own times far from now (2023), so every time a request
  gave (metric timestamps, explicit start/end times) is compared exactly, and so is a 0;
* user ids        -> compared as they are: neither server takes a user id from anywhere but the
  request (a run created without one has ``""``), so they cannot legitimately differ;
* absolute roots  -> ``<CWD>``: each server runs in its own directory, against which relative
  artifact locations resolve;
* unordered lists -> sorted: tags, params and metrics by key (maps in MLflow's model; neither
  server orders them — sorting is stable, so a metric history, all one key, keeps its order),
  dataset inputs by (name, digest), model inputs/outputs by model id. A step may name further
  lists whose order depends on the ids (``sort_by``), e.g. get-history-bulk orders by run uuid;
* database errors -> the driver's message only: SQLAlchemy's wrapping (``(sqlite3.IntegrityError)``,
  ``[SQL: ...]``, ``[parameters: ...]``, the background link) is removed from Python's messages;
* Python set reprs in messages (``{'name', 'experiment_id'}``) -> items sorted, since Python's
  own order changes from one process to the next;
* memory addresses in Python reprs (``<ast.Name object at 0x7f...>``) -> ``0x<ADDRESS>``;
* a bare ``NaN`` number (Python's Flask may print one) -> ``<float NaN>`` (never equal to the
  string ``"NaN"`` that protobuf's JSON printer uses).

A mismatch fails the step and prints both requests and both responses (raw and normalised); it is
also collected for the end-of-run summary (and MLFLOW_BUN_PARITY_REPORT, see conftest.py).
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
import requests

NOBODY = object()
JSON_CT = {"Content-Type": "application/json"}

# Kinds of labelled values a request can refer to as "{kind:label}".
KINDS = ("id", "time", "token", "run", "value")
_REF = re.compile(r"\{(" + "|".join(KINDS) + r"):([\w.-]+)\}")

_HEX32 = re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{32}(?![0-9a-fA-F])")
SESSION_START_MS = int(time.time() * 1000)
_NOW_SLACK_MS = 3600 * 1000


def target_is_python() -> bool:
    """MLFLOW_BUN_PARITY_TARGET=python: the "mlflow-bun" side is a second real MLflow server, which
    checks the normalisation (and the expectations) against MLflow itself."""
    return os.environ.get("MLFLOW_BUN_PARITY_TARGET", "bun") == "python"


# ------------------------------------------------------------------------------ steps


@dataclass
class Step:
    name: str
    method: str
    path: str
    json: Any = NOBODY  # serialised with json.dumps, Content-Type application/json unless headers say otherwise
    data: Any = None  # a raw body (str or bytes), sent as is
    params: list | dict | None = None  # query string (repeated keys: a list of pairs)
    query: str | None = None  # a raw query string, appended as is
    headers: dict | None = None
    capture: dict = field(default_factory=dict)  # "kind:label" -> dotted path in the response
    # Lists whose order legitimately differs between the servers: dotted path of the list -> dotted
    # path, in an item, of the value to sort by (stable, after normalisation).
    sort_by: dict = field(default_factory=dict)


class Id:
    """An experiment's id as the server being called knows it; ``as_int`` sends it as a number."""

    def __init__(self, label: str, as_int: bool = False):
        self.label, self.as_int = label, as_int


class Run:
    """A run's id as the server being called knows it (``{run:label}`` inside strings)."""

    def __init__(self, label: str):
        self.label = label


def dig(body, path: str):
    node = body
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            continue
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def referenced(value, out: set) -> set:
    """The "kind:label" captures a request needs."""
    if isinstance(value, Id):
        out.add(f"id:{value.label}")
    elif isinstance(value, Run):
        out.add(f"run:{value.label}")
    elif isinstance(value, (str, bytes)):
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        out.update(f"{m.group(1)}:{m.group(2)}" for m in _REF.finditer(text))
    elif isinstance(value, dict):
        for v in value.values():
            referenced(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            referenced(v, out)
    return out


def step_needs(step: Step) -> set:
    out: set = set()
    for part in (step.path, step.params, step.query, step.data, None if step.json is NOBODY else step.json):
        referenced(part, out)
    return out


# ------------------------------------------------------------------------------ exchanges


@dataclass
class Exchange:
    request: requests.PreparedRequest
    response: requests.Response

    @property
    def mime(self) -> str:
        return (self.response.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def body(self):
        try:
            return self.response.json()
        except ValueError:
            return self.response.text

    def describe_request(self) -> str:
        body = self.request.body
        if isinstance(body, bytes):
            body = body.decode(errors="replace")
        body = "" if body is None else f" body={shorten(body)}"
        ct = self.request.headers.get("Content-Type")
        ct = f" content-type={ct!r}" if ct else " (no content-type)"
        return f"{self.request.method} {self.request.path_url}{ct}{body}"


def shorten(text, limit: int = 1500) -> str:
    text = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


# ------------------------------------------------------------------------------ one server's side

# Lists that are maps or sets in MLflow's model: sorted (stably) by this item key.
_UNORDERED_LISTS: dict[str, Callable[[dict], Any]] = {
    "tags": lambda i: str(i.get("key")),
    "params": lambda i: str(i.get("key")),
    "metrics": lambda i: str(i.get("key")),
    "dataset_inputs": lambda i: (str(dig(i, "dataset.name")), str(dig(i, "dataset.digest"))),
    "model_inputs": lambda i: str(i.get("model_id")),
    "model_outputs": lambda i: (str(i.get("model_id")), str(i.get("step"))),
}


class BoolValue:
    """A JSON boolean after normalisation: never equal to a number (Python: True == 1)."""

    def __init__(self, value: bool):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, BoolValue) and other.value == self.value

    def __hash__(self):
        return hash(("bool", self.value))

    def __repr__(self):
        return f"<bool {self.value}>"


def _json_default(o):
    if isinstance(o, BoolValue):
        return f"<bool {str(o.value).lower()}>"
    raise TypeError(type(o))


def _integral_floats_as_ints(node):
    """For the diff display only: the comparison takes 1 and 1.0 as the same JSON number (which
    they are), so the diff should not show them as a difference either."""
    if isinstance(node, dict):
        return {k: _integral_floats_as_ints(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_integral_floats_as_ints(v) for v in node]
    if isinstance(node, float) and node.is_integer() and abs(node) < 2**53:
        return int(node)
    return node


def dump(value) -> str:
    return json.dumps(_integral_floats_as_ints(value), indent=2, sort_keys=True, ensure_ascii=False, default=_json_default)


class ServerState:
    """One server's side of the comparison: its captured values and its id naming."""

    def __init__(self, server, mode: str = "experiments"):
        assert mode in ("experiments", "runs")
        self.server = server
        self.mode = mode
        self.session = requests.Session()
        self.captured: dict[str, str] = {}
        self.ids: dict[str, str] = {"0": "ID0"}
        self.runs: dict[str, str] = {}
        self.generated_names: dict[str, str] = {}
        self.roots = sorted({str(server.workdir), str(server.workdir.resolve())}, key=len, reverse=True)

    # ---- request side

    def lookup(self, kind: str, label: str) -> str:
        return self.captured.get(f"{kind}:{label}", f"<no {kind} captured for {label}>")

    def resolve(self, value):
        if isinstance(value, Id):
            v = self.lookup("id", value.label)
            return int(v) if value.as_int and v.isdigit() else v
        if isinstance(value, Run):
            return self.lookup("run", value.label)
        if isinstance(value, str):
            return _REF.sub(lambda m: self.lookup(m.group(1), m.group(2)), value)
        if isinstance(value, bytes):
            return self.resolve(value.decode()).encode()
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.resolve(v) for v in value)
        return value

    def send(self, step: Step) -> Exchange:
        url = self.server.url + step.path
        params = self.resolve(step.params) if step.params is not None else None
        if isinstance(params, dict):
            params = list(params.items())
        if step.query is not None:
            url += "?" + self.resolve(step.query)
        headers = dict(step.headers or {})
        body = None
        if step.json is not NOBODY:
            body = json.dumps(self.resolve(step.json)).encode()
            headers.setdefault("Content-Type", "application/json")
        elif step.data is not None:
            body = self.resolve(step.data)
            body = body.encode() if isinstance(body, str) else body
        req = requests.Request(step.method, url, params=params, data=body, headers=headers).prepare()
        if body is None and step.method == "POST":
            req.headers.pop("Content-Length", None)
            req.headers["Content-Length"] = "0"
        resp = self.session.send(req, timeout=120)
        return Exchange(req, resp)

    # ---- response side

    def learn(self, step: Step, body, request_body: bytes | str | None = None) -> None:
        """Captures labelled values, and names every experiment id (and run id, and generated run
        name) not seen before after the step whose response showed it first."""
        for key, path in step.capture.items():
            value = dig(body, path)
            if value is not None:
                self.captured[key] = str(value)
        fresh: list[str] = []
        self._collect(body, fresh, ("experiment_id",), lambda v: isinstance(v, (str, int)) and str(v).isdigit(), self.ids)
        for i, v in enumerate(fresh):
            self.ids[v] = f"<id from {step.name}>" if len(fresh) == 1 else f"<id #{i + 1} from {step.name}>"
        if self.mode != "runs":
            return
        fresh = []
        self._collect(body, fresh, ("run_id", "run_uuid"), lambda v: isinstance(v, str) and bool(_HEX32.fullmatch(v)), self.runs)
        for i, v in enumerate(fresh):
            self.runs[v] = f"<run from {step.name}>" if len(fresh) == 1 else f"<run #{i + 1} from {step.name}>"
        # A run name the request did not contain was generated by the server.
        if step.path.rstrip("/").endswith("/runs/create") and isinstance(body, dict):
            info = dig(body, "run.info") or {}
            name, run_id = info.get("run_name"), info.get("run_id")
            if isinstance(request_body, bytes):
                request_body = request_body.decode(errors="replace")
            try:  # compare with the request's strings, not their JSON escapes
                request_body = json.dumps(json.loads(request_body), ensure_ascii=False)
            except (TypeError, ValueError):
                pass
            if isinstance(name, str) and name and name not in (request_body or "") and name not in self.generated_names:
                self.generated_names[name] = f"<name generated for {self.runs.get(run_id, 'a run')}>"

    @staticmethod
    def _collect(node, fresh: list, keys: tuple, accept, known: dict) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in keys and accept(v):
                    if str(v) not in known and str(v) not in fresh:
                        fresh.append(str(v))
                else:
                    ServerState._collect(v, fresh, keys, accept, known)
        elif isinstance(node, list):
            for v in node:
                ServerState._collect(v, fresh, keys, accept, known)

    def normalise(self, node, key: str | None = None, sort_by: dict | None = None, path: str = ""):
        if isinstance(node, dict):
            return {
                k: self.normalise(v, k, sort_by, f"{path}.{k}" if path else k) for k, v in node.items()
            }
        if isinstance(node, list):
            items = [self.normalise(v, key, sort_by, path) for v in node]
            if self.mode == "experiments":
                if key == "tags" and all(isinstance(i, dict) and "key" in i for i in items):
                    items.sort(key=lambda i: str(i["key"]))
            elif key in _UNORDERED_LISTS and all(isinstance(i, dict) for i in items):
                items.sort(key=_UNORDERED_LISTS[key])
            if sort_by and path in sort_by and all(isinstance(i, dict) for i in items):
                fld = sort_by[path]
                items.sort(key=lambda i: str(dig(i, fld)))
            return items
        if isinstance(node, bool):
            return BoolValue(node)
        if isinstance(node, float) and math.isnan(node):
            return "<float NaN>"
        if key == "experiment_id" and isinstance(node, (str, int)):
            return self.ids.get(str(node), str(node))
        if self.mode == "experiments":
            if key is not None and key.endswith("_time") and (isinstance(node, int) or (isinstance(node, str) and node.isdigit())):
                return "<TIME>"
        else:
            if isinstance(node, int) and _is_now(node):
                return "<TIME>"
            if key in ("run_id", "run_uuid") and isinstance(node, str) and node in self.runs:
                return self.runs[node]
            if isinstance(node, str) and node in self.generated_names:
                return self.generated_names[node]
        if isinstance(node, str):
            return self.normalise_text(node, artifact=key in ("artifact_location", "artifact_uri", "root_uri"))
        return node

    def normalise_text(self, text: str, artifact: bool = False) -> str:
        text = strip_database_wrapping(text)
        for root in self.roots:
            text = text.replace(root, "<CWD>")
        # A Python object's repr carries its memory address, which differs from process to process.
        text = re.sub(r"( object at )0x[0-9a-fA-F]+", r"\g<1>0x<ADDRESS>", text)
        known = lambda m: m.group(1) + self.ids.get(m.group(2), m.group(2))  # noqa: E731
        if self.mode == "runs":
            # Run ids first, so that no digits of theirs are taken for an experiment id or a time.
            # .../<experiment id>/<run id>/artifacts
            text = re.sub(r"(/)(\d+)(?=/[0-9a-f]{32}(?![0-9a-fA-F]))", known, text)
            text = _HEX32.sub(lambda m: self.runs.get(m.group(0), "<unknown uuid>"), text)
            for name, label in self.generated_names.items():
                text = text.replace(name, label)
        if self.mode == "experiments":
            text = re.sub(r"(?<!\d)\d{13}(?!\d)", "<TIME>", text)
        else:
            text = re.sub(r"(?<!\d)\d{13}(?!\d)", lambda m: "<TIME>" if _is_now(int(m.group(0))) else m.group(0), text)
        # Python prints sets ("Valid keys are '{'name', 'experiment_id', ...}'") in an order that
        # changes with every process (string hashing is randomised): compare them as sets.
        text = re.sub(
            r"\{('[^'{}]*'(?:, '[^'{}]*')+)\}",
            lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}",
            text,
        )
        text = re.sub(r"(id=|id |experiment |mlflow-artifacts:/|Got value )(\d+)(?!\d)", known, text)
        text = re.sub(r"(Invalid value )(\d+)(?= for parameter 'experiment_id')", known, text)
        # The id in a rolled-back INSERT's error names no experiment that exists: a sequence value.
        text = re.sub(
            r"(Key \(key, experiment_id\)=\(.*, )(\d+)(?=\))",
            lambda m: m.group(1) + self.ids.get(m.group(2), "<id of the rolled-back experiment>"),
            text,
        )
        if artifact:
            text = re.sub(r"(/)(\d+)$", known, text)
        return text


def strip_database_wrapping(text: str) -> str:
    """Database errors: MLflow's message is str(SQLAlchemyError), i.e. the driver's message
    wrapped in the driver's class name, SQLAlchemy's echo of the SQL statement and its
    parameters, and a link. mlflow-bun runs other SQL through other drivers; the database's own
    message between those wrappers must match."""
    text = re.sub(r"\n\[SQL: [\s\S]*$", "", text)
    text = re.sub(r"\((?:sqlite3|psycopg2(?:\.errors)?)\.\w+\) ", "", text)
    text = re.sub(r"\(raised as a result of Query-invoked autoflush;[^)]*\)\n", "", text)
    return text.rstrip("\n")


def _is_now(value: int) -> bool:
    return SESSION_START_MS - _NOW_SLACK_MS <= value <= int(time.time() * 1000) + _NOW_SLACK_MS


# ------------------------------------------------------------------------------ a suite


class Suite:
    """A list of steps and how to check them.

    group_requirements: step-name prefixes -> the prefix of the setup steps they all need (e.g.
    every search step needs the whole search set, not only what it refers to by label).
    known_differences: step name -> (reason, dialects): deliberate, documented differences
    (docs/differences.md), each a strict xfail, so a step that starts to match fails until it is
    taken off the list.
    sleep_after: path suffixes after which a write (POST, PATCH, DELETE) waits a few milliseconds,
    so that times the servers take from their clocks are distinct and orderings by them agree.
    replay_all_earlier: when a step runs without the steps before it (``-k``), replay all of them
    (uncompared) instead of only those it refers to: for suites where a step's answer depends on
    everything logged before (latest metrics, histories).
    """

    def __init__(
        self,
        name: str,
        steps: list[Step],
        *,
        mode: str,
        group_requirements: dict | None = None,
        known_differences: dict | None = None,
        sleep_after: tuple = (),
        replay_all_earlier: bool = False,
    ):
        self.name = name
        self.steps = steps
        self.mode = mode
        self.group_requirements = group_requirements or {}
        self.known_differences = known_differences or {}
        self.sleep_after = sleep_after
        self.replay_all_earlier = replay_all_earlier
        names = [s.name for s in steps]
        dupes = sorted({n for n in names if names.count(n) > 1})
        assert not dupes, f"step names must be unique: {dupes}"
        self.captured_by: dict[str, Step] = {}
        for s in steps:
            for key in s.capture:
                self.captured_by.setdefault(key, s)
        for s in steps:
            missing = sorted(k for k in step_needs(s) if k not in self.captured_by)
            assert not missing, f"step {s.name} refers to {missing}, which no step captures"

    def params(self):
        return [pytest.param(step, id=step.name) for step in self.steps]

    def new_states(self, pair) -> dict:
        return {
            "python": ServerState(pair.python, self.mode),
            "bun": ServerState(pair.bun, self.mode),
            "done": set(),
        }

    def _exchange(self, step: Step, states: dict) -> tuple[Exchange, Exchange]:
        py, bun = states["python"], states["bun"]
        a = py.send(step)
        b = bun.send(step)
        if step.method in ("POST", "PATCH", "DELETE") and step.path.rstrip("/").endswith(self.sleep_after):
            time.sleep(0.003)  # distinct millisecond timestamps, so time orderings agree
        py.learn(step, a.body, a.request.body)
        bun.learn(step, b.body, b.request.body)
        states["done"].add(step.name)
        return a, b

    def run_prerequisites(self, step: Step, states: dict, seen: set | None = None) -> None:
        """When a step is run without the earlier steps it builds on (``-k``), run the steps that
        capture what it refers to (and its group's setup) first, on both servers, uncompared."""
        seen = seen if seen is not None else set()
        needed: list[Step] = []
        if self.replay_all_earlier:
            # Every earlier step (the state a step sees is what all of them left).
            for s in self.steps:
                if s is step:
                    break
                if s.name not in states["done"]:
                    self._exchange(s, states)
            return
        for prefixes, group in self.group_requirements.items():
            if step.name.startswith(prefixes):
                needed += [s for s in self.steps if s.name.startswith(group)]
        for key in sorted(step_needs(step)):
            if key in self.captured_by and key not in states["python"].captured:
                needed.append(self.captured_by[key])
        for pre in needed:
            if pre.name in states["done"] or pre.name in seen or pre is step:
                continue
            seen.add(pre.name)
            self.run_prerequisites(pre, states, seen)
            self._exchange(pre, states)

    def check(self, step: Step, states: dict, pair, request) -> None:
        known = self.known_differences.get(step.name)
        known = known if known and pair.dialect in known[1] and not target_is_python() else None
        if known:
            request.applymarker(pytest.mark.xfail(strict=True, reason=known[0]))
        py, bun = states["python"], states["bun"]
        self.run_prerequisites(step, states)
        a, b = self._exchange(step, states)
        expected = {"status": a.response.status_code, "content_type": a.mime, "body": py.normalise(a.body, sort_by=step.sort_by)}
        actual = {"status": b.response.status_code, "content_type": b.mime, "body": bun.normalise(b.body, sort_by=step.sort_by)}
        if expected == actual:
            return
        report_mismatch(request, self.name, pair.dialect, step.name, a, b, expected, actual, known=bool(known))


def report_mismatch(
    request,
    suite: str,
    dialect: str,
    step_name: str,
    a: Exchange,
    b: Exchange,
    expected: dict,
    actual: dict,
    sides=("python", "mlflow-bun"),
    known: bool = False,
) -> None:
    """Fails the test, printing both requests and both responses; records the mismatch for the
    session summary."""
    what = [k for k in ("status", "content_type", "body") if expected[k] != actual[k]]
    diff = "\n".join(
        difflib.unified_diff(
            dump(expected["body"]).splitlines(),
            dump(actual["body"]).splitlines(),
            f"{sides[0]} (normalised)",
            f"{sides[1]} (normalised)",
            lineterm="",
        )
    )
    summary = (
        f"{'(known difference, xfail) ' if known else ''}[{dialect}] {suite}:{step_name}: differs in {', '.join(what)} — "
        f"{sides[0]} {a.response.status_code} {shorten(a.response.text, 300)!s} | "
        f"{sides[1]} {b.response.status_code} {shorten(b.response.text, 300)!s}"
    )
    request.config._parity_mismatches.append(
        {
            "suite": suite,
            "dialect": dialect,
            "step": step_name,
            "differs_in": what,
            "known_difference": known,
            "request": {sides[0]: a.describe_request(), sides[1]: b.describe_request()},
            sides[0]: {"status": a.response.status_code, "content_type": a.mime, "body": a.response.text},
            sides[1]: {"status": b.response.status_code, "content_type": b.mime, "body": b.response.text},
            "summary": summary.replace("\n", "\\n"),
        }
    )
    pytest.fail(
        f"{sides[1]} differs from {sides[0]} ({dialect}) in {', '.join(what)} for step {step_name!r}\n"
        f"\n--- {sides[0]}: {a.describe_request()}\n"
        f"    answered {a.response.status_code} {a.mime!r}: {shorten(a.response.text)}\n"
        f"\n--- {sides[1]}: {b.describe_request()}\n"
        f"    answered {b.response.status_code} {b.mime!r}: {shorten(b.response.text)}\n"
        f"\n--- normalised body diff:\n{diff or '(bodies equal once normalised)'}\n",
        pytrace=False,
    )
