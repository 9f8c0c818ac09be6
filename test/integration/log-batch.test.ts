// Metric logging (log-metric, model metrics, latest_metrics) and log-batch on both dialects,
// against what MLflow 3.18.0's server answers and writes (expected bodies and rows were taken
// from the real server).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openDb, type Db } from "../../src/store/db";
import { sql } from "../../src/store/sql";
import { DIALECTS, startTestServer, type TestServer } from "../support/server";

const HINT = " See the API docs for more information about request parameters.";
const CLASSIFIED: Record<string, [string, string]> = {
  INVALID_PARAMETER_VALUE: ["KAM00", "INVALID_PARAMETER_VALUE"],
  BAD_REQUEST: ["KAM00", "INVALID_PARAMETER_VALUE"],
  RESOURCE_DOES_NOT_EXIST: ["KAM00", "RESOURCE_NOT_FOUND"],
};
const BAD_NAME = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).";
const RESOLVES = "Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to";
const MAX = 1.7976931348623157e308;
const M = (key: string, value: unknown, timestamp = 1, step = 0, extra: Record<string, unknown> = {}) => ({ key, value, timestamp, step, ...extra });

type Reply = Promise<{ status: number; body: any }>;

for (const dialect of DIALECTS) {
  describe(`metrics and log-batch (${dialect})`, () => {
    let s: TestServer;
    let db: Db;
    const post = (path: string, body: unknown) => s.call("POST", `/api/2.0/mlflow/${path}`, body);
    const newRun = async (name: string) => (await post("runs/create", { experiment_id: "0", run_name: name })).body.run.info.run_id as string;
    const batch = (runId: string, body: Record<string, unknown>) => post("runs/log-batch", { run_id: runId, ...body });
    const fails = async (p: Reply, status: number, error_code: string, message: string) => {
      const r = await p;
      const [sqlstate, error_class] = CLASSIFIED[error_code]!;
      expect(r.body).toEqual({ error_code, message, sqlstate, error_class });
      expect(r.status).toBe(status);
    };
    const invalid = (p: Reply, message: string) => fails(p, 400, "INVALID_PARAMETER_VALUE", message);
    const flask500 = async (p: Reply) => {
      const r = await p;
      expect([r.status, String(r.body).startsWith("<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>")]).toEqual([500, true]);
    };
    /** metrics and latest_metrics rows, in the order they were written. */
    const history = async (runId: string) =>
      (await db.all(sql`SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ${runId}`))
        .map((r) => [r.key, Number(r.value), Number(r.timestamp), Number(r.step), Boolean(r.is_nan)])
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    const latest = async (runId: string) =>
      Object.fromEntries(
        (await db.all(sql`SELECT key, value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid = ${runId}`))
          .map((r) => [r.key, [Number(r.value), Number(r.timestamp), Number(r.step), Boolean(r.is_nan)]]),
      );
    const answered = async (runId: string) => (await s.call("GET", "/api/2.0/mlflow/runs/get", { run_id: runId })).body.run.data;

    beforeAll(async () => {
      s = await startTestServer(dialect);
      db = openDb(s.backendStoreUri, { poolSize: 2 });
    }, 30_000);
    afterAll(async () => {
      await db.close();
      await s.stop();
    }, 30_000);

    describe("logMetric", () => {
      test("NaN is 0 with is_nan, ±inf is clamped; a repeat of the whole key is no error; latest by (step, timestamp, value)", async () => {
        const id = await newRun("metric");
        const log = (body: Record<string, unknown>) => post("runs/log-metric", { run_id: id, ...body });
        expect((await log(M("m", 1.5, 10, 2))).body).toEqual({});
        await log(M("m", 1.5, 10, 2));
        await log(M("m", 9, 99, 1)); // older step: history only
        await log(M("m", 1, 10, 2)); // same step and time, smaller value
        await post("runs/log-metric", { run_uuid: id, ...M("n", "NaN", 10) });
        await log(M("i", "Infinity", 10));
        await log(M("j", "-Infinity", 10));
        await log(M("n", 0, 10)); // a real 0 ties with the NaN row: the stored row stays
        await log({ key: "s", value: "2.5", timestamp: "7" }); // strings parse; step defaults to 0
        expect(await history(id)).toEqual([
          ["i", MAX, 10, 0, false], ["j", -MAX, 10, 0, false], ["m", 1, 10, 2, false], ["m", 1.5, 10, 2, false], ["m", 9, 99, 1, false],
          ["n", 0, 10, 0, false], ["n", 0, 10, 0, true], ["s", 2.5, 7, 0, false],
        ]);
        expect(await latest(id)).toEqual({ m: [1.5, 10, 2, false], n: [0, 10, 0, true], i: [MAX, 10, 0, false], j: [-MAX, 10, 0, false], s: [2.5, 7, 0, false] });
        const data = await answered(id);
        expect(data.metrics).toEqual([
          { key: "m", value: 1.5, timestamp: 10, step: 2 }, { key: "n", value: "NaN", timestamp: 10, step: 0 },
          { key: "i", value: MAX, timestamp: 10, step: 0 }, { key: "j", value: -MAX, timestamp: 10, step: 0 }, { key: "s", value: 2.5, timestamp: 7, step: 0 },
        ]);
        await log(M("n", 1, 10)); // a larger value at the same step and time
        expect((await latest(id)).n).toEqual([1, 10, 0, false]);
        await log(M("n", "NaN", 11));
        expect((await latest(id)).n).toEqual([0, 11, 0, true]);
      });

      test("validation, schema", async () => {
        const id = await newRun("metric-errors");
        const log = (body: Record<string, unknown>) => post("runs/log-metric", { run_id: id, ...body });
        await invalid(log(M("bad!", 1)), `Invalid value "bad!" for parameter 'name' supplied: ${BAD_NAME}`);
        await invalid(log(M("a/../b", 1)), `Invalid value "a/../b" for parameter 'name' supplied: ${RESOLVES} 'b'`);
        await invalid(log(M("a", 1, -1)), "Invalid value -1 for parameter 'timestamp' supplied: metric 'a' (value=1.0). Timestamp must be a nonnegative long (64-bit integer) ");
        await invalid(log(M("a", "NaN", -1)), "Invalid value -1 for parameter 'timestamp' supplied: metric 'a' (value=nan). Timestamp must be a nonnegative long (64-bit integer) ");
        await invalid(log(M("k".repeat(251), 1)), "'Metric name' exceeds the maximum length of 250 characters");
        await invalid(log({ key: "a", value: 1 }), `Missing value for required parameter 'timestamp'.${HINT}`);
        await invalid(log({ key: "a", timestamp: 1 }), `Missing value for required parameter 'value'.${HINT}`);
        await invalid(log({ key: "a", value: "abc", timestamp: 1 }), `Invalid value "abc" for parameter 'value' supplied:  Hint: Value was of type 'str'.${HINT}`);
        await invalid(log({ key: "a", value: 1, timestamp: 1, step: "x" }), `Invalid value "x" for parameter 'step' supplied:  Hint: Value was of type 'str'.${HINT}`);
        await invalid(post("runs/log-metric", M("a", 1)), `Missing value for required parameter 'run_id'.${HINT}`);
        await fails(post("runs/log-metric", { run_id: "nope", ...M("a", 1) }), 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found");
        // with a model id the run is checked first
        await fails(post("runs/log-metric", { run_id: "nope", ...M("a!", 1, 1, 0, { model_id: "m-1" }) }), 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found");
        expect(await history(id)).toEqual([]);
      });

      test("model metrics: logged_model_metrics rows; a model that does not exist fails its foreign key", async () => {
        const id = await newRun("model-metrics");
        const now = Date.now();
        const model = `m-${id}`;
        await db.run(sql`INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage)
          VALUES (${model}, 0, 'm', 'x', ${now}, ${now}, 1, 'active')`);
        const metric = M("acc", "NaN", 5, 1, { model_id: model, dataset_name: "dn", dataset_digest: "dd" });
        expect((await post("runs/log-metric", { run_id: id, ...metric })).body).toEqual({});
        expect((await post("runs/log-metric", { run_id: id, ...metric })).body).toEqual({}); // the stored row equals it
        const rows = await db.all(sql`SELECT * FROM logged_model_metrics WHERE run_id = ${id}`);
        expect(rows.map((r): Record<string, unknown> => ({ ...r, metric_timestamp_ms: Number(r.metric_timestamp_ms), metric_step: Number(r.metric_step), experiment_id: Number(r.experiment_id) }))).toEqual([
          { model_id: model, metric_name: "acc", metric_timestamp_ms: 5, metric_step: 1, metric_value: 0, experiment_id: 0, run_id: id, dataset_uuid: null, dataset_name: "dn", dataset_digest: "dd" },
        ]);
        expect(await history(id)).toEqual([["acc", 0, 5, 1, true]]);
        const statement = dialect === "sqlite"
          ? `INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, metric_step, metric_value, experiment_id, run_id, dataset_uuid, dataset_name, dataset_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)]\n[parameters: ('m-nope', 'a', 1, 0, 1.0, 0, '${id}', None, None, None)]`
          : `INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, metric_step, metric_value, experiment_id, run_id, dataset_uuid, dataset_name, dataset_digest) VALUES (%(model_id)s, %(metric_name)s, %(metric_timestamp_ms)s, %(metric_step)s, %(metric_value)s, %(experiment_id)s, %(run_id)s, %(dataset_uuid)s, %(dataset_name)s, %(dataset_digest)s)]\n` +
            `[parameters: {'model_id': 'm-nope', 'metric_name': 'a', 'metric_timestamp_ms': 1, 'metric_step': 0, 'metric_value': 1.0, 'experiment_id': 0, 'run_id': '${id}', 'dataset_uuid': None, 'dataset_name': None, 'dataset_digest': None}]`;
        const foreignKey = dialect === "sqlite"
          ? "(sqlite3.IntegrityError) FOREIGN KEY constraint failed"
          : '(psycopg2.errors.ForeignKeyViolation) insert or update on table "logged_model_metrics" violates foreign key constraint "fk_logged_model_metrics_model_id"\nDETAIL:  Key (model_id)=(m-nope) is not present in table "logged_models".\n';
        await fails(post("runs/log-metric", { run_id: id, ...M("a", 1, 1, 0, { model_id: "m-nope" }) }), 400, "BAD_REQUEST",
          `${foreignKey}\n[SQL: ${statement}\n(Background on this error at: https://sqlalche.me/e/21/gkpj)`);
        // another value under a stored primary key is MLflow's second IntegrityError
        const taken = dialect === "sqlite"
          ? "(sqlite3.IntegrityError) UNIQUE constraint failed: logged_model_metrics.model_id, logged_model_metrics.metric_name, logged_model_metrics.metric_timestamp_ms, logged_model_metrics.metric_step, logged_model_metrics.run_id"
          : `(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "logged_model_metrics_pk"\nDETAIL:  Key (model_id, metric_name, metric_timestamp_ms, metric_step, run_id)=(${model}, acc, 5, 1, ${id}) already exists.\n`;
        const r = await post("runs/log-metric", { run_id: id, ...M("acc", 3, 5, 1, { model_id: model }) });
        expect([r.status, r.body.message.split("\n[SQL:")[0]]).toEqual([400, taken.replace(/\n$/, "\n")]);
        expect(await history(id)).toEqual([["acc", 0, 5, 1, true]]);
      });
    });

    describe("logBatch", () => {
      test("params, metrics (history and latest), tags (last value wins), in one request", async () => {
        const id = await newRun("batch");
        const r = await batch(id, {
          metrics: [M("a", 1), M("a", 3, 2), M("a", 2, 1), M("b", "NaN"), M("c", 5, 1, 3), M("c", 5, 1, 3)],
          params: [{ key: "p1", value: "x" }, { key: "p2", value: "y" }, { key: "empty" }],
          tags: [{ key: "t1", value: "1" }, { key: "t1", value: "2" }, { key: "t2", value: "z" }, { key: "long", value: "v".repeat(9000) }],
        });
        expect(r.body).toEqual({});
        expect(await history(id)).toEqual([["a", 1, 1, 0, false], ["a", 2, 1, 0, false], ["a", 3, 2, 0, false], ["b", 0, 1, 0, true], ["c", 5, 1, 3, false]]);
        expect(await latest(id)).toEqual({ a: [3, 2, 0, false], b: [0, 1, 0, true], c: [5, 1, 3, false] });
        expect(await db.all(sql`SELECT key, value FROM params WHERE run_uuid = ${id} ORDER BY key`)).toEqual([{ key: "empty", value: "" }, { key: "p1", value: "x" }, { key: "p2", value: "y" }]);
        expect(await db.all(sql`SELECT key, value FROM tags WHERE run_uuid = ${id} ORDER BY key`)).toEqual([
          { key: "long", value: "v".repeat(8000) }, { key: "mlflow.runName", value: "batch" }, { key: "t1", value: "2" }, { key: "t2", value: "z" },
        ]);
        expect((await batch(id, { params: [{ key: "p1", value: "x" }, { key: "p3", value: "w" }] })).status).toBe(200);
        expect((await batch(id, {})).body).toEqual({});
        // latest: step first, then timestamp, then value; the first of equals wins
        await batch(id, { metrics: [M("a", 0, 5, 1), M("b", 7, 1, 0), M("n", "NaN", 1), M("n", 0, 1), M("z", -1)] });
        await batch(id, { metrics: [M("n", 1, 1), M("z", "-Infinity", 1), M("z", "Infinity", 0)] });
        expect(await latest(id)).toEqual({ a: [0, 5, 1, false], b: [7, 1, 0, false], c: [5, 1, 3, false], n: [1, 1, 0, false], z: [-1, 1, 0, false] });
      });

      test("a large batch repeating rows already logged keeps one copy of each and adds the rest (PostgreSQL's plain-insert path)", async () => {
        const id = await newRun("large-repeat");
        const first = Array.from({ length: 150 }, (_, i) => M(`k${i % 3}`, i, 1, i));
        expect((await batch(id, { metrics: first })).body).toEqual({});
        const again = [...first.slice(100), ...Array.from({ length: 60 }, (_, i) => M(`k${i % 3}`, 1000 + i, 2, 200 + i))];
        expect((await batch(id, { metrics: again })).body).toEqual({});
        const rows = await history(id);
        expect(rows.length).toBe(210);
        expect(new Set(rows.map((r) => JSON.stringify(r))).size).toBe(210);
        expect((await latest(id)).k2).toEqual([1059, 2, 259, false]);
      });

      test("changed params: MLflow's list of them, and nothing of the batch is written", async () => {
        const id = await newRun("immutable");
        await batch(id, { params: [{ key: "p1", value: "x" }, { key: "p2", value: "y" }] });
        await invalid(batch(id, { params: [{ key: "p1", value: "X" }, { key: "p3", value: "new" }, { key: "p2", value: "Y" }], metrics: [M("m", 1)], tags: [{ key: "t", value: "1" }] }),
          `Changing param values is not allowed. Params were already logged='[{'key': 'p1', 'old_value': 'x', 'new_value': 'X'}, {'key': 'p2', 'old_value': 'y', 'new_value': 'Y'}]' for run ID='${id}'.`);
        expect(await db.all(sql`SELECT key FROM params WHERE run_uuid = ${id} ORDER BY key`)).toEqual([{ key: "p1" }, { key: "p2" }]);
        expect(await history(id)).toEqual([]);
        expect(await db.one(sql`SELECT key FROM tags WHERE run_uuid = ${id} AND key = 't'`)).toBeUndefined();
      });

      test("mlflow.runName tags rename the run (the last non-empty one); PostgreSQL refuses a name over 250 characters", async () => {
        const id = await newRun("named");
        await batch(id, { tags: [{ key: "mlflow.runName", value: "x1" }, { key: "mlflow.runName", value: "" }, { key: "t1", value: "3" }] });
        expect((await answered(id)).tags).toContainEqual({ key: "mlflow.runName", value: "x1" });
        expect((await db.one(sql`SELECT name FROM runs WHERE run_uuid = ${id}`))!.name).toBe("x1");
        const long = "n".repeat(300);
        const r = await batch(id, { tags: [{ key: "mlflow.runName", value: long }, { key: "after", value: "1" }] });
        if (dialect === "sqlite") {
          expect(r.status).toBe(200);
          return;
        }
        const shown = `'${"n".repeat(149)} ... (2 characters truncated) ... ${"n".repeat(149)}'`;
        await fails(Promise.resolve(r), 400, "BAD_REQUEST",
          "(raised as a result of Query-invoked autoflush; consider using a session.no_autoflush block if this flush is occurring prematurely)\n" +
            "(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(250)\n\n[SQL: UPDATE runs SET name=%(name)s WHERE runs.run_uuid = %(runs_run_uuid)s]\n" +
            `[parameters: {'name': ${shown}, 'runs_run_uuid': '${id}'}]\n(Background on this error at: https://sqlalche.me/e/21/9h9h)`);
        expect(await db.one(sql`SELECT key FROM tags WHERE run_uuid = ${id} AND key = 'after'`)).toBeUndefined();
      });

      test("validation in MLflow's order: metrics, params, tags, then the limits, then unique param keys", async () => {
        const id = await newRun("batch-errors");
        await invalid(batch(id, { metrics: [M("a", 1), M("b!", 1)], params: [{ key: "q!", value: "x" }] }), `Invalid value "b!" for parameter 'metrics[1].name' supplied: ${BAD_NAME}`);
        await invalid(batch(id, { params: [{ key: "ok", value: "x" }, { key: "../q", value: "x" }] }), `Invalid value "../q" for parameter 'params[1].key' supplied: ${RESOLVES} '../q'`);
        await invalid(batch(id, { params: [{ key: "k".repeat(251), value: "x" }] }), "'Param key' exceeds the maximum length of 250 characters");
        await invalid(batch(id, { tags: [{ key: "ok", value: "x" }, { key: "k".repeat(251), value: "x" }] }), "'tags[1].key' exceeds the maximum length of 250 characters");
        await invalid(batch(id, { tags: [{ key: "t!", value: "x" }] }), `Invalid value "t!" for parameter 'tags[0].key' supplied: ${BAD_NAME}`);
        await invalid(batch(id, { metrics: [M("a", 1.5, -5)] }), "Invalid value -5 for parameter 'metrics[0].timestamp' supplied: metric 'a' (value=1.5). Timestamp must be a nonnegative long (64-bit integer) ");
        await invalid(batch(id, { metrics: [M("m".repeat(251), 1.5)] }), "'Metric name' exceeds the maximum length of 250 characters");
        const metrics = (n: number) => Array.from({ length: n }, (_, i) => M("m", i, i));
        const params = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `p${i}`, value: "v" }));
        await invalid(batch(id, { metrics: metrics(1001) }), "A batch logging request can contain at most 1000 metrics. Got 1001 metrics. Please split up metrics across multiple requests and try again.");
        await invalid(batch(id, { params: params(101) }), "A batch logging request can contain at most 100 params. Got 101 params. Please split up params across multiple requests and try again.");
        await invalid(batch(id, { tags: params(101) }), "A batch logging request can contain at most 100 tags. Got 101 tags. Please split up tags across multiple requests and try again.");
        await invalid(batch(id, { metrics: metrics(950), params: params(51) }),
          "A batch logging request can contain at most 1000 metrics, params, and tags. Got 1001 metrics, params, and tags. Please split up metrics, params, and tags across multiple requests and try again.");
        await invalid(batch(id, { metrics: [...metrics(1000), M("b!", 1)] }), `Invalid value "b!" for parameter 'metrics[1000].name' supplied: ${BAD_NAME}`);
        await invalid(batch(id, { params: [{ key: "d", value: "1" }, { key: "d", value: "1" }, { key: "d", value: "2" }] }),
          "Duplicate parameter keys have been submitted: ['d', 'd']. Please ensure the request contains only one param value per param key.");
        process.env.MLFLOW_TRUNCATE_LONG_VALUES = "false";
        try {
          await invalid(batch(id, { tags: [{ key: "t", value: "v".repeat(8001) }] }), "'tags[0].value' exceeds the maximum length of 8000 characters");
          await invalid(batch(id, { params: [{ key: "p", value: "v".repeat(6001) }] }), "'Param value' exceeds the maximum length of 6000 characters");
        } finally {
          delete process.env.MLFLOW_TRUNCATE_LONG_VALUES;
        }
        expect(await history(id)).toEqual([]);
        expect((await batch(id, { metrics: Array.from({ length: 1000 }, (_, i) => M(`k${i % 7}`, i % 13, i, i % 5)) })).status).toBe(200);
        expect((await latest(id)).k5).toEqual([11, 999, 4, false]);
      });

      test("the handler's checks: schema, required fields of each item, the run id, the request's size", async () => {
        const id = await newRun("batch-schema");
        await invalid(batch(id, { metrics: [{ value: 1, timestamp: 1 }] }), `Missing value for required parameter 'metrics[0].key'.${HINT}`);
        await invalid(batch(id, { metrics: [{ key: "a", timestamp: 1 }] }), `Missing value for required parameter 'metrics[0].value'.${HINT}`);
        await invalid(batch(id, { metrics: [M("a", 1), { key: "a", value: 1 }] }), `Missing value for required parameter 'metrics[1].timestamp'.${HINT}`);
        await invalid(batch(id, { params: [{ value: "1" }] }), `Missing value for required parameter 'params[0].key'.${HINT}`);
        await invalid(batch(id, { tags: [{ key: "", value: "1" }] }), `Missing value for required parameter 'tags[0].key'.${HINT}`);
        await invalid(batch(id, { metrics: { a: 1 } }), `Invalid value {"a":1} for parameter 'metrics' supplied:  Hint: Value was of type 'dict'.${HINT}`);
        await invalid(post("runs/log-batch", {}), `Missing value for required parameter 'run_id'.${HINT}`);
        await invalid(post("runs/log-batch", { run_id: "-bad" }), `Invalid value "-bad" for parameter 'run_id' supplied.`);
        await invalid(post("runs/log-batch", { run_uuid: id }), `Invalid value "" for parameter 'run_id' supplied.`);
        await fails(post("runs/log-batch", { run_id: "abc" }), 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=abc not found");
        await flask500(batch(id, { metrics: ["x"] })); // item.get() on a str
        await flask500(post("runs/log-batch", "")); // len(None)
        // a double-encoded body is measured in characters
        const encoded = (body: unknown) => JSON.stringify(JSON.stringify(body));
        expect((await post("runs/log-batch", encoded({ run_id: id, params: [{ key: "de", value: "1" }] }))).status).toBe(200);
        await invalid(post("runs/log-batch", encoded({ run_id: id, tags: [{ key: "h", value: "x".repeat(1000001) }] })),
          `Batched logging API requests must be at most 1000000 bytes, got a request of size ${JSON.stringify({ run_id: id, tags: [{ key: "h", value: "x".repeat(1000001) }] }).length}.`);
        // a partially parsed metric is logged with the fields parsed before the bad one
        expect((await batch(id, { metrics: [{ key: "partial", value: "x", timestamp: 1 }] })).status).toBe(200);
        expect(await history(id)).toEqual([["partial", 0, 0, 0, false]]);
      });

      test("model metrics: all or nothing (MLflow commits the run's metrics before it fails)", async () => {
        const id = await newRun("batch-models");
        const statement = dialect === "sqlite"
          ? `VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)]\n[parameters: [('m-nope', 'mm', 1, 0, 1.0, 0, '${id}', None, None, None), ('m-nope2', 'mm', 1, 0, 2.0, 0, '${id}', None, None, None)]]`
          : "VALUES (%(model_id__0)s, %(metric_name__0)s, %(metric_timestamp_ms__0)s, %(met ... 247 characters truncated ... (experiment_id__1)s, %(run_id__1)s, %(dataset_uuid__1)s, %(dataset_name__1)s, %(dataset_digest__1)s)]\n" +
            `[parameters: {'model_id__0': 'm-nope', 'metric_name__0': 'mm', 'metric_timestamp_ms__0': 1, 'metric_step__0': 0, 'metric_value__0': 1.0, 'experiment_id__0': 0, 'run_id__0': '${id}', 'dataset_uuid__0': None, 'dataset_name__0': None, 'dataset_digest__0': None, ` +
            `'model_id__1': 'm-nope2', 'metric_name__1': 'mm', 'metric_timestamp_ms__1': 1, 'metric_step__1': 0, 'metric_value__1': 2.0, 'experiment_id__1': 0, 'run_id__1': '${id}', 'dataset_uuid__1': None, 'dataset_name__1': None, 'dataset_digest__1': None}]`;
        const foreignKey = dialect === "sqlite"
          ? "(sqlite3.IntegrityError) FOREIGN KEY constraint failed"
          : '(psycopg2.errors.ForeignKeyViolation) insert or update on table "logged_model_metrics" violates foreign key constraint "fk_logged_model_metrics_model_id"\nDETAIL:  Key (model_id)=(m-nope) is not present in table "logged_models".\n';
        const prefix = dialect === "sqlite"
          ? "INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, metric_step, metric_value, experiment_id, run_id, dataset_uuid, dataset_name, dataset_digest) "
          : "INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, metric_step, metric_value, experiment_id, run_id, dataset_uuid, dataset_name, dataset_digest) ";
        await fails(batch(id, { metrics: [M("mm", 1, 1, 0, { model_id: "m-nope" }), M("mm", 2, 1, 0, { model_id: "m-nope2" })], params: [{ key: "p", value: "1" }] }), 400, "BAD_REQUEST",
          `${foreignKey}\n[SQL: ${prefix}${statement}\n(Background on this error at: https://sqlalche.me/e/21/gkpj)`);
        expect(await history(id)).toEqual([]);
        expect(await db.all(sql`SELECT key FROM params WHERE run_uuid = ${id}`)).toEqual([]);
      });
    });
  });
}
