// The run endpoints (create, get, update, delete, restore, log-metric, log-parameter, set-tag,
// delete-tag, log-inputs, log-model) on both dialects, against what MLflow 3.18.0's server
// answers and writes (expected bodies and rows were taken from the real server). log-batch is in
// log-batch.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openDb, type Db } from "../../src/store/db";
import { loadRuns } from "../../src/store/run-view";
import { sql } from "../../src/store/sql";
import { DIALECTS, startTestServer, type TestServer } from "../support/server";

const HINT = " See the API docs for more information about request parameters.";
const CLASSIFIED: Record<string, [string, string]> = {
  INVALID_PARAMETER_VALUE: ["KAM00", "INVALID_PARAMETER_VALUE"],
  BAD_REQUEST: ["KAM00", "INVALID_PARAMETER_VALUE"],
  RESOURCE_DOES_NOT_EXIST: ["KAM00", "RESOURCE_NOT_FOUND"],
  INTERNAL_ERROR: ["XXM00", "CLIENT_INTERNAL_ERROR"],
};
const AUTOFLUSH = "(raised as a result of Query-invoked autoflush; consider using a session.no_autoflush block if this flush is occurring prematurely)\n";
const BAD_NAME = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).";
const RESOLVES = "Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to";
const RUN_INSERT_PG =
  "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, deleted_time, source_version, lifecycle_stage, artifact_uri, experiment_id) " +
  "VALUES (%(run_uuid)s, %(name)s, %(source_type)s, %(source_name)s, %(entry_point_name)s, %(user_id)s, %(status)s, %(start_time)s, %(end_time)s, %(deleted_time)s, %(source_version)s, %(lifecycle_stage)s, %(artifact_uri)s, %(experiment_id)s)";
const shown = (v: string) => (v.length + 2 > 300 ? `'${v.slice(0, 149)} ... (${v.length + 2 - 300} characters truncated) ... ${v.slice(-149)}'` : `'${v}'`);

type Reply = Promise<{ status: number; body: any }>;

