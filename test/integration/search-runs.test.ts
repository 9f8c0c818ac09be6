// runs/search on both dialects: the filter grammar, order_by with MLflow's NaN/NULL ordering and
// tie-breakers, run_view_type, pagination and MLflow 3.18.0's error bodies. Runs are inserted
// as MLflow stores them (runs, tags with mlflow.runName, params, latest_metrics with is_nan,
// datasets/inputs/input_tags); the expectations were checked against the real server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openDb, type Db } from "../../src/store/db";
import { sql } from "../../src/store/sql";
import { DIALECTS, startTestServer, type TestServer } from "../support/server";

const CLASSIFIED: Record<string, [string, string]> = {
  INVALID_PARAMETER_VALUE: ["KAM00", "INVALID_PARAMETER_VALUE"],
  BAD_REQUEST: ["KAM00", "INVALID_PARAMETER_VALUE"],
  INTERNAL_ERROR: ["XXM00", "CLIENT_INTERNAL_ERROR"],
};
const id = (n: number) => `5eed${String(n).padStart(28, "0")}`;
const token = (offset: number) => Buffer.from(`{"offset": ${offset}}`).toString("base64");

interface RunSpec {
  n: number;
  name: string;
  exp: string;
  start: number;
  end?: number;
  status?: string;
  user?: string;
  stage?: string;
  /** false: the runs.name column stays NULL (runs logged by MLflow <= 1.29): the tag is the name. */
  nameColumn?: boolean;
  params?: Record<string, string>;
  tags?: Record<string, string>;
  metrics?: Record<string, number>;
}

/** Inserts a run as SqlAlchemyStore stores it. */
async function insertRun(db: Db, r: RunSpec): Promise<void> {
  const runId = id(r.n);
  await db.run(sql`
    INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time,
      source_version, lifecycle_stage, artifact_uri, experiment_id, deleted_time)
    VALUES (${runId}, ${r.nameColumn === false ? null : r.name}, 'UNKNOWN', '', '', ${r.user ?? "u"}, ${r.status ?? "RUNNING"}, ${r.start},
      ${r.end ?? null}, '', ${r.stage ?? "active"}, ${`mlflow-artifacts:/${r.exp}/${runId}/artifacts`}, ${Number(r.exp)}, NULL)`);
  const tags = { "mlflow.runName": r.name, ...r.tags };
  for (const [key, value] of Object.entries(tags)) await db.run(sql`INSERT INTO tags (key, value, run_uuid) VALUES (${key}, ${value}, ${runId})`);
  for (const [key, value] of Object.entries(r.params ?? {})) await db.run(sql`INSERT INTO params (key, value, run_uuid) VALUES (${key}, ${value}, ${runId})`);
  for (const [key, value] of Object.entries(r.metrics ?? {})) {
    const nan = Number.isNaN(value);
    await db.run(sql`INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (${key}, ${nan ? 0 : value}, 7, 0, ${nan}, ${runId})`);
    await db.run(sql`INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (${key}, ${nan ? 0 : value}, 7, 0, ${nan}, ${runId})`);
  }
}

/** A dataset logged as an input of runs (log_inputs), with an optional mlflow.data.context tag. */
async function insertDataset(db: Db, exp: string, uuid: string, name: string, digest: string, inputs: [run: number, context?: string][]) {
  await db.run(sql`
    INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, dataset_source_type, dataset_source, dataset_schema, dataset_profile)
    VALUES (${uuid}, ${Number(exp)}, ${name}, ${digest}, 'local', '{"uri": "/tmp/x"}', NULL, NULL)`);
  for (const [i, [run, context]] of inputs.entries()) {
    const input = `${uuid.slice(0, 30)}i${i}`;
    await db.run(sql`INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id, step) VALUES (${input}, 'DATASET', ${uuid}, 'RUN', ${id(run)}, 0)`);
    if (context) await db.run(sql`INSERT INTO input_tags (input_uuid, name, value) VALUES (${input}, 'mlflow.data.context', ${context})`);
  }
}

