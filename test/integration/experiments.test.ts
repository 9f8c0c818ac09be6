// Every experiments endpoint, on both dialects, against what MLflow 3.18.0's server answers
// (the expected bodies were taken from the real server; see the report for the differences).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openDb, type Db } from "../../src/store/db";
import { sql } from "../../src/store/sql";
import { DIALECTS, startTestServer, type TestServer } from "../support/server";

const SCHEMA_HINT = " See the API docs for more information about request parameters.";
const KEYS = "{'creation_time', 'name', 'last_update_time', 'experiment_id'}";
const STRING_COMPARATORS = "{'IN', '=', 'NOT IN', 'ILIKE', 'LIKE', '!='}";
// The sqlstate and error_class MLflow's server adds for each code (mlflow/error_classification.py).
const CLASSIFIED: Record<string, [string, string]> = {
  INVALID_PARAMETER_VALUE: ["KAM00", "INVALID_PARAMETER_VALUE"],
  BAD_REQUEST: ["KAM00", "INVALID_PARAMETER_VALUE"],
  RESOURCE_DOES_NOT_EXIST: ["KAM00", "RESOURCE_NOT_FOUND"],
  RESOURCE_ALREADY_EXISTS: ["KAM00", "RESOURCE_ALREADY_EXISTS"],
  INTERNAL_ERROR: ["XXM00", "CLIENT_INTERNAL_ERROR"],
  INVALID_STATE: ["XXM00", "CLIENT_INTERNAL_ERROR"],
};
const token = (offset: number) => Buffer.from(`{"offset": ${offset}}`).toString("base64");
const b64 = (s: string) => Buffer.from(s).toString("base64");