for (const dialect of DIALECTS) {
  describe(`runs (${dialect})`, () => {
    let s: TestServer;
    let db: Db;
    const post = (path: string, body: unknown) => s.call("POST", `/api/2.0/mlflow/${path}`, body);
    const get = (path: string, query: Record<string, unknown>) => s.call("GET", `/api/2.0/mlflow/${path}`, query);
    const createRun = async (body: Record<string, unknown> = {}) => {
      const r = await post("runs/create", { experiment_id: "0", ...body });
      expect(r.status).toBe(200);
      return r.body.run;
    };
    const newRun = async (name = "r") => (await createRun({ run_name: name })).info.run_id as string;
    const getRun = async (runId: string) => (await get("runs/get", { run_id: runId })).body.run;
    const fails = async (p: Reply, status: number, error_code: string, message: string) => {
      const r = await p;
      const [sqlstate, error_class] = CLASSIFIED[error_code]!;
      expect(r.body).toEqual({ error_code, message, sqlstate, error_class });
      expect(r.status).toBe(status);
    };
    const invalid = (p: Reply, message: string) => fails(p, 400, "INVALID_PARAMETER_VALUE", message);
    /** An error whose message matches, <HEX> standing for a 32-hex id and <NAME> for a generated run name. */
    const failsLike = async (p: Reply, status: number, error_code: string, pattern: string) => {
      const r = await p;
      const re = new RegExp(
        "^" + pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/<HEX>/g, "[0-9a-f]{32}").replace(/<NAME>/g, "[a-z]+-[a-z]+-\\d+") + "$",
      );
      expect(r.body.message).toMatch(re);
      const [sqlstate, error_class] = CLASSIFIED[error_code]!;
      expect({ ...r.body, message: "" }).toEqual({ error_code, message: "", sqlstate, error_class });
      expect(r.status).toBe(status);
    };

    beforeAll(async () => {
      s = await startTestServer(dialect);
      db = openDb(s.backendStoreUri, { poolSize: 2 });
    }, 30_000);
    afterAll(async () => {
      await db.close();
      await s.stop();
    }, 30_000);

    describe("createRun", () => {
      test("the run MLflow creates: row, tags, answer (fields in MLflow's order, inputs {}, no outputs)", async () => {
        const r = await post("runs/create", { experiment_id: "0", user_id: "u", start_time: 123, run_name: "first", tags: [{ key: "t", value: "v" }, { key: "e" }] });
        expect(r.status).toBe(200);
        const id = r.body.run.info.run_id;
        expect(id).toMatch(/^[0-9a-f]{32}$/);
        const artifactUri = `mlflow-artifacts:/0/${id}/artifacts`;
        expect(r.body).toEqual({
          run: {
            info: { run_uuid: id, experiment_id: "0", run_name: "first", user_id: "u", status: "RUNNING", start_time: 123, artifact_uri: artifactUri, lifecycle_stage: "active", run_id: id },
            data: { tags: [{ key: "t", value: "v" }, { key: "e", value: "" }, { key: "mlflow.runName", value: "first" }] },
            inputs: {},
          },
        });
        expect(Object.keys(r.body.run.info)).toEqual(["run_uuid", "experiment_id", "run_name", "user_id", "status", "start_time", "artifact_uri", "lifecycle_stage", "run_id"]);
        const row = await db.one(sql`SELECT * FROM runs WHERE run_uuid = ${id}`);
        expect({ ...row, start_time: Number(row!.start_time), experiment_id: Number(row!.experiment_id) } as Record<string, unknown>).toEqual({
          run_uuid: id, name: "first", source_type: "UNKNOWN", source_name: "", entry_point_name: "", user_id: "u", status: "RUNNING", start_time: 123,
          end_time: null, source_version: "", lifecycle_stage: "active", artifact_uri: artifactUri, experiment_id: 0, deleted_time: null,
        });
      });

      test("run names: given, from the mlflow.runName tag, or generated from MLflow's word lists", async () => {
        const generated = await createRun();
        expect(generated.info.run_name).toMatch(/^[a-z]+-[a-z]+-\d{1,4}$/);
        expect(generated.info.run_name.length).toBeLessThanOrEqual(20);
        expect(generated.data.tags).toEqual([{ key: "mlflow.runName", value: generated.info.run_name }]);
        expect(generated.info.start_time).toBe(0); // start_time defaults to the proto's 0
        const fromTag = await createRun({ tags: [{ key: "mlflow.runName", value: "tagged" }] });
        expect([fromTag.info.run_name, fromTag.data.tags]).toEqual(["tagged", [{ key: "mlflow.runName", value: "tagged" }]]);
        const same = await createRun({ run_name: "b", tags: [{ key: "mlflow.runName", value: "b" }] });
        expect(same.data.tags).toEqual([{ key: "mlflow.runName", value: "b" }]);
        await invalid(
          post("runs/create", { experiment_id: "0", run_name: "a", tags: [{ key: "mlflow.runName", value: "b" }] }),
          "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='a', mlflow.runName='b').",
        );
      });

      test("the experiment: parsed as MLflow parses it, answered as given, and it must be active", async () => {
        const run = await createRun({ experiment_id: "00", run_name: "zeros" });
        expect(run.info.experiment_id).toBe("00");
        expect((await getRun(run.info.run_id)).info.experiment_id).toBe("0");
        await invalid(post("runs/create", { experiment_id: "abc" }), "Invalid experiment ID 'abc'. Experiment ID must be a valid integer.");
        await fails(post("runs/create", { experiment_id: "12345" }), 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=12345 exists");
        const eid = (await post("experiments/create", { name: "gone", artifact_location: "s3://b/x?q=1" })).body.experiment_id;
        const inExperiment = await createRun({ experiment_id: eid });
        expect(inExperiment.info.artifact_uri).toBe(`s3://b/x/${inExperiment.info.run_id}/artifacts?q=1`);
        await post("experiments/delete", { experiment_id: eid });
        await invalid(post("runs/create", { experiment_id: eid }), `The experiment ${eid} must be in the 'active' state. Current state is deleted.`);
      });

      test("request schema", async () => {
        await invalid(post("runs/create", { experiment_id: 5 }), `Invalid value 5 for parameter 'experiment_id' supplied:  Hint: Value was of type 'int'.${HINT}`);
        await invalid(post("runs/create", { experiment_id: "0", start_time: "x" }), `Invalid value "x" for parameter 'start_time' supplied:  Hint: Value was of type 'str'.${HINT}`);
        await invalid(post("runs/create", { experiment_id: "0", run_name: 7 }), `Invalid value 7 for parameter 'run_name' supplied:  Hint: Value was of type 'int'.${HINT}`);
      });

      test("no experiment id: the default experiment is checked, then the row's empty id fails the database", async () => {
        const tail = "'RUNNING', 0, None, None, '', 'active', 'mlflow-artifacts:/0/<HEX>/artifacts', '')]\n(Background on this error at: https://sqlalche.me/e/21/";
        if (dialect === "sqlite") {
          await failsLike(post("runs/create", {}), 400, "BAD_REQUEST",
            `${AUTOFLUSH}(sqlite3.IntegrityError) FOREIGN KEY constraint failed\n[SQL: INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, deleted_time, source_version, lifecycle_stage, artifact_uri, experiment_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)]\n` +
              `[parameters: ('<HEX>', '<NAME>', 'UNKNOWN', '', '', '', ${tail}gkpj)`);
        } else {
          await failsLike(post("runs/create", {}), 400, "BAD_REQUEST",
            `${AUTOFLUSH}(psycopg2.errors.InvalidTextRepresentation) invalid input syntax for type integer: ""\nLINE 1: ...rtifacts:/0/<HEX>/artifacts', '')\n${" ".repeat(68)}^\n\n[SQL: ${RUN_INSERT_PG}]\n` +
              `[parameters: {'run_uuid': '<HEX>', 'name': '<NAME>', 'source_type': 'UNKNOWN', 'source_name': '', 'entry_point_name': '', 'user_id': '', 'status': 'RUNNING', 'start_time': 0, 'end_time': None, 'deleted_time': None, 'source_version': '', 'lifecycle_stage': 'active', 'artifact_uri': 'mlflow-artifacts:/0/<HEX>/artifacts', 'experiment_id': ''}]\n(Background on this error at: https://sqlalche.me/e/21/9h9h)`);
        }
      });

      test("tags are not validated: a repeated key (or an empty mlflow.runName) fails the tags' INSERT", async () => {
        const statement = dialect === "sqlite"
          ? ['INSERT INTO tags ("key", value, run_uuid) VALUES (?, ?, ?)', "[('a', '1', '<HEX>'), ('a', '2', '<HEX>'), ('mlflow.runName', '<NAME>', '<HEX>')]"]
          : ["INSERT INTO tags (key, value, run_uuid) VALUES (%(key__0)s, %(value__0)s, %(run_uuid__0)s), (%(key__1)s, %(value__1)s, %(run_uuid__1)s), (%(key__2)s, %(value__2)s, %(run_uuid__2)s)",
             "{'key__0': 'a', 'value__0': '1', 'run_uuid__0': '<HEX>', 'key__1': 'a', 'value__1': '2', 'run_uuid__1': '<HEX>', 'key__2': 'mlflow.runName', 'value__2': '<NAME>', 'run_uuid__2': '<HEX>'}"];
        const violation = (key: string) => dialect === "sqlite"
          ? "(sqlite3.IntegrityError) UNIQUE constraint failed: tags.key, tags.run_uuid"
          : `(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "tag_pk"\nDETAIL:  Key (key, run_uuid)=(${key}, <HEX>) already exists.\n`;
        await failsLike(post("runs/create", { experiment_id: "0", tags: [{ key: "a", value: "1" }, { key: "a", value: "2" }] }), 400, "BAD_REQUEST",
          `${AUTOFLUSH}${violation("a")}\n[SQL: ${statement[0]}]\n[parameters: ${statement[1]}]\n(Background on this error at: https://sqlalche.me/e/21/gkpj)`);
        const emptyName = dialect === "sqlite"
          ? ['INSERT INTO tags ("key", value, run_uuid) VALUES (?, ?, ?)', "[('mlflow.runName', '', '<HEX>'), ('mlflow.runName', '<NAME>', '<HEX>')]"]
          : ["INSERT INTO tags (key, value, run_uuid) VALUES (%(key__0)s, %(value__0)s, %(run_uuid__0)s), (%(key__1)s, %(value__1)s, %(run_uuid__1)s)",
             "{'key__0': 'mlflow.runName', 'value__0': '', 'run_uuid__0': '<HEX>', 'key__1': 'mlflow.runName', 'value__1': '<NAME>', 'run_uuid__1': '<HEX>'}"];
        await failsLike(post("runs/create", { experiment_id: "0", tags: [{ key: "mlflow.runName", value: "" }] }), 400, "BAD_REQUEST",
          `${AUTOFLUSH}${violation("mlflow.runName")}\n[SQL: ${emptyName[0]}]\n[parameters: ${emptyName[1]}]\n(Background on this error at: https://sqlalche.me/e/21/gkpj)`);
        // nothing was written
        expect(Number((await db.one(sql`SELECT count(*) AS n FROM tags WHERE key = 'a'`))!.n)).toBe(0);
        const odd = await createRun({ run_name: "odd", tags: [{ key: "a!b", value: "x" }] });
        expect(odd.data.tags[0]).toEqual({ key: "a!b", value: "x" });
      });

      test("PostgreSQL's VARCHAR limits (run name 250, user 256, tag key 250), as psycopg2 words them; SQLite stores", async () => {
        const long = "n".repeat(251);
        const user = "u".repeat(257);
        if (dialect === "sqlite") {
          expect((await createRun({ run_name: long, user_id: user })).info.run_name).toBe(long);
          return;
        }
        const params = (name: string, userId: string) =>
          `{'run_uuid': '<HEX>', 'name': ${shown(name)}, 'source_type': 'UNKNOWN', 'source_name': '', 'entry_point_name': '', 'user_id': ${shown(userId)}, 'status': 'RUNNING', 'start_time': 0, 'end_time': None, 'deleted_time': None, 'source_version': '', 'lifecycle_stage': 'active', 'artifact_uri': 'mlflow-artifacts:/0/<HEX>/artifacts', 'experiment_id': '0'}`;
        const truncation = (n: number) => `(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(${n})\n`;
        await failsLike(post("runs/create", { experiment_id: "0", run_name: long }), 400, "BAD_REQUEST",
          `${AUTOFLUSH}${truncation(250)}\n[SQL: ${RUN_INSERT_PG}]\n[parameters: ${params(long, "")}]\n(Background on this error at: https://sqlalche.me/e/21/9h9h)`);
        await failsLike(post("runs/create", { experiment_id: "0", run_name: "q", user_id: user }), 400, "BAD_REQUEST",
          `${AUTOFLUSH}${truncation(256)}\n[SQL: ${RUN_INSERT_PG}]\n[parameters: ${params("q", user)}]\n(Background on this error at: https://sqlalche.me/e/21/9h9h)`);
        await failsLike(post("runs/create", { experiment_id: "0", run_name: "q", tags: [{ key: long, value: "x" }] }), 400, "BAD_REQUEST",
          `${AUTOFLUSH}${truncation(250)}\n[SQL: INSERT INTO tags (key, value, run_uuid) VALUES (%(key__0)s, %(value__0)s, %(run_uuid__0)s), (%(key__1)s, %(value__1)s, %(run_uuid__1)s)]\n` +
            `[parameters: {'key__0': '${long}', 'value__0': 'x', 'run_uuid__0': '<HEX>', 'key__1': 'mlflow.runName', 'value__1': 'q', 'run_uuid__1': '<HEX>'}]\n(Background on this error at: https://sqlalche.me/e/21/9h9h)`);
      });
    });

    describe("getRun", () => {
      test("by run_id or run_uuid, GET or POST; a missing run; the schema", async () => {
        const id = await newRun("getme");
        const expected = (await get("runs/get", { run_id: id })).body;
        expect(expected.run.info.run_name).toBe("getme");
        expect(expected.run.inputs).toEqual({});
        expect(expected.run.outputs).toEqual({});
        expect((await get("runs/get", { run_uuid: id })).body).toEqual(expected);
        expect((await post("runs/get", { run_id: id })).status).toBe(405); // GET only, as in MLflow
        await fails(get("runs/get", { run_id: "nope" }), 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found");
        await invalid(get("runs/get", {}), `Missing value for required parameter 'run_id'.${HINT}`);
      });

      test("the name falls back to the mlflow.runName tag; NULL tag values and end_time 0 are left out", async () => {
        const id = await newRun("fallback");
        await db.run(sql`UPDATE runs SET name = '', end_time = 0 WHERE run_uuid = ${id}`);
        await db.run(sql`INSERT INTO tags (key, value, run_uuid) VALUES ('nullv', NULL, ${id})`);
        const run = await getRun(id);
        expect(run.info.run_name).toBe("fallback");
        expect("end_time" in run.info).toBe(false);
        expect(run.data.tags).toContainEqual({ key: "nullv" });
      });
    });

    describe("loadRuns (the view search_runs shares)", () => {
      test("given order, missing ids skipped, a constant number of queries, 50000 ids in one parameter", async () => {
        const ids = [await newRun("v1"), await newRun("v2"), await newRun("v3")];
        await post("runs/log-inputs", { run_id: ids[1], datasets: [{ dataset: { name: "d", digest: "x", source_type: "s", source: "src" } }], models: [{ model_id: "m-1" }] });
        let queries = 0;
        const counting: Db = { ...db, all: (q) => (queries++, db.all(q)), one: (q) => (queries++, db.one(q)) };
        const runs = await loadRuns(counting, [ids[2]!, "missing", ids[0]!, ids[1]!]);
        expect(runs.map((r) => r.info!.run_name)).toEqual(["v3", "v1", "v2"]);
        expect(runs[2]!.inputs).toEqual({ dataset_inputs: [{ dataset: { name: "d", digest: "x", source_type: "s", source: "src" } }] }); // no model_inputs
        // PostgreSQL: runs with metrics, params, tags and whether they have inputs in one statement,
        // then only the inputs some of them have (here: one run's dataset)
        expect(queries).toBe(dialect === "postgres" ? 2 : 6);
        queries = 0;
        const withModels = await loadRuns(counting, [ids[1]!], { modelInputs: true });
        expect(withModels[0]!.inputs!.model_inputs).toEqual([{ model_id: "m-1" }]);
        expect(queries).toBe(dialect === "postgres" ? 3 : 7);
        queries = 0;
        expect((await loadRuns(counting, [ids[0]!]))[0]!.inputs).toEqual({}); // no inputs: nothing more to read
        expect(queries).toBe(dialect === "postgres" ? 1 : 6);
        const many = Array.from({ length: 50000 }, (_, i) => (i === 49999 ? ids[0]! : `x${i}`));
        expect((await loadRuns(db, many)).map((r) => r.info!.run_id)).toEqual([ids[0]]);
        expect(await loadRuns(db, [])).toEqual([]);
      });
    });

    describe("updateRun", () => {
      test("status, end time and name (with its tag); an empty name and unknown status names are ignored", async () => {
        const id = await newRun("before");
        const r = await post("runs/update", { run_id: id, status: "FINISHED", end_time: 99 });
        expect(r.body).toEqual({
          run_info: { run_uuid: id, experiment_id: "0", run_name: "before", user_id: "", status: "FINISHED", start_time: 0, end_time: 99, artifact_uri: `mlflow-artifacts:/0/${id}/artifacts`, lifecycle_stage: "active", run_id: id },
        });
        expect((await post("runs/update", { run_uuid: id, run_name: "after" })).body.run_info.run_name).toBe("after");
        expect((await getRun(id)).data.tags).toEqual([{ key: "mlflow.runName", value: "after" }]);
        expect((await post("runs/update", { run_id: id, run_name: "" })).body.run_info.run_name).toBe("after");
        expect((await post("runs/update", { run_id: id, status: 3 })).body.run_info.status).toBe("FINISHED");
        expect((await post("runs/update", { run_id: id, status: "NOPE" })).body.run_info.status).toBe("FINISHED");
        expect((await post("runs/update", { run_id: id, status: "KILLED" })).body.run_info.status).toBe("KILLED");
        const cleared = (await post("runs/update", { run_id: id, end_time: 0 })).body.run_info;
        expect("end_time" in cleared).toBe(false);
        await db.run(sql`DELETE FROM tags WHERE run_uuid = ${id}`);
        await post("runs/update", { run_id: id, run_name: "again" });
        expect((await getRun(id)).data.tags).toEqual([{ key: "mlflow.runName", value: "again" }]);
      });

      test("errors: missing run, inactive run, schema; PostgreSQL's VARCHAR(250) for the name", async () => {
        await fails(post("runs/update", { run_id: "nope" }), 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found");
        await invalid(post("runs/update", {}), `Missing value for required parameter 'run_id'.${HINT}`);
        await invalid(post("runs/update", { run_id: "x", end_time: "soon" }), `Invalid value "soon" for parameter 'end_time' supplied:  Hint: Value was of type 'str'.${HINT}`);
        const id = await newRun("upd");
        const long = "n".repeat(251);
        if (dialect === "postgres") {
          await fails(post("runs/update", { run_id: id, run_name: long, status: "FAILED" }), 400, "BAD_REQUEST",
            `${AUTOFLUSH}(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(250)\n\n[SQL: UPDATE runs SET name=%(name)s, status=%(status)s WHERE runs.run_uuid = %(runs_run_uuid)s]\n` +
              `[parameters: {'name': '${long}', 'status': 'FAILED', 'runs_run_uuid': '${id}'}]\n(Background on this error at: https://sqlalche.me/e/21/9h9h)`);
          expect((await getRun(id)).info.status).toBe("RUNNING");
        } else {
          expect((await post("runs/update", { run_id: id, run_name: long })).body.run_info.run_name).toBe(long);
        }
        await post("runs/delete", { run_id: id });
        await invalid(post("runs/update", { run_id: id, status: "FAILED" }), `The run ${id} must be in the 'active' state. Current state is deleted.`);
      });
    });

    describe("deleteRun / restoreRun", () => {
      test("lifecycle stage and deleted_time; the run's assessments are deleted; any stage may be restored", async () => {
        const id = await newRun("del");
        const other = await newRun("keep");
        await db.run(sql`INSERT INTO trace_info (request_id, experiment_id, timestamp_ms, status) VALUES (${`t-${id}`}, 0, 1, 'OK')`);
        const metadata = [`{"mlflow.assessment.sourceRunId": "${id}"}`, `{"x": 1, "mlflow.assessment.sourceRunId": "${id}"}`, `{"mlflow.assessment.sourceRunId": "${other}"}`, null];
        for (const [i, m] of metadata.entries()) {
          await db.run(sql`INSERT INTO assessments (assessment_id, trace_id, name, assessment_type, value, created_timestamp, last_updated_timestamp, source_type, valid, assessment_metadata)
            VALUES (${`a-${id}-${i}`}, ${`t-${id}`}, 'n', 'feedback', '1', 1, 1, 'HUMAN', ${true}, ${m})`);
        }
        const before = Date.now();
        expect((await post("runs/delete", { run_id: id })).body).toEqual({});
        const row = await db.one(sql`SELECT lifecycle_stage, deleted_time FROM runs WHERE run_uuid = ${id}`);
        expect(row!.lifecycle_stage).toBe("deleted");
        expect(Number(row!.deleted_time)).toBeGreaterThanOrEqual(before);
        const left = await db.all(sql`SELECT assessment_id FROM assessments WHERE trace_id = ${`t-${id}`} ORDER BY assessment_id`);
        expect(left.map((r) => r.assessment_id)).toEqual([`a-${id}-2`, `a-${id}-3`]);
        expect((await getRun(id)).info.lifecycle_stage).toBe("deleted");
        expect((await post("runs/delete", { run_id: id })).status).toBe(200); // again: no active check
        expect((await post("runs/restore", { run_id: id })).body).toEqual({});
        expect(await db.one(sql`SELECT lifecycle_stage, deleted_time FROM runs WHERE run_uuid = ${id}`)).toEqual({ lifecycle_stage: "active", deleted_time: null });
        expect((await post("runs/restore", { run_id: id })).status).toBe(200);
      });

      test("errors", async () => {
        await fails(post("runs/delete", { run_id: "nope" }), 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found");
        await fails(post("runs/restore", { run_id: "nope" }), 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found");
        // the schema takes run_uuid for run_id, but DeleteRun has no run_uuid field
        await fails(post("runs/delete", { run_uuid: "nope" }), 404, "RESOURCE_DOES_NOT_EXIST", "Run with id= not found");
        await invalid(post("runs/restore", {}), `Missing value for required parameter 'run_id'.${HINT}`);
      });
    });

    describe("logParam", () => {
      test("immutable: the same value again is a no-op, another value MLflow's error; values over 6000 characters are cut", async () => {
        const id = await newRun("params");
        expect((await post("runs/log-parameter", { run_id: id, key: "p", value: "1" })).body).toEqual({});
        expect((await post("runs/log-parameter", { run_uuid: id, key: "p", value: "1" })).status).toBe(200);
        await invalid(post("runs/log-parameter", { run_id: id, key: "p", value: "2" }),
          `Changing param values is not allowed. Param with key='p' was already logged with value='1' for run ID='${id}'. Attempted logging new value '2'.`);
        await post("runs/log-parameter", { run_id: id, key: "long", value: "é".repeat(6001) });
        await post("runs/log-parameter", { run_id: id, key: "empty" });
        expect(await db.all(sql`SELECT key, value FROM params WHERE run_uuid = ${id} ORDER BY key`)).toEqual([
          { key: "empty", value: "" }, { key: "long", value: "é".repeat(6000) }, { key: "p", value: "1" },
        ]);
        // the cut value is what later logs compare with
        expect((await post("runs/log-parameter", { run_id: id, key: "long", value: "é".repeat(6002) })).status).toBe(200);
        process.env.MLFLOW_TRUNCATE_LONG_VALUES = "false";
        try {
          await invalid(post("runs/log-parameter", { run_id: id, key: "x", value: "v".repeat(6001) }), "'Param value' exceeds the maximum length of 6000 characters");
        } finally {
          delete process.env.MLFLOW_TRUNCATE_LONG_VALUES;
        }
      });

      test("key validation and schema", async () => {
        const id = await newRun("param-keys");
        const param = (key: unknown) => post("runs/log-parameter", { run_id: id, key, value: "x" });
        await invalid(param("a b!"), `Invalid value "a b!" for parameter 'key' supplied: ${BAD_NAME}`);
        await invalid(param("a/./b"), `Invalid value "a/./b" for parameter 'key' supplied: ${RESOLVES} 'a/b'`);
        await invalid(param("/abs"), `Invalid value "/abs" for parameter 'key' supplied: ${RESOLVES} '/abs'`);
        await invalid(param("k".repeat(251)), "'Param key' exceeds the maximum length of 250 characters");
        await invalid(param(""), `Missing value for required parameter 'key'.${HINT}`);
        await invalid(param(3), `Invalid value 3 for parameter 'key' supplied:  Hint: Value was of type 'int'.${HINT}`);
        await invalid(post("runs/log-parameter", { key: "a", value: "x" }), `Missing value for required parameter 'run_id'.${HINT}`);
        expect((await param("ключ: значение/1")).status).toBe(200);
      });
    });

    describe("setTag / deleteTag", () => {
      test("set upserts, values over 8000 characters are cut; mlflow.runName renames the run (an empty one does nothing)", async () => {
        const id = await newRun("tags");
        await post("runs/set-tag", { run_id: id, key: "t", value: "1" });
        await post("runs/set-tag", { run_uuid: id, key: "t", value: "2" });
        await post("runs/set-tag", { run_id: id, key: "long", value: "v".repeat(8001) });
        await post("runs/set-tag", { run_id: id, key: "novalue" });
        expect(await db.all(sql`SELECT key, value FROM tags WHERE run_uuid = ${id} AND key <> 'mlflow.runName' ORDER BY key`)).toEqual([
          { key: "long", value: "v".repeat(8000) }, { key: "novalue", value: "" }, { key: "t", value: "2" },
        ]);
        await post("runs/set-tag", { run_id: id, key: "mlflow.runName", value: "renamed" });
        expect((await getRun(id)).info.run_name).toBe("renamed");
        expect((await db.one(sql`SELECT value FROM tags WHERE run_uuid = ${id} AND key = 'mlflow.runName'`))!.value).toBe("renamed");
        await post("runs/set-tag", { run_id: id, key: "mlflow.runName", value: "" });
        expect((await db.one(sql`SELECT name FROM runs WHERE run_uuid = ${id}`))!.name).toBe("renamed");
        if (dialect === "postgres") {
          const long = "n".repeat(251);
          await fails(post("runs/set-tag", { run_id: id, key: "mlflow.runName", value: long }), 400, "BAD_REQUEST",
            `${AUTOFLUSH}(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(250)\n\n[SQL: UPDATE runs SET name=%(name)s WHERE runs.run_uuid = %(runs_run_uuid)s]\n` +
              `[parameters: {'name': '${long}', 'runs_run_uuid': '${id}'}]\n(Background on this error at: https://sqlalche.me/e/21/9h9h)`);
        }
      });

      test("validation", async () => {
        const id = await newRun("tag-keys");
        const tag = (key: unknown, value: unknown = "v") => post("runs/set-tag", { run_id: id, key, value });
        await invalid(tag("a!"), `Invalid value "a!" for parameter 'key' supplied: ${BAD_NAME}`);
        await invalid(tag("../x"), `Invalid value "../x" for parameter 'key' supplied: ${RESOLVES} '../x'`);
        await invalid(tag("k".repeat(251)), "'key' exceeds the maximum length of 250 characters");
        await invalid(tag("k", 5), `Invalid value 5 for parameter 'value' supplied:  Hint: Value was of type 'int'.${HINT}`);
        await invalid(tag(""), `Missing value for required parameter 'key'.${HINT}`);
        process.env.MLFLOW_TRUNCATE_LONG_VALUES = "0";
        try {
          await invalid(tag("k", "v".repeat(8001)), "'value' exceeds the maximum length of 8000 characters");
        } finally {
          delete process.env.MLFLOW_TRUNCATE_LONG_VALUES;
        }
      });

      test("delete: the tag must exist (mlflow.runName too, and the name stays)", async () => {
        const id = await newRun("deltags");
        await post("runs/set-tag", { run_id: id, key: "t", value: "1" });
        expect((await post("runs/delete-tag", { run_id: id, key: "t" })).body).toEqual({});
        await fails(post("runs/delete-tag", { run_id: id, key: "t" }), 404, "RESOURCE_DOES_NOT_EXIST", `No tag with name: t in run with id ${id}`);
        // DeleteTag has no run_uuid field: the schema takes it, the store gets ""
        await fails(post("runs/delete-tag", { run_uuid: id, key: "t" }), 404, "RESOURCE_DOES_NOT_EXIST", "Run with id= not found");
        await invalid(post("runs/delete-tag", { run_id: id }), `Missing value for required parameter 'key'.${HINT}`);
        await post("runs/delete-tag", { run_id: id, key: "mlflow.runName" });
        expect((await getRun(id)).info.run_name).toBe("deltags");
      });
    });

    describe("logInputs", () => {
      const dataset = (name: string, extra: Record<string, string> = {}) => ({ name, digest: "d1", source_type: "local", source: "src", ...extra });

      test("datasets shared per experiment by (name, digest); a run links each once, tags only with the new link", async () => {
        const id = await newRun("inputs");
        const other = await newRun("inputs2");
        expect((await post("runs/log-inputs", { run_id: id, datasets: [
          { dataset: dataset("ds1", { schema: "{}", profile: "p" }), tags: [{ key: "context", value: "train" }, { key: "b", value: "2" }] },
          { dataset: dataset("ds2") },
          { dataset: dataset("ds1", { source: "ignored" }), tags: [{ key: "x", value: "y" }] },
        ] })).body).toEqual({});
        await post("runs/log-inputs", { run_id: id, datasets: [{ dataset: dataset("ds1"), tags: [{ key: "new", value: "t" }] }, { dataset: dataset("ds3", { schema: "" }), tags: [{ key: "z", value: "1" }] }] });
        await post("runs/log-inputs", { run_id: other, datasets: [{ dataset: dataset("ds1", { source: "changed" }), tags: [{ key: "k", value: "v" }] }] });
        await post("runs/log-inputs", { run_id: id, datasets: [{ tags: [{ key: "a", value: "b" }] }] });
        const inputs = (await getRun(id)).inputs.dataset_inputs;
        const byName = Object.fromEntries(inputs.map((i: any) => [i.dataset.name, i]));
        expect(inputs.length).toBe(4);
        expect(byName.ds1).toEqual({ tags: expect.arrayContaining([{ key: "context", value: "train" }, { key: "b", value: "2" }]), dataset: dataset("ds1", { schema: "{}", profile: "p" }) });
        expect(byName.ds1.tags.length).toBe(2);
        expect(byName.ds2).toEqual({ dataset: dataset("ds2") });
        expect(byName.ds3).toEqual({ tags: [{ key: "z", value: "1" }], dataset: dataset("ds3") }); // "" is kept in the row, left out in the answer
        expect(byName[""]).toEqual({ tags: [{ key: "a", value: "b" }], dataset: { name: "", digest: "", source_type: "", source: "" } });
        expect((await getRun(other)).inputs.dataset_inputs).toEqual([{ tags: [{ key: "k", value: "v" }], dataset: dataset("ds1", { schema: "{}", profile: "p" }) }]);
        const datasets = await db.all(sql`SELECT name, dataset_schema, dataset_profile, experiment_id FROM datasets WHERE name IN ('ds1', 'ds2', 'ds3') ORDER BY name`);
        expect(datasets.map((d) => [d.name, d.dataset_schema, d.dataset_profile, Number(d.experiment_id)])).toEqual([["ds1", "{}", "p", 0], ["ds2", null, null, 0], ["ds3", "", null, 0]]);
        const links = await db.all(sql`SELECT input_uuid, source_type, destination_type, step FROM inputs WHERE destination_id = ${id}`);
        expect(links.length).toBe(4);
        expect(links.every((l) => /^[0-9a-f]{32}$/.test(l.input_uuid) && l.source_type === "DATASET" && l.destination_type === "RUN" && Number(l.step) === 0)).toBe(true);
      });

      test("model inputs: merged on their key (a repeat takes a new input_uuid); only get_run answers them", async () => {
        const id = await newRun("models");
        await post("runs/log-inputs", { run_id: id, models: [{ model_id: "m-1" }, { model_id: "m-2" }, { model_id: "m-1" }] });
        const first = await db.one(sql`SELECT input_uuid FROM inputs WHERE source_id = ${id} AND destination_id = 'm-2'`);
        await post("runs/log-inputs", { run_id: id, models: [{ model_id: "m-2" }] });
        const rows = await db.all(sql`SELECT input_uuid, source_type, destination_type, destination_id, step FROM inputs WHERE source_id = ${id} ORDER BY destination_id`);
        expect(rows.map((r) => [r.source_type, r.destination_type, r.destination_id, Number(r.step)])).toEqual([["RUN_INPUT", "MODEL_INPUT", "m-1", 0], ["RUN_INPUT", "MODEL_INPUT", "m-2", 0]]);
        expect(rows[1]!.input_uuid).not.toBe(first!.input_uuid);
        expect((await getRun(id)).inputs.model_inputs.map((m: any) => m.model_id).sort()).toEqual(["m-1", "m-2"]);
      });

      test("validation, schema, and what fails the database (a tag name twice; PostgreSQL's VARCHAR(36))", async () => {
        const id = await newRun("bad-inputs");
        const log = (body: Record<string, unknown>) => post("runs/log-inputs", { run_id: id, ...body });
        await invalid(log({ datasets: [{ dataset: dataset("n".repeat(501)) }] }), "'name' exceeds the maximum length of 500 characters");
        await invalid(log({ datasets: [{ dataset: { ...dataset("ok"), digest: "d".repeat(37) } }] }), "'digest' exceeds the maximum length of 36 characters");
        await invalid(log({ datasets: [{ dataset: dataset("ok"), tags: [{ key: "k".repeat(256), value: "v" }] }] }), "'key' exceeds the maximum length of 255 characters");
        await invalid(log({ datasets: [{ dataset: dataset("ok"), tags: [{ key: "k", value: "v".repeat(501) }] }] }), "'value' exceeds the maximum length of 500 characters");
        await invalid(log({ datasets: { a: 1 } }), `Invalid value {"a":1} for parameter 'datasets' supplied:  Hint: Value was of type 'dict'.${HINT}`);
        await invalid(post("runs/log-inputs", { run_id: "-x" }), `Invalid value "-x" for parameter 'run_id' supplied.`);
        await invalid(post("runs/log-inputs", { datasets: [] }), `Missing value for required parameter 'run_id'.${HINT}`);
        await fails(post("runs/log-inputs", { run_id: "abc" }), 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=abc not found");
        const dupStatement = dialect === "sqlite"
          ? "INSERT INTO input_tags (input_uuid, name, value) VALUES (?, ?, ?)]\n[parameters: [('<HEX>', 'a', '1'), ('<HEX>', 'a', '2')]]"
          : "INSERT INTO input_tags (input_uuid, name, value) VALUES (%(input_uuid__0)s, %(name__0)s, %(value__0)s), (%(input_uuid__1)s, %(name__1)s, %(value__1)s)]\n[parameters: {'input_uuid__0': '<HEX>', 'name__0': 'a', 'value__0': '1', 'input_uuid__1': '<HEX>', 'name__1': 'a', 'value__1': '2'}]";
        const dupViolation = dialect === "sqlite"
          ? "(sqlite3.IntegrityError) UNIQUE constraint failed: input_tags.input_uuid, input_tags.name"
          : '(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "input_tags_pk"\nDETAIL:  Key (input_uuid, name)=(<HEX>, a) already exists.\n';
        await failsLike(log({ datasets: [{ dataset: dataset("dup"), tags: [{ key: "a", value: "1" }, { key: "a", value: "2" }] }] }), 400, "BAD_REQUEST",
          `${dupViolation}\n[SQL: ${dupStatement}\n(Background on this error at: https://sqlalche.me/e/21/gkpj)`);
        expect(await db.one(sql`SELECT name FROM datasets WHERE name = 'dup'`)).toBeUndefined(); // rolled back
        const longModel = "m".repeat(37);
        const longType = "s".repeat(37);
        if (dialect === "sqlite") {
          expect((await log({ models: [{ model_id: longModel }], datasets: [{ dataset: { ...dataset("st"), source_type: longType } }] })).status).toBe(200);
          return;
        }
        const truncation = "(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(36)\n\n";
        const columns = "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id) VALUES";
        await failsLike(log({ models: [{ model_id: longModel }, { model_id: "b" }] }), 400, "BAD_REQUEST",
          `${AUTOFLUSH}${truncation}[SQL: ${columns} (%(input_uuid)s, %(source_type)s, %(source_id)s, %(destination_type)s, %(destination_id)s) RETURNING inputs.step]\n` +
            `[parameters: {'input_uuid': '<HEX>', 'source_type': 'RUN_INPUT', 'source_id': '${id}', 'destination_type': 'MODEL_INPUT', 'destination_id': '${longModel}'}]\n(Background on this error at: https://sqlalche.me/e/21/9h9h)`);
        await failsLike(log({ models: [{ model_id: "a" }, { model_id: longModel }], datasets: [{ dataset: dataset("q") }] }), 400, "BAD_REQUEST",
          `${truncation}[SQL: ${columns} (%(input_uuid__0)s, %(source_type__0)s, %(source_id__0)s, %(destination_type__0)s, %(destination_id__0)s), (%(input_uuid__1)s, %(source_type__1)s, %(source_id__1)s, %(destination_type__1)s, %(destination_id__1)s) RETURNING inputs.step, inputs.source_type, inputs.source_id, inputs.destination_type, inputs.destination_id]\n` +
            `[parameters: {'input_uuid__0': '<HEX>', 'source_type__0': 'RUN_INPUT', 'source_id__0': '${id}', 'destination_type__0': 'MODEL_INPUT', 'destination_id__0': '${longModel}', 'input_uuid__1': '<HEX>', 'source_type__1': 'DATASET', 'source_id__1': '<HEX>', 'destination_type__1': 'RUN', 'destination_id__1': '${id}'}]\n(Background on this error at: https://sqlalche.me/e/21/9h9h)`);
        await failsLike(log({ datasets: [{ dataset: { ...dataset("st"), source_type: longType } }] }), 400, "BAD_REQUEST",
          `${truncation}[SQL: INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, dataset_source_type, dataset_source, dataset_schema, dataset_profile) VALUES (%(dataset_uuid)s, %(experiment_id)s, %(name)s, %(digest)s, %(dataset_source_type)s, %(dataset_source)s, %(dataset_schema)s, %(dataset_profile)s)]\n` +
            `[parameters: {'dataset_uuid': '<HEX>', 'experiment_id': 0, 'name': 'st', 'digest': 'd1', 'dataset_source_type': '${longType}', 'dataset_source': 'src', 'dataset_schema': None, 'dataset_profile': None}]\n(Background on this error at: https://sqlalche.me/e/21/9h9h)`);
      });
    });

    describe("logModel", () => {
      const model = (fields: Record<string, unknown>) => JSON.stringify({ artifact_path: "model", flavors: {}, utc_time_created: "2024-01-01 00:00:00.000000", run_id: "r", ...fields });

      test("the mlflow.log-model.history tag: Model.get_tags_dict() appended, as json.dumps writes it", async () => {
        const id = await newRun("model");
        const log = (json: string) => post("runs/log-model", { run_id: id, model_json: json });
        const first = model({ model_uuid: "abc", extra: [1], flavors: { python_function: { loader_module: "x", config: { a: 1 } }, sklearn: "v", f: { v: "é😀", n: "N", i: "I" } } });
        // Python's floats and ints, as json.loads reads them and json.dumps writes them back
        expect((await log(first.replace('"N"', "1.0").replace('"I"', "10000000000000000000001"))).body).toEqual({});
        await log(JSON.stringify({ artifact_path: null, flavors: {}, utc_time_created: 5, run_id: null, model_uuid: null }));
        await log(model({ utc_time_created: 1.5, signature: { inputs: '[{"type": "double"}]' }, flavors: { f: { config: 1 } } }));
        await log(model({ utc_time_created: "" }));
        const history = (await db.one(sql`SELECT value FROM tags WHERE run_uuid = ${id} AND key = 'mlflow.log-model.history'`))!.value as string;
        const [, , , last] = JSON.parse(history);
        expect(last.utc_time_created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$/); // falsy: the current UTC time
        expect(history.replace(last.utc_time_created, "NOW")).toBe(
          '[{"run_id": "r", "artifact_path": "model", "utc_time_created": "2024-01-01 00:00:00.000000", "model_uuid": "abc", ' +
            '"flavors": {"python_function": {"loader_module": "x"}, "sklearn": "v", "f": {"v": "\\u00e9\\ud83d\\ude00", "n": 1.0, "i": 10000000000000000000001}}}, ' +
            '{"utc_time_created": "5", "model_uuid": null, "flavors": {}}, ' +
            '{"run_id": "r", "artifact_path": "model", "utc_time_created": "1.5", "model_uuid": null, "flavors": {"f": {}}}, ' +
            '{"run_id": "r", "artifact_path": "model", "utc_time_created": "NOW", "model_uuid": null, "flavors": {}}]',
        );
      });

      test("errors: MLflow's messages, Python's failures (an HTML 500 in the handler, INTERNAL_ERROR in the store)", async () => {
        const id = await newRun("bad-model");
        const log = (json: unknown) => post("runs/log-model", { run_id: id, model_json: json });
        await invalid(log("{nope"), "Malformed model info. \n {nope \n is not a valid JSON.");
        await invalid(log(JSON.stringify({ artifact_path: "a", flavors: {}, run_id: "x" })), "Model json is missing mandatory fields: {'utc_time_created'}");
        await invalid(log(JSON.stringify({ artifact_path: "a" })), "Model json is missing mandatory fields: {'flavors', 'utc_time_created', 'run_id'}");
        await invalid(log(undefined), `Missing value for required parameter 'model_json'.${HINT}`);
        await invalid(post("runs/log-model", { model_json: "{}" }), `Missing value for required parameter 'run_id'.${HINT}`);
        for (const json of ["[1]", model({ flavors: [1] }), model({ signature: {} }), model({ signature: "x" }), model({ signature: { inputs: "bad" } })]) {
          const r = await log(json);
          expect([r.status, String(r.body).startsWith("<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>")]).toEqual([500, true]);
        }
        await fails(post("runs/log-model", { run_id: "nope", model_json: model({}) }), 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found");
        const history = async (value: string, message: string) => {
          await post("runs/set-tag", { run_id: id, key: "mlflow.log-model.history", value });
          await fails(log(model({})), 500, "INTERNAL_ERROR", message);
        };
        await history('{"a": 1}', "unsupported operand type(s) for +: 'dict' and 'list'");
        await history('"s"', 'can only concatenate str (not "list") to str');
        await history("7", "unsupported operand type(s) for +: 'int' and 'list'");
        await history("", "Expecting value: line 1 column 1 (char 0)");
      });
    });

    describe("writes need an active run", () => {
      test("log-metric, log-parameter, set-tag, delete-tag, log-batch, log-inputs, log-model", async () => {
        const id = await newRun("inactive");
        await post("runs/delete", { run_id: id });
        const message = `The run ${id} must be in the 'active' state. Current state is deleted.`;
        await invalid(post("runs/log-metric", { run_id: id, key: "a", value: 1, timestamp: 1 }), message);
        await invalid(post("runs/log-parameter", { run_id: id, key: "a", value: "1" }), message);
        await invalid(post("runs/set-tag", { run_id: id, key: "a", value: "1" }), message);
        await invalid(post("runs/delete-tag", { run_id: id, key: "a" }), message);
        await invalid(post("runs/log-batch", { run_id: id }), message);
        await invalid(post("runs/log-inputs", { run_id: id }), message);
        await invalid(post("runs/log-model", { run_id: id, model_json: '{"artifact_path": "a", "flavors": {}, "utc_time_created": "t", "run_id": "x"}' }), message);
        for (const path of ["runs/log-metric", "runs/log-parameter", "runs/set-tag", "runs/delete-tag"]) {
          await fails(post(path, { run_id: "nope", key: "a", value: path.endsWith("metric") ? 1 : "1", timestamp: 1 }), 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found");
        }
      });
    });
  });
}