for (const dialect of DIALECTS) {
  describe(`runs/search (${dialect})`, () => {
    let s: TestServer;
    let db: Db;
    let E: string; // alpha, beta, gamma, delta (+ a deleted run)
    let F: string; // other
    let G: string; // 1001 runs
    const search = (body: Record<string, unknown>) => s.call("POST", "/api/2.0/mlflow/runs/search", body);
    const names = async (body: Record<string, unknown>) => {
      const r = await search({ experiment_ids: [E], ...body });
      expect(r.status).toBe(200);
      return (r.body.runs ?? []).map((run: any) => run.info.run_name);
    };
    const fails = async (body: Record<string, unknown>, status: number, error_code: string, message: string) => {
      const r = await search({ experiment_ids: [E], ...body });
      const [sqlstate, error_class] = CLASSIFIED[error_code]!;
      expect(r.body).toEqual({ error_code, message, sqlstate, error_class });
      expect(r.status).toBe(status);
    };
    const invalid = (body: Record<string, unknown>, message: string) => fails(body, 400, "INVALID_PARAMETER_VALUE", message);

    beforeAll(async () => {
      s = await startTestServer(dialect);
      db = openDb(s.backendStoreUri, { poolSize: 2 });
      const create = async (name: string) => (await s.call("POST", "/api/2.0/mlflow/experiments/create", { name })).body.experiment_id as string;
      [E, F, G] = [await create("E"), await create("F"), await create("G")];
      await insertRun(db, { n: 1, name: "alpha", exp: E, start: 3000, end: 3500, status: "FINISHED", user: "u1", params: { lr: "0.1", opt: "adam" }, tags: { team: "A" }, metrics: { acc: 0.9, loss: 0.3 } });
      await insertRun(db, { n: 2, name: "beta", exp: E, start: 2000, user: "u2", params: { lr: "0.2" }, tags: { team: "a" }, metrics: { acc: NaN, loss: 0.5 } });
      await insertRun(db, { n: 3, name: "gamma", exp: E, start: 2000, end: 2100, status: "FAILED", user: "u1", params: { lr: "0.1", opt: "SGD" }, tags: { team: "B", "a b": "x" }, metrics: { acc: 0.1 } });
      await insertRun(db, { n: 4, name: "delta", exp: E, start: 1000, user: "u3", nameColumn: false, metrics: { loss: -1 } });
      await insertRun(db, { n: 5, name: "deleted", exp: E, start: 4000, stage: "deleted", params: { lr: "0.3" } });
      await insertRun(db, { n: 6, name: "other", exp: F, start: 5000 });
      await insertDataset(db, E, "d0000000-0000-0000-0000-000000000001", "train_ds", "d1", [[1, "training"]]);
      await insertDataset(db, E, "d0000000-0000-0000-0000-000000000002", "eval_ds", "d2", [[1], [3, "eval"]]);
      // 1001 runs, set-wise
      const values = Array.from({ length: 1001 }, (_, i) => sql`(${id(1000 + i)}, 'RUNNING', ${i}, 'active', ${Number(G)}, 'u')`);
      for (let i = 0; i < values.length; i += 250) {
        const chunk = values.slice(i, i + 250);
        await db.run(sql`INSERT INTO runs (run_uuid, status, start_time, lifecycle_stage, experiment_id, user_id) VALUES ${chunk.reduce((a, b) => sql`${a}, ${b}`)}`);
      }
    });
    afterAll(async () => {
      await db.close();
      await s.stop();
    });

    test("default order: start_time DESC, then run_uuid; run_view_type; several experiments", async () => {
      expect(await names({})).toEqual(["alpha", "beta", "gamma", "delta"]);
      expect(await names({ run_view_type: "ALL" })).toEqual(["deleted", "alpha", "beta", "gamma", "delta"]);
      expect(await names({ run_view_type: "DELETED_ONLY" })).toEqual(["deleted"]);
      expect(await names({ run_view_type: 2 })).toEqual(["deleted"]);
      expect(await names({ experiment_ids: [E, F] })).toEqual(["other", "alpha", "beta", "gamma", "delta"]);
      expect((await search({ experiment_ids: [] })).body).toEqual({});
      expect((await search({})).body).toEqual({});
      expect((await search({ experiment_ids: ["99999999999"] })).body).toEqual({});
    });

    test("a run as Run.to_proto emits it", async () => {
      const r = await search({ experiment_ids: [E], filter: `run_id = '${id(1)}'` });
      const run = r.body.runs[0];
      expect(run.info).toEqual({
        run_uuid: id(1), experiment_id: E, run_name: "alpha", user_id: "u1", status: "FINISHED", start_time: 3000, end_time: 3500,
        artifact_uri: `mlflow-artifacts:/${E}/${id(1)}/artifacts`, lifecycle_stage: "active", run_id: id(1),
      });
      const byKey = (a: any[]) => [...a].sort((x, y) => (x.key < y.key ? -1 : 1));
      expect(byKey(run.data.metrics)).toEqual([{ key: "acc", value: 0.9, timestamp: 7, step: 0 }, { key: "loss", value: 0.3, timestamp: 7, step: 0 }]);
      expect(byKey(run.data.params)).toEqual([{ key: "lr", value: "0.1" }, { key: "opt", value: "adam" }]);
      expect(byKey(run.data.tags)).toEqual([{ key: "mlflow.runName", value: "alpha" }, { key: "team", value: "A" }]);
      expect(run.inputs.dataset_inputs.map((d: any) => d.dataset.name).sort()).toEqual(["eval_ds", "train_ds"]);
      expect(run.outputs).toEqual({});
      // NaN metrics as protobuf's JSON writes them; delta's name comes from its tag
      const beta = (await search({ experiment_ids: [E], filter: "attributes.run_name = 'beta'" })).body.runs[0];
      expect(beta.data.metrics.find((m: any) => m.key === "acc")).toEqual({ key: "acc", value: "NaN", timestamp: 7, step: 0 });
      expect((await search({ experiment_ids: [E], filter: `run_id = '${id(4)}'` })).body.runs[0].info.run_name).toBe("delta");
    });

    test("metrics: numeric comparators; NaN only matches !=", async () => {
      expect(await names({ filter: "metrics.acc > 0.5" })).toEqual(["alpha"]);
      expect(await names({ filter: "metrics.acc != 0.9" })).toEqual(["beta", "gamma"]);
      expect(await names({ filter: "metrics.acc < 1" })).toEqual(["alpha", "gamma"]);
      expect(await names({ filter: "metric.loss <= 0.3" })).toEqual(["alpha", "delta"]);
      expect(await names({ filter: "metrics.`loss` = -1" })).toEqual(["delta"]);
      expect(await names({ filter: "metrics.acc >= -1e400" })).toEqual(["alpha", "gamma"]);
      expect(await names({ filter: "metrics.acc > 0.05 AND metrics.loss > 0" })).toEqual(["alpha"]);
    });

    test("params and tags: =, !=, LIKE (case-sensitive), ILIKE, IS [NOT] NULL, quoted keys", async () => {
      expect(await names({ filter: "params.lr = '0.1'" })).toEqual(["alpha", "gamma"]);
      expect(await names({ filter: 'param.lr != "0.1"' })).toEqual(["beta"]);
      expect(await names({ filter: "params.opt LIKE 'S%'" })).toEqual(["gamma"]);
      expect(await names({ filter: "params.opt LIKE 's%'" })).toEqual([]);
      expect(await names({ filter: "params.opt ILIKE 's%'" })).toEqual(["gamma"]);
      expect(await names({ filter: "params.opt IS NULL" })).toEqual(["beta", "delta"]);
      expect(await names({ filter: "parameters.opt IS NOT NULL" })).toEqual(["alpha", "gamma"]);
      expect(await names({ filter: "tags.team = 'a'" })).toEqual(["beta"]);
      expect(await names({ filter: "tags.team ILIKE 'a'" })).toEqual(["alpha", "beta"]);
      expect(await names({ filter: "tags.team != 'A'" })).toEqual(["beta", "gamma"]);
      expect(await names({ filter: "tags.`a b` = 'x'" })).toEqual(["gamma"]);
      expect(await names({ filter: 'tags."a b" IS NULL' })).toEqual(["alpha", "beta", "delta"]);
      expect(await names({ filter: "tags.`mlflow.runName` LIKE '%ta'" })).toEqual(["beta", "delta"]);
    });

    test("attributes: run_name through the mlflow.runName tag, times, status, run_id lists", async () => {
      expect(await names({ filter: "run_name = 'delta'" })).toEqual(["delta"]);
      expect(await names({ filter: "`Run name` ILIKE 'G%'" })).toEqual(["gamma"]);
      expect(await names({ filter: "attributes.run_name != 'alpha'" })).toEqual(["beta", "gamma", "delta"]);
      expect(await names({ filter: "attributes.status = 'RUNNING'" })).toEqual(["beta", "delta"]);
      expect(await names({ filter: "run.status LIKE 'F%'" })).toEqual(["alpha", "gamma"]);
      expect(await names({ filter: "start_time >= 2000" })).toEqual(["alpha", "beta", "gamma"]);
      expect(await names({ filter: "created < 2000" })).toEqual(["delta"]);
      expect(await names({ filter: "end_time > 2100.5" })).toEqual(["alpha"]);
      expect(await names({ filter: "user_id = 'u1'" })).toEqual(["alpha", "gamma"]);
      expect(await names({ filter: `run_id IN ('${id(1)}', '${id(4)}')` })).toEqual(["alpha", "delta"]);
      expect(await names({ filter: `attr.run_id NOT IN ('${id(1)}', '${id(4)}')` })).toEqual(["beta", "gamma"]);
      expect(await names({ filter: "artifact_uri LIKE '%artifacts'" })).toEqual(["alpha", "beta", "gamma", "delta"]);
    });

    test("datasets: name, digest, context, lists", async () => {
      expect(await names({ filter: "dataset.name = 'train_ds'" })).toEqual(["alpha"]);
      expect(await names({ filter: "datasets.name IN ('eval_ds')" })).toEqual(["alpha", "gamma"]);
      expect(await names({ filter: "dataset.digest != 'd1'" })).toEqual(["alpha", "gamma"]);
      expect(await names({ filter: "dataset.context = 'eval'" })).toEqual(["gamma"]);
      expect(await names({ filter: "dataset.context LIKE '%ing'" })).toEqual(["alpha"]);
      expect(await names({ filter: "dataset.name NOT IN ('train_ds', 'eval_ds')" })).toEqual([]);
    });

    test("order_by: values, then NaN (metrics), then missing; start_time DESC and run_uuid break ties", async () => {
      expect(await names({ order_by: ["metrics.acc DESC"] })).toEqual(["alpha", "gamma", "beta", "delta"]);
      expect(await names({ order_by: ["metrics.acc"] })).toEqual(["gamma", "alpha", "beta", "delta"]);
      expect(await names({ order_by: ["metrics.loss ASC"] })).toEqual(["delta", "alpha", "beta", "gamma"]);
      expect(await names({ order_by: ["params.lr DESC"] })).toEqual(["beta", "alpha", "gamma", "delta"]);
      expect(await names({ order_by: ["end_time"] })).toEqual(["gamma", "alpha", "beta", "delta"]);
      expect(await names({ order_by: ["attributes.end_time DESC"] })).toEqual(["alpha", "gamma", "beta", "delta"]);
      expect(await names({ order_by: ["run_name"] })).toEqual(["alpha", "beta", "gamma", "delta"]); // runs.name: NULL last
      expect(await names({ order_by: ["start_time ASC"] })).toEqual(["delta", "beta", "gamma", "alpha"]);
      expect(await names({ order_by: ["params.lr", "metrics.acc DESC"] })).toEqual(["alpha", "gamma", "beta", "delta"]);
      expect(await names({ order_by: ["tags.`a b`"], filter: "metrics.acc > 0" })).toEqual(["gamma", "alpha"]);
    });

    test("pages: max_results + 1 rows, MLflow's page tokens; default 1000", async () => {
      const first = await search({ experiment_ids: [E], max_results: 3, order_by: ["metrics.acc DESC"] });
      expect(first.body.runs.map((r: any) => r.info.run_name)).toEqual(["alpha", "gamma", "beta"]);
      expect(first.body.next_page_token).toBe(token(3));
      const second = await search({ experiment_ids: [E], max_results: 3, order_by: ["metrics.acc DESC"], page_token: token(3) });
      expect(second.body).toEqual({ runs: [expect.objectContaining({ info: expect.objectContaining({ run_name: "delta" }) })] });
      expect(await names({ max_results: 2, page_token: token(2) })).toEqual(["gamma", "delta"]);
      const many = await search({ experiment_ids: [G] });
      expect(many.body.runs.length).toBe(1000);
      expect(many.body.runs[0].info.start_time).toBe(1000);
      expect(many.body.next_page_token).toBe(token(1000));
      expect((await search({ experiment_ids: [G], page_token: token(1000) })).body.runs.map((r: any) => r.info.run_id)).toEqual([id(1000)]);
      expect((await search({ experiment_ids: [G], max_results: 50000 })).body.runs.length).toBe(1001);
    });

    test("MLflow's errors: grammar, comparators, order_by, limits, ids, tokens", async () => {
      await invalid({ filter: "foo.x = 1" }, "Invalid entity type 'foo'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']");
      await invalid({ filter: "metrics.acc LIKE 1" }, "Invalid comparator 'LIKE' not one of '{'<=', '>', '=', '>=', '<', '!='}");
      await invalid({ filter: "params.lr > '1'" }, "Invalid comparator '>' not one of '{'LIKE', 'IS NOT NULL', '=', '!=', 'ILIKE', 'IS NULL'}'");
      await invalid({ filter: "metrics.acc IS NULL" }, "IS NULL / IS NOT NULL is only supported for tags and params, not for 'metric' 'acc'");
      await invalid({ filter: "status IN ('a')" }, "Only ['run_id'] attributes support comparison with a list of quoted string values.");
      await invalid({ filter: "params.lr = '1' OR params.lr = '2'" }, "Invalid clause(s) in filter string: 'OR'");
      await invalid({ order_by: ["foo.bar DESC"] }, "Invalid entity type 'foo'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']");
      await invalid({ order_by: ["dataset.name"] }, "Invalid identifier type 'dataset'");
      await fails({ order_by: ["params.lr", "param.lr DESC"] }, 500, "INTERNAL_ERROR", "`order_by` contains duplicate fields: ['params.lr', 'param.lr DESC']");
      await fails({ order_by: ["created", "start_time"] }, 500, "INTERNAL_ERROR", "`order_by` contains duplicate fields: ['created', 'start_time']");
      await invalid({ max_results: 0 }, "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer");
      await invalid({ max_results: 50001 }, "Invalid value 50001 for parameter 'max_results' supplied:  Hint: Value was of type 'int'. See the API docs for more information about request parameters.");
      await invalid({ max_results: "x" }, `Invalid value "x" for parameter 'max_results' supplied:  Hint: Value was of type 'str'. See the API docs for more information about request parameters.`);
      await invalid({ order_by: "metrics.acc" }, `Invalid value "metrics.acc" for parameter 'order_by' supplied:  Hint: Value was of type 'str'. See the API docs for more information about request parameters.`);
      await invalid({ experiment_ids: ["x"] }, "Invalid experiment ID 'x'. Experiment ID must be a valid integer.");
      await invalid({ page_token: "zz" }, "Invalid page token, could not base64-decode");
      // validation order: max_results, filter, order_by, comparators, page token, experiment ids
      await invalid({ max_results: 0, filter: "foo.x = 1" }, "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer");
      await invalid({ filter: "metrics.acc LIKE 1", order_by: ["foo.x"] }, "Invalid entity type 'foo'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']");
      await invalid({ page_token: "zz", experiment_ids: ["x"] }, "Invalid page token, could not base64-decode");
      // int(None) in the handler's schema lambda: Flask's HTML 500
      const none = await search({ experiment_ids: [E], max_results: null });
      expect(none.status).toBe(500);
      expect(none.body).toContain("<title>500 Internal Server Error</title>");
    });

    test("what the database driver refuses, per dialect", async () => {
      if (dialect === "sqlite") {
        await fails({ filter: "run_id = ('a', 'b')" }, 400, "BAD_REQUEST", "(sqlite3.ProgrammingError) Error binding parameter 3: type 'tuple' is not supported");
        await fails({ filter: "run_id LIKE ('a')", order_by: ["metrics.acc"] }, 400, "BAD_REQUEST", "(sqlite3.ProgrammingError) Error binding parameter 7: type 'tuple' is not supported");
        await fails({ filter: "start_time > 99999999999999999999999" }, 500, "INTERNAL_ERROR", "Python int too large to convert to SQLite INTEGER");
        await fails({ experiment_ids: ["99999999999999999999999"] }, 500, "INTERNAL_ERROR", "Python int too large to convert to SQLite INTEGER");
        expect(await names({ max_results: 2, page_token: token(-1) })).toEqual(["alpha", "beta"]);
      } else {
        await fails({ filter: "run_id = ('a', 'b')" }, 400, "BAD_REQUEST", "operator does not exist: character varying = record");
        expect(await names({ filter: "run_id = ('a')" })).toEqual([]);
        expect(await names({ filter: "start_time > 99999999999999999999999" })).toEqual([]);
        expect(await names({ filter: "start_time < 99999999999999999999999" })).toEqual(["alpha", "beta", "gamma", "delta"]);
        expect((await search({ experiment_ids: ["99999999999999999999999"] })).body).toEqual({});
        await fails({ page_token: token(-1) }, 400, "BAD_REQUEST", "(psycopg2.errors.InvalidRowCountInResultOffsetClause) OFFSET must not be negative");
      }
    });

    test("the ajax path", async () => {
      const r = await s.call("POST", "/ajax-api/2.0/mlflow/runs/search", { experiment_ids: [E], max_results: 1 });
      expect(r.body.runs[0].info.run_name).toBe("alpha");
    });
  });
}