for (const dialect of DIALECTS) {
  describe(`experiments (${dialect})`, () => {
    let s: TestServer;
    let db: Db;
    const post = (path: string, body: unknown) => s.call("POST", `/api/2.0/mlflow/experiments/${path}`, body);
    const get = (path: string, query?: Record<string, unknown>) => s.call("GET", `/api/2.0/mlflow/experiments/${path}`, query);
    const create = async (body: Record<string, unknown>) => {
      const r = await post("create", body);
      expect(r.status).toBe(200);
      return r.body.experiment_id as string;
    };
    const experiment = async (id: string) => (await get("get", { experiment_id: id })).body.experiment;
    const search = async (body: Record<string, unknown>) => post("search", { max_results: 1000, ...body });
    const names = async (body: Record<string, unknown>) => ((await search(body)).body.experiments ?? []).map((e: any) => e.name);
    /** Expects MLflow's error body (all of it) and status. */
    const fails = async (p: Promise<{ status: number; body: any }>, status: number, error_code: string, message: string) => {
      const r = await p;
      const [sqlstate, error_class] = CLASSIFIED[error_code]!;
      expect(r.body).toEqual({ error_code, message, sqlstate, error_class });
      expect(r.status).toBe(status);
    };
    const invalid = (p: Promise<{ status: number; body: any }>, message: string) => fails(p, 400, "INVALID_PARAMETER_VALUE", message);
    /** Expects an error whose message matches, <TIME> and <ID> standing for any epoch-ms and id. */
    const failsLike = async (p: Promise<{ status: number; body: any }>, status: number, error_code: string, pattern: string) => {
      const r = await p;
      const re = new RegExp("^" + pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/<TIME>/g, "\\d{13}").replace(/<ID>/g, "\\d+") + "$");
      expect(r.body.message).toMatch(re);
      const [sqlstate, error_class] = CLASSIFIED[error_code]!;
      expect({ ...r.body, message: "" }).toEqual({ error_code, message: "", sqlstate, error_class });
      expect(r.status).toBe(status);
    };
    /** str() of SQLAlchemy's IntegrityError for a statement, with the dialect's DB-API driver. */
    const integrity = (table: "experiments" | "experiment_tags", key: string, statement: string, params: string) =>
      (dialect === "sqlite"
        ? `(sqlite3.IntegrityError) UNIQUE constraint failed: ${table === "experiments" ? "experiments.workspace, experiments.name" : "experiment_tags.key, experiment_tags.experiment_id"}`
        : `(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "${table === "experiments" ? "uq_experiments_workspace_name" : "experiment_tag_pk"}"\n` +
          `DETAIL:  Key (${table === "experiments" ? "workspace, name" : "key, experiment_id"})=(${key}) already exists.\n`) +
      `\n[SQL: ${statement}]\n[parameters: ${params}]\n(Background on this error at: https://sqlalche.me/e/21/gkpj)`;

    beforeAll(async () => {
      s = await startTestServer(dialect);
      db = openDb(s.backendStoreUri, { poolSize: 2 });
    });
    afterAll(async () => {
      await db.close();
      await s.stop();
    });

    describe("createExperiment", () => {
      test("creates with MLflow's defaults: artifact location from the root and the id, times, workspace", async () => {
        const before = Date.now();
        const id = await create({ name: "create-basic", tags: [{ key: "k", value: "v" }, { key: "team", value: "x" }] });
        expect(id).toMatch(/^[1-9]\d*$/);
        const e = await experiment(id);
        expect(e).toEqual({
          experiment_id: id, name: "create-basic", artifact_location: `mlflow-artifacts:/${id}`, lifecycle_stage: "active",
          last_update_time: e.creation_time, creation_time: e.creation_time,
          tags: [{ key: "k", value: "v" }, { key: "team", value: "x" }], workspace: "default",
        });
        expect(Object.keys(e)).toEqual(["experiment_id", "name", "artifact_location", "lifecycle_stage", "last_update_time", "creation_time", "tags", "workspace"]);
        expect(e.creation_time).toBeGreaterThanOrEqual(before);
      });

      test("artifact locations: kept, or resolved against the working directory when local and relative", async () => {
        const cases: [string, string][] = [
          ["s3://bucket/path", "s3://bucket/path"],
          ["s3://b/x;p=1", "s3://b/x;p=1"],
          ["mlflow-artifacts:/dir", "mlflow-artifacts:/dir"],
          ["/abs/dir", "/abs/dir"],
          ["relative/./dir/", `${process.cwd()}/relative/dir`],
          ["my%20dir/x", `${process.cwd()}/my dir/x`],
          ["file:rel/dir", `file://${process.cwd()}/rel/dir`],
          ["file://localhost/dir", "file://localhost/dir"],
        ];
        for (const [i, [given, stored]] of cases.entries()) {
          const id = await create({ name: `loc-${i}`, artifact_location: given });
          expect((await experiment(id)).artifact_location).toBe(stored);
        }
      });

      test("a taken name, and duplicate tag keys, are MLflow's IntegrityError", async () => {
        await create({ name: "taken" });
        const insert =
          dialect === "sqlite"
            ? ["INSERT INTO experiments (name, workspace, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (?, ?, ?, ?, ?, ?)", "('taken', 'default', 's3://b', 'active', <TIME>, <TIME>)"]
            : [
                "INSERT INTO experiments (name, workspace, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (%(name)s, %(workspace)s, %(artifact_location)s, %(lifecycle_stage)s, %(creation_time)s, %(last_update_time)s) RETURNING experiments.experiment_id",
                "{'name': 'taken', 'workspace': 'default', 'artifact_location': 's3://b', 'lifecycle_stage': 'active', 'creation_time': <TIME>, 'last_update_time': <TIME>}",
              ];
        await failsLike(post("create", { name: "taken", artifact_location: "s3://b" }), 400, "RESOURCE_ALREADY_EXISTS", `Experiment(name=taken) already exists. Error: ${integrity("experiments", "default, taken", insert[0]!, insert[1]!)}`);
        const tags = dialect === "sqlite"
          ? ['INSERT INTO experiment_tags ("key", value, experiment_id) VALUES (?, ?, ?)', "[('k', '1', <ID>), ('k', '2', <ID>)]"]
          : [
              "INSERT INTO experiment_tags (key, value, experiment_id) VALUES (%(key__0)s, %(value__0)s, %(experiment_id__0)s), (%(key__1)s, %(value__1)s, %(experiment_id__1)s)",
              "{'experiment_id__0': <ID>, 'key__0': 'k', 'value__0': '1', 'experiment_id__1': <ID>, 'key__1': 'k', 'value__1': '2'}",
            ];
        const body = { name: "dup-tags", tags: [{ key: "k", value: "1" }, { key: "k", value: "2" }] };
        await failsLike(post("create", body), 400, "RESOURCE_ALREADY_EXISTS", `Experiment(name=dup-tags) already exists. Error: ${integrity("experiment_tags", "k, <ID>", tags[0]!, tags[1]!)}`);
        expect((await get("get-by-name", { experiment_name: "dup-tags" })).status).toBe(404); // rolled back
      });

      test("PostgreSQL's limits, as psycopg2 and SQLAlchemy word them (SQLite has none)", async () => {
        const long = "n".repeat(300);
        const nul = await post("create", { name: "nul\u0000char" });
        if (dialect === "sqlite") {
          expect((await post("create", { name: long })).status).toBe(200);
          expect(nul.status).toBe(200);
          return;
        }
        const shown = `'${"n".repeat(149)} ... (2 characters truncated) ... ${"n".repeat(149)}'`;
        await failsLike(
          post("create", { name: long }),
          400,
          "BAD_REQUEST",
          "(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(256)\n\n" +
            "[SQL: INSERT INTO experiments (name, workspace, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (%(name)s, %(workspace)s, %(artifact_location)s, %(lifecycle_stage)s, %(creation_time)s, %(last_update_time)s) RETURNING experiments.experiment_id]\n" +
            `[parameters: {'name': ${shown}, 'workspace': 'default', 'artifact_location': '', 'lifecycle_stage': 'active', 'creation_time': <TIME>, 'last_update_time': <TIME>}]\n` +
            "(Background on this error at: https://sqlalche.me/e/21/9h9h)",
        );
        expect(nul.body).toEqual({ error_code: "INTERNAL_ERROR", message: "A string literal cannot contain NUL (0x00) characters.", sqlstate: "XXM00", error_class: "CLIENT_INTERNAL_ERROR" });
        await fails(search({ page_token: token(-1) }), 400, "BAD_REQUEST", "(psycopg2.errors.InvalidRowCountInResultOffsetClause) OFFSET must not be negative");
      });

      test("request schema and name validation", async () => {
        await invalid(post("create", {}), `Missing value for required parameter 'name'.${SCHEMA_HINT}`);
        await invalid(post("create", { name: "" }), `Missing value for required parameter 'name'.${SCHEMA_HINT}`);
        await invalid(post("create", { name: 5 }), `Invalid value 5 for parameter 'name' supplied:  Hint: Value was of type 'int'.${SCHEMA_HINT}`);
        await invalid(post("create", { name: "x", artifact_location: 5 }), `Invalid value 5 for parameter 'artifact_location' supplied:  Hint: Value was of type 'int'.${SCHEMA_HINT}`);
        await invalid(post("create", { name: "x", tags: { a: 1 } }), `Invalid value {"a":1} for parameter 'tags' supplied:  Hint: Value was of type 'dict'.${SCHEMA_HINT}`);
        await invalid(post("create", { name: "   " }), "Invalid experiment name: '   '");
        await invalid(post("create", { name: "x".repeat(501) }), "'name' exceeds the maximum length of 500 characters");
      });

      test("tag validation", async () => {
        const tag = (key: string, value = "v") => post("create", { name: "bad-tag", tags: [{ key, value }] });
        const resolves = "Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to";
        await invalid(post("create", { name: "x", tags: [{ value: "1" }] }), `Invalid value "" for parameter 'key' supplied: ${resolves} '.'`);
        await invalid(tag("../x"), `Invalid value "../x" for parameter 'key' supplied: ${resolves} '../x'`);
        await invalid(tag("a/./b"), `Invalid value "a/./b" for parameter 'key' supplied: ${resolves} 'a/b'`);
        await invalid(tag("a!b"), `Invalid value "a!b" for parameter 'key' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).`);
        await invalid(tag("k".repeat(251)), "'key' exceeds the maximum length of 250 characters");
        await invalid(tag("k", "v".repeat(20001)), "'value' exceeds the maximum length of 20000 characters");
        await invalid(tag("mlflow.trace.archivalRetention", "x"), "Trace archival config must be encoded as a JSON object.");
        await invalid(tag("mlflow.trace.archivalRetention", '{"type":"other"}'), "Trace archival config must use type 'duration'.");
        await invalid(tag("mlflow.trace.archivalRetention", '{"type":"duration","value":"5x"}'), "Trace archival retention must be in the form `<int><unit>`, where unit is one of 'm', 'h', or 'd'.");
        await invalid(tag("mlflow.trace.archivalRetention", `{"type":"duration","value":"${"1".repeat(40)}d"}`), "Trace archival duration must be at most 32 characters.");
        await invalid(tag("mlflow.trace.archiveNow", "[]"), "Trace archival config must be encoded as a JSON object.");
        await create({ name: "trace-tags", tags: [{ key: "mlflow.trace.archivalRetention", value: '{"type":"duration","value":" 30d "}' }, { key: "mlflow.trace.archiveNow", value: '{"older_than": null}' }] });
        await create({ name: "ключ", tags: [{ key: "ключ: значение/1", value: "" }] });
      });

      test("custom views: at most 50 per experiment", async () => {
        const views = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `mlflow.customView.view${i}`, value: "v" }));
        await invalid(post("create", { name: "views", tags: views(51) }), "Unable to create another custom view; the maximum number of custom views per experiment is 50. Delete an existing custom view before creating a new one.");
        await create({ name: "views", tags: views(50) });
      });

      test("artifact location checks", async () => {
        const loc = (artifact_location: string) => post("create", { name: "bad-loc", artifact_location });
        await invalid(loc("runs:/abc"), "Artifact location cannot be a runs:/ URI. Given: 'runs:/abc'");
        await invalid(loc("s3://bucket/x#frag"), "'artifact_location' URL can't include fragments or params.");
        await invalid(loc("http:/x;p=1"), "'artifact_location' URL can't include fragments or params.");
        await invalid(loc("s3://bucket/x?a=../b"), "Invalid query string");
        await invalid(loc("s3://bucket/x?a=%2e%2e/b"), "Invalid query string");
        for (const scheme of ["http", "mlflow-artifacts", "ftp"]) {
          await invalid(
            loc(`${scheme}://example.com/x`),
            `'artifact_location' cannot use the '${scheme}' scheme: the '${scheme}' scheme addresses a host other than the tracking server's configured artifact storage, so the server would connect to the host named in the URI. Set the MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES environment variable on the server to allow it.`,
          );
        }
        await invalid(loc(`s3://b/${"a".repeat(2100)}`), "Invalid artifact path length. The length of the artifact path cannot be greater than 2048 characters. To configure this limit, please set the MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH environment variable.");
        await invalid(loc("sqlitex://b"), "Invalid database engine: 'sqlitex'. Supported database engines are postgresql, mysql, sqlite, mssql");
        await fails(loc("file://remote/dir"), 500, "INTERNAL_ERROR", "file://remote/dir is not a valid remote uri. For remote access on windows, please consider using a different scheme such as SMB (e.g. smb://<hostname>/<path>).");
        const r = await loc("ftp://[::1/x"); // urlparse's ValueError escapes the handler: Flask's HTML page
        expect(r.status).toBe(500);
        expect(r.body).toStartWith("<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>");
      });
    });

    describe("getExperiment / getExperimentByName", () => {
      test("default experiment and lookups", async () => {
        const d = await experiment("0");
        expect(d).toMatchObject({ experiment_id: "0", name: "Default", artifact_location: "mlflow-artifacts:/0", lifecycle_stage: "active", workspace: "default" });
        expect(d.tags).toBeUndefined();
        const id = await create({ name: "by-name" });
        expect((await get("get-by-name", { experiment_name: "by-name" })).body).toEqual({ experiment: await experiment(id) });
        expect(await experiment(` ${id} `)).toEqual(await experiment(id)); // Python's int()
      });

      test("errors", async () => {
        await invalid(get("get"), `Missing value for required parameter 'experiment_id'.${SCHEMA_HINT}`);
        await invalid(get("get", { experiment_id: "abc" }), "Invalid experiment ID 'abc'. Experiment ID must be a valid integer.");
        await fails(get("get", { experiment_id: "999" }), 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=999 exists");
        await fails(get("get", { experiment_id: "9_99" }), 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=999 exists");
        await fails(get("get", { experiment_id: "99999999999" }), 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=99999999999 exists");
        if (dialect === "sqlite") await fails(get("get", { experiment_id: "99999999999999999999" }), 500, "INTERNAL_ERROR", "Python int too large to convert to SQLite INTEGER");
        else await fails(get("get", { experiment_id: "99999999999999999999" }), 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=99999999999999999999 exists");
        await invalid(get("get-by-name"), `Missing value for required parameter 'experiment_name'.${SCHEMA_HINT}`);
        await fails(get("get-by-name", { experiment_name: "nope" }), 404, "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name 'nope'");
      });
    });

    describe("updateExperiment", () => {
      test("renames and bumps last_update_time", async () => {
        const id = await create({ name: "rename-me" });
        const before = await experiment(id);
        await Bun.sleep(5);
        expect((await post("update", { experiment_id: id, new_name: "renamed" })).body).toEqual({});
        const after = await experiment(id);
        expect(after.name).toBe("renamed");
        expect(after.last_update_time).toBeGreaterThan(before.last_update_time);
        expect(after.creation_time).toBe(before.creation_time);
        expect((await post("update", { experiment_id: id, new_name: "renamed" })).status).toBe(200); // same name
      });

      test("errors", async () => {
        const id = await create({ name: "rename-errors" });
        await create({ name: "rename-taken" });
        const update =
          dialect === "sqlite"
            ? ["UPDATE experiments SET name=?, last_update_time=? WHERE experiments.experiment_id = ?", `('rename-taken', <TIME>, ${id})`]
            : [
                "UPDATE experiments SET name=%(name)s, last_update_time=%(last_update_time)s WHERE experiments.experiment_id = %(experiments_experiment_id)s",
                `{'name': 'rename-taken', 'last_update_time': <TIME>, 'experiments_experiment_id': ${id}}`,
              ];
        await failsLike(post("update", { experiment_id: id, new_name: "rename-taken" }), 400, "BAD_REQUEST", integrity("experiments", "default, rename-taken", update[0]!, update[1]!));
        await invalid(post("update", { experiment_id: id }), `Missing value for required parameter 'new_name'.${SCHEMA_HINT}`);
        await invalid(post("update", { new_name: "q" }), `Missing value for required parameter 'experiment_id'.${SCHEMA_HINT}`);
        await invalid(post("update", { experiment_id: id, new_name: 5 }), `Invalid value 5 for parameter 'new_name' supplied:  Hint: Value was of type 'int'.${SCHEMA_HINT}`);
        await invalid(post("update", { experiment_id: id, new_name: "  " }), "Invalid experiment name: '  '");
        await invalid(post("update", { experiment_id: "x", new_name: "q" }), "Invalid experiment ID 'x'. Experiment ID must be a valid integer.");
        await fails(post("update", { experiment_id: "999", new_name: "q" }), 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=999 exists");
        await post("delete", { experiment_id: id });
        await fails(post("update", { experiment_id: id, new_name: "q" }), 500, "INVALID_STATE", "Cannot rename a non-active experiment.");
      });
    });

    describe("setExperimentTag / deleteExperimentTag", () => {
      test("upserts in place, keeps the database's tag order, leaves last_update_time alone", async () => {
        const id = await create({ name: "tags", tags: [{ key: "z", value: "1" }, { key: "a", value: "2" }] });
        const before = await experiment(id);
        expect((await post("set-experiment-tag", { experiment_id: id, key: "b", value: "3" })).body).toEqual({});
        await post("set-experiment-tag", { experiment_id: id, key: "a", value: "4" });
        await post("set-experiment-tag", { experiment_id: id, key: "novalue" });
        const after = await experiment(id);
        expect(after.tags).toContainEqual({ key: "a", value: "4" });
        expect(after.tags).toContainEqual({ key: "novalue", value: "" });
        expect(after.tags.map((t: any) => t.key).sort()).toEqual(["a", "b", "novalue", "z"]);
        if (dialect === "sqlite") expect(after.tags.map((t: any) => t.key)).toEqual(["z", "a", "b", "novalue"]);
        expect(after.last_update_time).toBe(before.last_update_time);
        expect((await post("delete-experiment-tag", { experiment_id: id, key: "a" })).body).toEqual({});
        expect((await experiment(id)).tags.map((t: any) => t.key).sort()).toEqual(["b", "novalue", "z"]);
      });

      test("errors", async () => {
        const id = await create({ name: "tag-errors" });
        await invalid(post("set-experiment-tag", { experiment_id: id }), `Missing value for required parameter 'key'.${SCHEMA_HINT}`);
        await invalid(post("set-experiment-tag", { key: "k" }), `Missing value for required parameter 'experiment_id'.${SCHEMA_HINT}`);
        await invalid(post("set-experiment-tag", { experiment_id: 1, key: "k", value: "v" }), `Invalid value 1 for parameter 'experiment_id' supplied:  Hint: Value was of type 'int'.${SCHEMA_HINT}`);
        await invalid(post("set-experiment-tag", { experiment_id: id, key: "k", value: 5 }), `Invalid value 5 for parameter 'value' supplied:  Hint: Value was of type 'int'.${SCHEMA_HINT}`);
        // tag checks come before the experiment lookup, except for custom views
        await invalid(post("set-experiment-tag", { experiment_id: "x", key: "a!", value: "v" }), `Invalid value "a!" for parameter 'key' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).`);
        await invalid(post("set-experiment-tag", { experiment_id: "x", key: "k", value: "v" }), "Invalid experiment ID 'x'. Experiment ID must be a valid integer.");
        await fails(post("set-experiment-tag", { experiment_id: "999", key: "k", value: "v" }), 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=999 exists");
        await fails(post("set-experiment-tag", { experiment_id: "999", key: "mlflow.customView.view1", value: "v" }), 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=999 exists");
        await fails(post("delete-experiment-tag", { experiment_id: id, key: "k" }), 404, "RESOURCE_DOES_NOT_EXIST", `No tag with name: k in experiment with id ${id}`);
        await fails(post("delete-experiment-tag", { experiment_id: ` ${id}`, key: "k" }), 404, "RESOURCE_DOES_NOT_EXIST", `No tag with name: k in experiment with id  ${id}`);
        await invalid(post("delete-experiment-tag", { experiment_id: id }), `Missing value for required parameter 'key'.${SCHEMA_HINT}`);
        await fails(post("delete-experiment-tag", { experiment_id: "999", key: "k" }), 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=999 exists");
        await post("set-experiment-tag", { experiment_id: id, key: "k", value: "v" });
        await post("delete", { experiment_id: id });
        const inactive = `The experiment ${id} must be in the 'active' state. Current state is deleted.`;
        await invalid(post("set-experiment-tag", { experiment_id: id, key: "k", value: "v" }), inactive);
        await invalid(post("delete-experiment-tag", { experiment_id: id, key: "k" }), inactive);
      });

      test("custom views: a 51st is refused, overwriting one is not", async () => {
        const id = await create({ name: "views-cap", tags: Array.from({ length: 50 }, (_, i) => ({ key: `mlflow.customView.view${i}`, value: "v" })) });
        await invalid(
          post("set-experiment-tag", { experiment_id: id, key: "mlflow.customView.view50", value: "v" }),
          `Unable to create another custom view for experiment ${id}; the maximum number of custom views per experiment is 50. Delete an existing custom view before creating a new one.`,
        );
        expect((await post("set-experiment-tag", { experiment_id: id, key: "mlflow.customView.view3", value: "new" })).status).toBe(200);
      });
    });

    describe("deleteExperiment / restoreExperiment", () => {
      test("runs follow their experiment; assessments their runs produced are deleted", async () => {
        const id = await create({ name: "with-runs" });
        const eid = Number(id);
        for (const [run, stage, deleted] of [[`r${id}a`, "active", null], [`r${id}b`, "deleted", 5]] as const) {
          await db.run(sql`INSERT INTO runs (run_uuid, name, status, start_time, lifecycle_stage, experiment_id, artifact_uri, source_type, user_id, deleted_time)
            VALUES (${run}, 'r', 'RUNNING', 1, ${stage}, ${eid}, 'x', 'LOCAL', 'u', ${deleted})`);
        }
        await db.run(sql`INSERT INTO trace_info (request_id, experiment_id, timestamp_ms, status) VALUES (${`t${id}`}, ${eid}, 1, 'OK')`);
        const metadata = [`{"mlflow.assessment.sourceRunId": "r${id}a"}`, `{"mlflow.assessment.sourceRunId": "r${id}b", "x": 1}`, `{"mlflow.assessment.sourceRunId": "other"}`, null];
        for (const [i, m] of metadata.entries()) {
          await db.run(sql`INSERT INTO assessments (assessment_id, trace_id, name, assessment_type, value, created_timestamp, last_updated_timestamp, source_type, valid, assessment_metadata)
            VALUES (${`a${id}_${i}`}, ${`t${id}`}, 'n', 'feedback', '1', 1, 1, 'HUMAN', ${true}, ${m})`);
        }
        const before = await experiment(id);
        await Bun.sleep(5);
        expect((await post("delete", { experiment_id: id })).body).toEqual({});
        const deleted = await experiment(id);
        expect(deleted.lifecycle_stage).toBe("deleted");
        expect(deleted.last_update_time).toBeGreaterThan(before.last_update_time);
        const runs = await db.all(sql`SELECT run_uuid, lifecycle_stage, deleted_time FROM runs WHERE experiment_id = ${eid} ORDER BY run_uuid`);
        expect(runs.map((r) => [r.run_uuid, r.lifecycle_stage, Number(r.deleted_time) >= deleted.last_update_time])).toEqual([[`r${id}a`, "deleted", true], [`r${id}b`, "deleted", true]]);
        const left = await db.all(sql`SELECT assessment_id FROM assessments WHERE trace_id = ${`t${id}`} ORDER BY assessment_id`);
        expect(left.map((r) => r.assessment_id)).toEqual([`a${id}_2`, `a${id}_3`]);

        expect((await post("restore", { experiment_id: id })).body).toEqual({});
        expect((await experiment(id)).lifecycle_stage).toBe("active");
        const restored = await db.all(sql`SELECT run_uuid, lifecycle_stage, deleted_time FROM runs WHERE experiment_id = ${eid} ORDER BY run_uuid`);
        expect(restored).toEqual([{ run_uuid: `r${id}a`, lifecycle_stage: "active", deleted_time: null }, { run_uuid: `r${id}b`, lifecycle_stage: "active", deleted_time: null }]);
      });

      test("errors", async () => {
        const id = await create({ name: "delete-errors" });
        await invalid(post("delete", {}), `Missing value for required parameter 'experiment_id'.${SCHEMA_HINT}`);
        await invalid(post("delete", { experiment_id: 2 }), `Invalid value 2 for parameter 'experiment_id' supplied:  Hint: Value was of type 'int'.${SCHEMA_HINT}`);
        await invalid(post("delete", { experiment_id: "x" }), "Invalid experiment ID 'x'. Experiment ID must be a valid integer.");
        await fails(post("restore", { experiment_id: id }), 404, "RESOURCE_DOES_NOT_EXIST", `No Experiment with id=${id} exists`); // not deleted
        await post("delete", { experiment_id: id });
        await fails(post("delete", { experiment_id: id }), 404, "RESOURCE_DOES_NOT_EXIST", `No Experiment with id=${id} exists`);
        await fails(post("restore", { experiment_id: "999" }), 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=999 exists");
        expect((await get("get-by-name", { experiment_name: "delete-errors" })).body.experiment.lifecycle_stage).toBe("deleted");
      });
    });

    describe("searchExperiments", () => {
      beforeAll(async () => {
        for (const [name, tags] of [["s-alpha", { team: "A", env: "prod" }], ["s-Beta", { team: "a" }], ["s-gamma", {}], ["s-delta", { team: "b" }]] as const) {
          await create({ name, tags: Object.entries(tags).map(([key, value]) => ({ key, value })) });
        }
        const gone = await create({ name: "s-deleted", tags: [{ key: "team", value: "A" }] });
        await post("delete", { experiment_id: gone });
      });
      const S = (filter: string, extra: Record<string, unknown> = {}) => names({ filter: `name LIKE 's-%' AND ${filter}`, order_by: ["name"], ...extra });

      test("filters: attributes, tags, LIKE case-sensitive and ILIKE not, on both dialects", async () => {
        expect(await S("name = 's-alpha'")).toEqual(["s-alpha"]);
        expect(await S("name != 's-alpha'")).toEqual(["s-Beta", "s-delta", "s-gamma"]);
        expect(await S("name LIKE 's-b%'")).toEqual([]);
        expect(await S("name ILIKE 'S-B%'")).toEqual(["s-Beta"]);
        expect(await S("name LIKE 's-_eta'")).toEqual(["s-Beta"]);
        expect(await S("tags.team = 'A'")).toEqual(["s-alpha"]);
        expect(await S("tags.team LIKE 'a'")).toEqual(["s-Beta"]);
        expect(await S("tags.team ILIKE 'a'")).toEqual(["s-Beta", "s-alpha"]);
        expect(await S("tags.team != 'A'")).toEqual(["s-Beta", "s-delta"]);
        expect(await S("tags.team IS NULL")).toEqual(["s-gamma"]);
        expect(await S("tags.`team` IS NOT NULL AND tags.\"env\" = \"prod\"")).toEqual(["s-alpha"]);
        expect(await S("attributes.creation_time > 0 and last_update_time >= 0")).toEqual(["s-Beta", "s-alpha", "s-delta", "s-gamma"]);
        expect(await S("creation_time < 0")).toEqual([]);
        expect(await S("tags.team = 'A'", { view_type: "ALL" })).toEqual(["s-alpha", "s-deleted"]);
        expect(await S("tags.team = 'A'", { view_type: "DELETED_ONLY" })).toEqual(["s-deleted"]);
        const alpha = (await get("get-by-name", { experiment_name: "s-alpha" })).body.experiment.experiment_id;
        const gamma = (await get("get-by-name", { experiment_name: "s-gamma" })).body.experiment.experiment_id;
        expect(await S(`experiment_id IN ('${alpha}', '${gamma}', '99999999999')`)).toEqual(["s-alpha", "s-gamma"]);
        expect(await S(`experiment_id NOT IN ('${alpha}')`)).toEqual(["s-Beta", "s-delta", "s-gamma"]);
        expect(await S(`experiment_id = "${alpha}"`)).toEqual(["s-alpha"]);
      });

      test("order_by, default order and tie-breaker, pagination", async () => {
        const ids = await Promise.all(["s-alpha", "s-Beta", "s-gamma", "s-delta"].map(async (n) => (await get("get-by-name", { experiment_name: n })).body.experiment.experiment_id));
        // same creation_time for all: the default order falls back to experiment_id ASC
        await db.run(sql`UPDATE experiments SET creation_time = 5, last_update_time = 7 WHERE name LIKE 's-%'`);
        const filter = "name LIKE 's-%'";
        expect((await search({ filter })).body.experiments.map((e: any) => e.experiment_id)).toEqual([...ids].sort((a, b) => a - b));
        // order_by without experiment_id: experiment_id DESC breaks ties
        expect((await search({ filter, order_by: ["creation_time"] })).body.experiments.map((e: any) => e.experiment_id)).toEqual([...ids].sort((a, b) => b - a));
        expect(await names({ filter, order_by: ["name DESC"] })).toEqual(["s-gamma", "s-delta", "s-alpha", "s-Beta"]);
        expect(await names({ filter, order_by: ["`name` asc"] })).toEqual(["s-Beta", "s-alpha", "s-delta", "s-gamma"]);
        expect(await names({ filter, order_by: ["attribute.experiment_id desc"] })).toEqual(["s-delta", "s-gamma", "s-Beta", "s-alpha"]);

        const page1 = await search({ filter, order_by: ["name"], max_results: 3 });
        expect(page1.body.experiments.map((e: any) => e.name)).toEqual(["s-Beta", "s-alpha", "s-delta"]);
        expect(page1.body.next_page_token).toBe(token(3));
        expect(Buffer.from(page1.body.next_page_token, "base64").toString()).toBe('{"offset": 3}');
        const page2 = await search({ filter, order_by: ["name"], max_results: 3, page_token: page1.body.next_page_token });
        expect(page2.body).toEqual({ experiments: [expect.objectContaining({ name: "s-gamma" })] });
        expect((await search({ filter, max_results: 4 })).body.next_page_token).toBeUndefined();
        expect((await search({ filter, page_token: token(10) })).body).toEqual({});
        const viaGet = await s.call("GET", "/api/2.0/mlflow/experiments/search", { max_results: "2", filter, order_by: ["name DESC", "experiment_id"] });
        expect(viaGet.body.experiments.map((e: any) => e.name)).toEqual(["s-gamma", "s-delta"]);
        expect(viaGet.body.next_page_token).toBe(token(2));
      });

      test("max_results, view_type and page_token errors", async () => {
        await invalid(post("search", {}), "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer");
        await invalid(search({ max_results: -3 }), "Invalid value -3 for parameter 'max_results' supplied. It must be a positive integer");
        await invalid(search({ max_results: 50001 }), "Invalid value 50001 for parameter 'max_results' supplied. It must be at most 50000");
        expect((await search({ max_results: 50000 })).status).toBe(200);
        await invalid(search({ max_results: "abc" }), `Invalid value "abc" for parameter 'max_results' supplied:  Hint: Value was of type 'str'.${SCHEMA_HINT}`);
        await invalid(search({ order_by: "name" }), `Invalid value "name" for parameter 'order_by' supplied:  Hint: Value was of type 'str'.${SCHEMA_HINT}`);
        await invalid(search({ page_token: "abc" }), "Invalid page token, could not base64-decode");
        await invalid(search({ page_token: b64('{"a": 1}') }), "Invalid page token, parsed value={'a': 1}");
        await invalid(search({ page_token: b64('{"offset": 0.0, "b": [true, null, "s"]}') }), "Invalid page token, parsed value={'offset': 0.0, 'b': [True, None, 's']}");
        await invalid(search({ page_token: b64("not json") }), "Invalid page token, decoded value=b'not json'");
        await invalid(search({ page_token: b64('{"offset": "abc"}') }), "Invalid page token, not stringable abc");
        await fails(search({ page_token: b64("[1]") }), 500, "INTERNAL_ERROR", "'list' object has no attribute 'get'");
        await fails(search({ page_token: "éé" }), 500, "INTERNAL_ERROR", "string argument should contain only ASCII characters");
        expect((await search({ page_token: b64('{"offset": "1"}'), view_type: "ALL" })).status).toBe(200);
      });

      test("filter and order_by errors, in MLflow's words", async () => {
        const F = (filter: string) => search({ filter });
        await invalid(F("name = 'a' OR name = 'b'"), "Invalid clause(s) in filter string: OR");
        await invalid(F("name = 'a' AND x"), "Invalid clause(s) in filter string: x");
        expect((await F("name = 'a' AND")).body).toEqual({}); // MLflow accepts a dangling AND
        await invalid(F("name = 'a'; name = 'b'"), `Search filter contained multiple expression "name = 'a'; name = 'b'". Provide AND-ed expression list.`);
        await invalid(F("foo = 'x'"), `Invalid attribute key 'foo' specified. Valid keys are '${KEYS}'`);
        await invalid(F("metric.x = 'x'"), "Invalid entity type 'metric'. Valid entity types are ('attribute', 'attributes', 'tag', 'tags')");
        await invalid(F("name = abc"), "Parameter value is either not quoted or unidentified quote types used for string value abc. Use either single or double quotes.");
        await invalid(F("name = 5"), "Expected a quoted string value for attributes. Got value 5");
        await invalid(F("tags.x = 5"), "Expected a quoted string value for tag (e.g. 'my-value'). Got value 5");
        await invalid(F("creation_time = '5'"), "Expected numeric value type for numeric attribute: creation_time. Found '5'");
        await invalid(F("creation_time > 1.5"), "Invalid value for numeric attribute 'creation_time': '1.5'");
        await invalid(F("creation_time > 1e3"), "Invalid value for numeric attribute 'creation_time': '1000.0'");
        await invalid(F("creation_time LIKE 5"), `Invalid comparator 'LIKE' not one of '${STRING_COMPARATORS}`);
        await invalid(F("name == 'a'"), `Invalid comparator '==' not one of '${STRING_COMPARATORS}'`);
        await invalid(F("name NOT LIKE 'a'"), `Invalid comparator 'NOT LIKE' not one of '${STRING_COMPARATORS}'`);
        await invalid(F("tags.x > 'a'"), "Invalid comparator for tag: >");
        await invalid(F("experiment_id > '1'"), "Invalid comparator for experiment_id: >");
        await invalid(F("experiment_id = 'x'"), "Invalid experiment ID 'x'. Experiment ID must be a valid integer.");
        await invalid(F("name IN ('a')"), "Only ['experiment_id'] attributes support comparison with a list of quoted string values.");
        await invalid(F("name IS NULL"), "IS NULL / IS NOT NULL is only supported for tags, not for attribute 'name'");
        await invalid(F("experiment_id IN (1, 2)"), "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: (1, 2)");
        await invalid(F("experiment_id IN ()"), "While parsing a list in the query, expected a non-empty list of string values, but got empty list");
        await invalid(F("experiment_id IN ('1',, '2')"), "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.");
        const malformed = await F("experiment_id IN (a, b)");
        expect(malformed.status).toBe(500);
        expect(malformed.body.message).toStartWith("malformed node or string on line 1: <ast.Name object at 0x");
        if (dialect === "sqlite") {
          await fails(F("tags.t = 'x' AND experiment_id = ('1', '2')"), 400, "BAD_REQUEST", "(sqlite3.ProgrammingError) Error binding parameter 3: type 'tuple' is not supported");
          await fails(F("creation_time > 99999999999999999999"), 500, "INTERNAL_ERROR", "Python int too large to convert to SQLite INTEGER");
        } else {
          await fails(F("experiment_id = ('1', '2')"), 400, "BAD_REQUEST", "operator does not exist: integer = record");
          expect((await F("creation_time > 99999999999999999999")).body).toEqual({});
        }
        // a binding error comes last, after every other check
        await invalid(F("experiment_id = ('1', '2') AND tags.x > 'a'"), "Invalid comparator for tag: >");
        await invalid(search({ filter: "creation_time > 99999999999999999999", page_token: "abc" }), "Invalid page token, could not base64-decode");

        const O = (order_by: string) => search({ order_by: [order_by] });
        await invalid(O("foo"), `Invalid attribute key 'foo' specified. Valid keys are '${KEYS}'`);
        await invalid(O("tags.x"), "Invalid order_by entity: tag");
        await invalid(O("name ASC DESC"), "Invalid order_by clause 'name ASC DESC'. Could not be parsed.");
        await invalid(O(""), "Invalid order_by clause ''. Could not be parsed.");
        await invalid(O("name up"), "Invalid ordering key in order_by clause 'name up'.");
        await invalid(O("timestamp"), `Invalid attribute key 'timestamp' specified. Valid keys are '${KEYS}'`);
      });
    });
  });
}
