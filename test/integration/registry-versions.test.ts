// Model versions on both dialects: create (numbering, tags, sources and their path-traversal
// rules, models:/ and logged-model sources), get / update / transition-stage / delete (MLflow's
// soft delete), tags, get-download-uri and search-model-versions, against what MLflow 3.18.0's
// server answers (expected bodies taken from the real server).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb, type Db } from "../../src/store/db";
import { sql } from "../../src/store/sql";
import { DIALECTS, startTestServer, type TestServer } from "../support/server";
import { b64, fails, failsLike, flask500, invalid, notFound, registryClient, SCHEMA_HINT, token } from "./registry-helpers";

const RELATIVE = (s: string) =>
  `Invalid model version source: '${s}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, ` +
  "an absolute path must be provided without relative path references present. Please provide an absolute path.";
const LOCAL = (s: string, id: "run_id" | "model_id" = "run_id") =>
  `Invalid model version source: '${s}'. To use a local path as a model version source, the ${id} request parameter has to be specified ` +
  `and the local path has to be contained within the artifact directory of the run specified by the ${id}.`;
const IDENTIFY = (s: string, id: "run_id" | "model_id") =>
  `Invalid model version source: '${s}'. The ${id} request parameter must identify the resource that contains the source.`;
const HOST = (scheme: string) =>
  `'source' cannot use the '${scheme}' scheme: the '${scheme}' scheme addresses a host other than the tracking server's configured artifact storage, ` +
  "so the server would connect to the host named in the URI. Set the MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES environment variable on the server to allow it.";

for (const dialect of DIALECTS) {
  describe(`model versions (${dialect})`, () => {
    let s: TestServer;
    let db: Db;
    let dir: string;
    const c = registryClient(() => s);
    const { api, ok, createModel, createVersion, getVersion, searchVersions } = c;
    const create = (body: Record<string, unknown>) => api("POST", "model-versions/create", body);

    /** A run of the Default experiment with this artifact URI (the tracking tables, written directly). */
    const run = async (id: string, artifactUri: string) => {
      await db.run(sql`
        INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time,
          source_version, lifecycle_stage, artifact_uri, experiment_id)
        VALUES (${id}, 'r', 'UNKNOWN', '', '', 'u', 'RUNNING', 0, NULL, '', 'active', ${artifactUri}, 0)`);
    };
    const loggedModel = async (id: string, location: string, sourceRunId: string | null, stage = "active") => {
      await db.run(sql`
        INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms,
          status, lifecycle_stage, model_type, source_run_id, status_message)
        VALUES (${id}, 0, 'lm', ${location}, 0, 0, 1, ${stage}, '', ${sourceRunId}, NULL)`);
    };

    beforeAll(async () => {
      s = await startTestServer(dialect);
      db = openDb(s.backendStoreUri, { poolSize: 2 });
      dir = mkdtempSync(join(tmpdir(), "mlflow-bun-registry-"));
    });
    afterAll(async () => {
      await db.close();
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    describe("create / get / update", () => {
      test("numbers versions 1, 2, ...; the entity as MLflow emits it; the model's update time", async () => {
        const m = await createModel({ name: "v" });
        await Bun.sleep(2);
        const v1 = await createVersion({
          name: "v", source: "s3://bucket/path/0", run_id: "run0", run_link: "http://x", description: "d",
          tags: [{ key: "i", value: "0" }, { key: "i", value: "last" }, { key: "t", value: "x" }],
        });
        expect(v1).toEqual({
          name: "v", version: "1", creation_timestamp: v1.creation_timestamp, last_updated_timestamp: v1.creation_timestamp,
          current_stage: "None", description: "d", source: "s3://bucket/path/0", run_id: "run0", status: "READY",
          tags: [{ key: "i", value: "last" }, { key: "t", value: "x" }], run_link: "http://x",
        });
        expect(Object.keys(v1)).toEqual(["name", "version", "creation_timestamp", "last_updated_timestamp", "current_stage", "description", "source", "run_id", "status", "tags", "run_link"]);
        expect(await getVersion("v", "1")).toEqual(v1);
        expect((await c.getModel("v")).last_updated_timestamp).toBe(v1.creation_timestamp);
        expect(v1.creation_timestamp).toBeGreaterThan(m.creation_timestamp);
        // absent strings are stored as '' and emitted (user_id stays NULL)
        const v2 = await createVersion({ name: "v", source: "s3://bucket/min" });
        expect(v2).toEqual({
          name: "v", version: "2", creation_timestamp: v2.creation_timestamp, last_updated_timestamp: v2.creation_timestamp,
          current_stage: "None", description: "", source: "s3://bucket/min", run_id: "", status: "READY", run_link: "",
        });
        const row = await db.one(sql`SELECT * FROM model_versions WHERE name = 'v' AND version = 2`);
        expect(row).toMatchObject({ workspace: "default", storage_location: "s3://bucket/min", user_id: null, status_message: null });
        const tagRow = await db.one(sql`SELECT workspace FROM model_version_tags WHERE name = 'v' AND version = 1 AND key = 't'`);
        expect(tagRow!.workspace).toBe("default");
        expect((await s.call("GET", "/ajax-api/2.0/mlflow/model-versions/get?name=v&version=2")).body.model_version).toEqual(v2);
      });

      test("request schema, names, versions and tags", async () => {
        await createModel({ name: "ve" });
        await invalid(create({ name: "ve" }), `Missing value for required parameter 'source'.${SCHEMA_HINT}`);
        await invalid(create({ source: "s3://a/b" }), `Missing value for required parameter 'name'.${SCHEMA_HINT}`);
        await invalid(create({ name: "ve", source: 5 }), `Invalid value 5 for parameter 'source' supplied:  Hint: Value was of type 'int'.${SCHEMA_HINT}`);
        await invalid(create({ name: "ve", source: "s3://a/b", run_id: 3 }), `Invalid value 3 for parameter 'run_id' supplied:  Hint: Value was of type 'int'.${SCHEMA_HINT}`);
        await invalid(create({ name: "a/b", source: "s3://a/b" }), "Invalid model name 'a/b'. Names cannot contain '/' or ':'.");
        await invalid(create({ name: "ve", source: "s3://a/b", tags: [{ key: "a!b", value: "1" }] }), `Invalid value "a!b" for parameter 'key' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).`);
        await invalid(create({ name: "ve", source: "s3://a/b", tags: [{ key: "mlflow.prompt.text", value: "x".repeat(100_001) }] }), "Prompt text exceeds max length of 100000 characters.");
        await invalid(create({ name: "ve", source: "s3://a/b", tags: [{ key: "k", value: "x".repeat(100_001) }] }), "'value' exceeds the maximum length of 100000 characters");
        await notFound(create({ name: "nope", source: "s3://a/b" }), "Registered Model with name=nope not found");
        await createVersion({ name: "ve", source: "s3://a/b" });
        await invalid(api("GET", "model-versions/get", { name: "ve", version: "x" }), "Parameter 'version' must be an integer, got 'x'.");
        await invalid(api("GET", "model-versions/get", { name: "ve" }), `Missing value for required parameter 'version'.${SCHEMA_HINT}`);
        await notFound(api("GET", "model-versions/get", { name: "ve", version: "99" }), "Model Version (name=ve, version=99) not found");
        await notFound(api("GET", "model-versions/get", { name: "ve", version: "99999999999" }), "Model Version (name=ve, version=99999999999) not found");
        expect((await api("GET", "model-versions/get", { name: "ve", version: " 01 " })).body.model_version.version).toBe("1"); // Python's int()
        if (dialect === "sqlite") {
          await fails(api("GET", "model-versions/get", { name: "ve", version: "99999999999999999999999" }), 500, "INTERNAL_ERROR", "Python int too large to convert to SQLite INTEGER");
        } else {
          await notFound(api("GET", "model-versions/get", { name: "ve", version: "99999999999999999999999" }), "Model Version (name=ve, version=99999999999999999999999) not found");
        }
      });

      test("update: the description (absent or null: NULL, left out) and the update time", async () => {
        await createModel({ name: "vu" });
        for (let i = 0; i < 3; i++) await createVersion({ name: "vu", source: `s3://b/${i}`, description: "orig" });
        await Bun.sleep(2);
        const u = (await ok(api("PATCH", "model-versions/update", { name: "vu", version: "1", description: "upd" }))).model_version;
        expect(u.description).toBe("upd");
        expect(u.last_updated_timestamp).toBeGreaterThan(u.creation_timestamp);
        expect((await ok(api("PATCH", "model-versions/update", { name: "vu", version: "2" }))).model_version.description).toBeUndefined();
        expect((await ok(api("PATCH", "model-versions/update", { name: "vu", version: "3", description: null }))).model_version.description).toBeUndefined();
        expect((await db.one(sql`SELECT description FROM model_versions WHERE name = 'vu' AND version = 2`))!.description).toBeNull();
        await notFound(api("PATCH", "model-versions/update", { name: "vu", version: "77", description: "x" }), "Model Version (name=vu, version=77) not found");
      });

      test("tags: set upserts, delete ignores a missing tag, both need a live version", async () => {
        await createModel({ name: "vt" });
        await createVersion({ name: "vt", source: "s3://b/1", tags: [{ key: "i", value: "0" }] });
        const set = (body: Record<string, unknown>) => api("POST", "model-versions/set-tag", { name: "vt", version: "1", ...body });
        await ok(set({ key: "t1", value: "v1" }));
        await ok(set({ key: "i", value: "changed" }));
        await ok(set({ key: "empty" }));
        expect((await getVersion("vt", "1")).tags).toEqual([{ key: "i", value: "changed" }, { key: "t1", value: "v1" }, { key: "empty", value: "" }]);
        await ok(api("DELETE", "model-versions/delete-tag", { name: "vt", version: "1", key: "t1" }));
        await ok(api("DELETE", "model-versions/delete-tag", { name: "vt", version: "1", key: "zz" }));
        expect((await getVersion("vt", "1")).tags).toEqual([{ key: "i", value: "changed" }, { key: "empty", value: "" }]);
        await invalid(set({ version: "x", key: "k" }), "Parameter 'version' must be an integer, got 'x'.");
        await notFound(set({ version: "77", key: "k", value: "v" }), "Model Version (name=vt, version=77) not found");
        await notFound(api("DELETE", "model-versions/delete-tag", { name: "vt", version: "77", key: "zz" }), "Model Version (name=vt, version=77) not found");
        await invalid(set({ key: "a/../b" }), `Invalid value "a/../b" for parameter 'key' supplied: Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to 'b'`);
      });

      test("get-download-uri: storage location (or source); no request schema", async () => {
        await createModel({ name: "vd" });
        await createVersion({ name: "vd", source: "s3://b/dl" });
        expect((await ok(api("GET", "model-versions/get-download-uri", { name: "vd", version: "1" })))).toEqual({ artifact_uri: "s3://b/dl" });
        await db.run(sql`UPDATE model_versions SET storage_location = '' WHERE name = 'vd'`);
        expect((await ok(api("GET", "model-versions/get-download-uri", { name: "vd", version: "1" })))).toEqual({ artifact_uri: "s3://b/dl" });
        await invalid(api("GET", "model-versions/get-download-uri", { name: "vd" }), "Parameter 'version' must be an integer, got ''.");
        await invalid(api("GET", "model-versions/get-download-uri", { version: "1" }), "Missing value for required parameter 'name'.");
        await notFound(api("GET", "model-versions/get-download-uri", { name: "vd", version: "5" }), "Model Version (name=vd, version=5) not found");
      });

      test("PostgreSQL's VARCHAR limits (SQLite has none)", async () => {
        await createModel({ name: "vo" });
        const long = (n: number) => "x".repeat(n);
        const r1 = await create({ name: "vo", source: `s3://b/${long(600)}` });
        const r2 = await create({ name: "vo", source: "s3://b/x", run_id: "r".repeat(40) });
        if (dialect === "sqlite") {
          expect([r1.status, r2.status]).toEqual([200, 200]);
          return;
        }
        await failsLike(
          Promise.resolve(r2),
          400,
          "BAD_REQUEST",
          "(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(32)\n\n" +
            "[SQL: INSERT INTO model_versions (workspace, name, version, creation_time, last_updated_time, description, user_id, current_stage, source, storage_location, run_id, run_link, status, status_message) " +
            "VALUES (%(workspace)s, %(name)s, %(version)s, %(creation_time)s, %(last_updated_time)s, %(description)s, %(user_id)s, %(current_stage)s, %(source)s, %(storage_location)s, %(run_id)s, %(run_link)s, %(status)s, %(status_message)s)]\n" +
            `[parameters: {'workspace': 'default', 'name': 'vo', 'version': 1, 'creation_time': <TIME>, 'last_updated_time': <TIME>, 'description': '', 'user_id': None, 'current_stage': 'None', 'source': 's3://b/x', 'storage_location': 's3://b/x', 'run_id': '${"r".repeat(40)}', 'run_link': '', 'status': 'READY', 'status_message': None}]\n` +
            "(Background on this error at: https://sqlalche.me/e/21/9h9h)",
        );
        expect(r1.body.message).toStartWith("(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(500)\n\n[SQL: INSERT INTO model_versions");
        const v = await createVersion({ name: "vo", source: "s3://b/x" });
        expect(v.version).toBe("1"); // the failed creates took no number
        await failsLike(
          api("PATCH", "model-versions/update", { name: "vo", version: "1", description: long(5001) }),
          400,
          "BAD_REQUEST",
          "(raised as a result of Query-invoked autoflush; consider using a session.no_autoflush block if this flush is occurring prematurely)\n" +
            "(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(5000)\n\n" +
            "[SQL: UPDATE model_versions SET last_updated_time=%(last_updated_time)s, description=%(description)s WHERE model_versions.workspace = %(model_versions_workspace)s AND model_versions.name = %(model_versions_name)s AND model_versions.version = %(model_versions_version)s]\n" +
            `[parameters: {'last_updated_time': <TIME>, 'description': '${"x".repeat(149)} ... (4703 characters truncated) ... ${"x".repeat(149)}', 'model_versions_workspace': 'default', 'model_versions_name': 'vo', 'model_versions_version': 1}]\n` +
            "(Background on this error at: https://sqlalche.me/e/21/9h9h)",
        );
      });
    });

    describe("stages and deletion", () => {
      test("transition-stage: canonical stage names, archive_existing_versions, the model's update time", async () => {
        await createModel({ name: "ts" });
        for (let i = 0; i < 4; i++) await createVersion({ name: "ts", source: `s3://b/${i}` });
        const tr = (body: Record<string, unknown>) => api("POST", "model-versions/transition-stage", { name: "ts", ...body });
        const v1 = (await ok(tr({ version: "1", stage: "staging" }))).model_version;
        expect(v1.current_stage).toBe("Staging");
        await ok(tr({ version: "2", stage: "Staging" }));
        await Bun.sleep(2);
        const v3 = (await ok(tr({ version: "3", stage: "STAGING", archive_existing_versions: true }))).model_version;
        const stages = async () => Object.fromEntries(await Promise.all(["1", "2", "3", "4"].map(async (v) => [v, (await getVersion("ts", v)).current_stage])));
        expect(await stages()).toEqual({ 1: "Archived", 2: "Archived", 3: "Staging", 4: "None" });
        expect((await getVersion("ts", "1")).last_updated_timestamp).toBe(v3.last_updated_timestamp);
        expect((await c.getModel("ts")).last_updated_timestamp).toBe(v3.last_updated_timestamp);
        await invalid(tr({ version: "3", stage: "bogus" }), "Invalid Model Version stage: bogus. Value must be one of None, Staging, Production, Archived.");
        await fails(
          tr({ version: "3", stage: "none", archive_existing_versions: true }),
          500,
          "INTERNAL_ERROR",
          "Model version transition cannot archive existing model versions because 'none' is not an Active stage. Valid stages are ['Staging', 'Production']",
        );
        await notFound(tr({ version: "99", stage: "Production" }), "Model Version (name=ts, version=99) not found");
        await invalid(tr({ version: "3", stage: "Production", archive_existing_versions: "yes" }), `Invalid value "yes" for parameter 'archive_existing_versions' supplied:  Hint: Value was of type 'str'.${SCHEMA_HINT}`);
        if (dialect === "sqlite") await invalid(tr({ version: "x", stage: "Production", archive_existing_versions: true }), "Parameter 'version' must be an integer, got 'x'.");
        else await fails(tr({ version: "x", stage: "Production", archive_existing_versions: true }), 400, "BAD_REQUEST", 'invalid input syntax for type integer: "x"');
        expect(await stages()).toEqual({ 1: "Archived", 2: "Archived", 3: "Staging", 4: "None" }); // rolled back
      });

      test("delete is a soft delete: redacted, invisible, aliases gone, tags and the number kept", async () => {
        await createModel({ name: "sd" });
        await createVersion({ name: "sd", source: "s3://b/1", run_id: "r1", run_link: "l", description: "d", tags: [{ key: "k", value: "v" }] });
        await createVersion({ name: "sd", source: "s3://b/2" });
        await ok(api("POST", "registered-models/alias", { name: "sd", alias: "champ", version: "1" }));
        await ok(api("POST", "registered-models/alias", { name: "sd", alias: "other", version: "2" }));
        await ok(api("DELETE", "model-versions/delete", { name: "sd", version: "1" }));
        const row = await db.one(sql`SELECT * FROM model_versions WHERE name = 'sd' AND version = 1`);
        expect(row).toMatchObject({
          current_stage: "Deleted_Internal", description: null, user_id: null, source: "REDACTED-SOURCE-PATH", run_id: "REDACTED-RUN-ID",
          run_link: "REDACTED-RUN-LINK", status_message: null, storage_location: "s3://b/1",
        });
        expect((await db.all(sql`SELECT key FROM model_version_tags WHERE name = 'sd' AND version = 1`)).map((r) => r.key)).toEqual(["k"]);
        expect((await c.getModel("sd")).aliases).toEqual([{ alias: "other", version: "2" }]);
        expect((await c.getModel("sd")).last_updated_timestamp).toBe(Number(row!.last_updated_time));
        await notFound(api("GET", "model-versions/get", { name: "sd", version: "1" }), "Model Version (name=sd, version=1) not found");
        await notFound(api("DELETE", "model-versions/delete", { name: "sd", version: "1" }), "Model Version (name=sd, version=1) not found");
        await notFound(api("POST", "model-versions/set-tag", { name: "sd", version: "1", key: "a", value: "b" }), "Model Version (name=sd, version=1) not found");
        await notFound(api("POST", "registered-models/alias", { name: "sd", alias: "a", version: "1" }), "Model Version (name=sd, version=1) not found");
        await notFound(api("GET", "model-versions/get-download-uri", { name: "sd", version: "1" }), "Model Version (name=sd, version=1) not found");
        await invalid(api("GET", "registered-models/alias", { name: "sd", alias: "champ" }), "Registered model alias champ not found.");
        expect((await searchVersions({ filter: "name = 'sd'" })).body.model_versions.map((v: any) => v.version)).toEqual(["2"]);
        expect((await createVersion({ name: "sd", source: "s3://b/3" })).version).toBe("3");
        await invalid(api("DELETE", "model-versions/delete", { name: "a/b", version: "x" }), "Parameter 'version' must be an integer, got 'x'.");
      });
    });

    describe("sources", () => {
      test("non-local sources: absolute paths without relative segments; host-addressed schemes refused", async () => {
        await createModel({ name: "src" });
        for (const src of ["s3://b/a+b", "s3://b/a;x", "gs://b/p", "dbfs:/a/b", "s3://b/ok/", "C:/x/y"]) expect((await create({ name: "src", source: src })).status).toBe(200);
        await invalid(create({ name: "src", source: "hdfs:/p" }), HOST("hdfs"));
        for (const src of ["s3://bucket", "s3://bucket/", "s3://b/a/../c", "s3://b/a/./c", "s3://b/a%2F..%2Fc", "s3://b/a%252F..%252Fc", "s3://b/a//c/..", "gs://b/p%00x", "s3://b/p\u0000x"]) {
          await invalid(create({ name: "src", source: src }), RELATIVE(src));
        }
        for (const scheme of ["https", "http", "ftp"]) await invalid(create({ name: "src", source: `${scheme}://host/a` }), HOST(scheme));
        await invalid(create({ name: "src", source: "mlflow-artifacts://host/x" }), HOST("mlflow-artifacts"));
        await fails(create({ name: "src", source: "file://otherhost/tmp/x" }), 500, "INTERNAL_ERROR", "file://otherhost/tmp/x is not a valid remote uri. For remote access on windows, please consider using a different scheme such as SMB (e.g. smb://<hostname>/<path>).");
        await invalid(create({ name: "src", source: "runs://h/abc/model" }), IDENTIFY("runs://h/abc/model", "run_id"));
        await invalid(create({ name: "src", source: "runs:/abc/model" }), IDENTIFY("runs:/abc/model", "run_id"));
        await invalid(create({ name: "src", source: "runs:/abc/model", run_id: "other" }), IDENTIFY("runs:/abc/model", "run_id"));
        expect((await create({ name: "src", source: "runs:/abcd/model", run_id: "abcd" })).status).toBe(200); // no run lookup for runs:/
        await invalid(create({ name: "src", source: "models:/m-123" }), IDENTIFY("models:/m-123", "model_id"));
        await invalid(create({ name: "src", source: "models:/" }), IDENTIFY("models:/", "model_id"));
        await invalid(create({ name: "src", source: "models://x/y/1" }), "Invalid model version source: 'models://x/y/1'. Registered model sources must use the active model registry.");
        await invalid(create({ name: "src", source: "models:/a/b/c" }), IDENTIFY("models:/a/b/c", "model_id"));
        await invalid(create({ name: "src", source: "mlflow-artifacts:/0/abc/artifacts" }), IDENTIFY("mlflow-artifacts:/0/abc/artifacts", "run_id"));
        await invalid(create({ name: "src", source: "mlflow-artifacts:/x/y", run_id: "nope" }), IDENTIFY("mlflow-artifacts:/x/y", "run_id"));
      });

      test("local sources must lie inside the artifact directory of the run named with them (symlinks resolved)", async () => {
        await createModel({ name: "loc" });
        const root = join(dir, "art");
        const runDir = join(root, "run1", "artifacts");
        mkdirSync(join(runDir, "model"), { recursive: true });
        mkdirSync(join(dir, "outside"), { recursive: true });
        symlinkSync(join(dir, "outside"), join(runDir, "escape"));
        await run("run1", runDir);
        await run("remote1", "mlflow-artifacts:/0/remote1/artifacts");
        const fine = [`${runDir}/model`, runDir, `file://${runDir}/model`, `${runDir}/new/../model`];
        for (const source of fine) expect((await create({ name: "loc", source, run_id: "run1" })).status).toBe(200);
        await invalid(create({ name: "loc", source: "/tmp/x" }), LOCAL("/tmp/x"));
        await invalid(create({ name: "loc", source: `${runDir}/model`, run_id: "nope" }), IDENTIFY(`${runDir}/model`, "run_id"));
        await invalid(create({ name: "loc", source: `${runDir}/../../x`, run_id: "run1" }), LOCAL(join(root, "x")));
        await invalid(create({ name: "loc", source: `${runDir}X`, run_id: "run1" }), LOCAL(`${runDir}X`));
        await invalid(create({ name: "loc", source: `${runDir}/escape/model`, run_id: "run1" }), LOCAL(join(dir, "outside", "model")));
        await invalid(create({ name: "loc", source: `${runDir}/model`, run_id: "remote1" }), LOCAL(`${runDir}/model`));
        await invalid(create({ name: "loc", source: "rel/path", run_id: "run1" }), LOCAL(join(process.cwd(), "rel/path")));
        await invalid(create({ name: "loc", source: "rel/path" }), LOCAL("rel/path"));
        // mlflow-artifacts sources must lie under the run's artifact root
        const remote = "mlflow-artifacts:/0/remote1/artifacts";
        expect((await create({ name: "loc", source: `${remote}/model`, run_id: "remote1" })).status).toBe(200);
        expect((await create({ name: "loc", source: remote, run_id: "remote1" })).status).toBe(200);
        await invalid(create({ name: "loc", source: "mlflow-artifacts:/0/remote1/other", run_id: "remote1" }), IDENTIFY("mlflow-artifacts:/0/remote1/other", "run_id"));
        await invalid(create({ name: "loc", source: `${remote}/model`, run_id: "run1" }), IDENTIFY(`${remote}/model`, "run_id"));
        await invalid(create({ name: "loc", source: `${remote}/%2E%2E/x`, run_id: "remote1" }), RELATIVE(`${remote}/%2E%2E/x`));
      });

      test("models:/ sources resolve to models:/name/<version>, inheriting the run id and storage location", async () => {
        await createModel({ name: "up" });
        await createVersion({ name: "up", source: "s3://b/up1", run_id: "run0" });
        await createVersion({ name: "up", source: "s3://b/up2", run_id: "run1" });
        await ok(api("POST", "model-versions/transition-stage", { name: "up", version: "1", stage: "Production" }));
        await ok(api("POST", "registered-models/alias", { name: "up", alias: "champ", version: "2" }));
        await createModel({ name: "down" });
        const from = async (source: string, extra: Record<string, unknown> = {}) => {
          const v = await createVersion({ name: "down", source, ...extra });
          const uri = (await ok(api("GET", "model-versions/get-download-uri", { name: "down", version: v.version }))).artifact_uri;
          return [v.source, v.run_id, uri];
        };
        expect(await from("models:/up/1")).toEqual(["models:/up/1", "run0", "s3://b/up1"]);
        expect(await from("models:/up@champ")).toEqual(["models:/up/2", "run1", "s3://b/up2"]);
        expect(await from("models:/up/production")).toEqual(["models:/up/1", "run0", "s3://b/up1"]);
        expect(await from("models:/up/latest")).toEqual(["models:/up/2", "run1", "s3://b/up2"]);
        expect(await from("models:/up/1", { run_id: "run0" })).toEqual(["models:/up/1", "run0", "s3://b/up1"]);
        expect(await from("models:/up/1", { model_id: "" })).toEqual(["models:/up/1", "run0", "s3://b/up1"]);
        const mismatch = (s: string) => `Invalid model version source: '${s}'. The run_id and model_id request parameters must match the referenced model version.`;
        await invalid(create({ name: "down", source: "models:/up/1", run_id: "x" }), mismatch("models:/up/1"));
        await invalid(create({ name: "down", source: "models:/up/1", model_id: "m-x" }), mismatch("models:/up/1"));
        await fails(create({ name: "down", source: "models:/up/Archived" }), 500, "INTERNAL_ERROR", "No versions of model with name 'up' and stage 'Archived' found");
        await invalid(create({ name: "down", source: "models:/up/bogus" }), "Invalid Model Version stage: bogus. Value must be one of None, Staging, Production, Archived.");
        await invalid(create({ name: "down", source: "models:/up@nope" }), "Registered model alias nope not found.");
        await notFound(create({ name: "down", source: "models:/nope/1" }), "Registered Model with name=nope not found");
        await notFound(create({ name: "down", source: "models:/up/77" }), "Model Version (name=up, version=77) not found");
        await createModel({ name: "pr", tags: [{ key: "mlflow.prompt.is_prompt", value: "true" }] });
        await invalid(create({ name: "down", source: "models:/pr/1" }), "Invalid model version source: 'models:/pr/1'. Prompt versions cannot be used as model version sources.");
      });

      test("logged models: model_id sources, the run id from the model, the model's mlflow.modelVersions tag", async () => {
        await run("lmrun", "mlflow-artifacts:/0/lmrun/artifacts");
        await loggedModel("m-aaa", "mlflow-artifacts:/0/models/m-aaa/artifacts", "lmrun");
        await loggedModel("m-gone", "mlflow-artifacts:/0/models/m-gone/artifacts", null, "deleted");
        await createModel({ name: "lm" });
        const v1 = await createVersion({ name: "lm", source: "models:/m-aaa", model_id: "m-aaa" });
        expect([v1.source, v1.run_id]).toEqual(["models:/m-aaa", "lmrun"]);
        expect((await ok(api("GET", "model-versions/get-download-uri", { name: "lm", version: "1" }))).artifact_uri).toBe("mlflow-artifacts:/0/models/m-aaa/artifacts");
        const v2 = await createVersion({ name: "lm", source: "mlflow-artifacts:/0/models/m-aaa/artifacts/sub", model_id: "m-aaa", run_id: "given" });
        expect(v2.run_id).toBe("given");
        await createVersion({ name: "lm", source: "s3://x/y", model_id: "m-aaa" });
        const tag = await db.one(sql`SELECT tag_value FROM logged_model_tags WHERE model_id = 'm-aaa' AND tag_key = 'mlflow.modelVersions'`);
        expect(tag!.tag_value).toBe('[{"name": "lm", "version": 1}, {"name": "lm", "version": 2}, {"name": "lm", "version": 3}]');
        await invalid(create({ name: "lm", source: "models:/m-aaa" }), IDENTIFY("models:/m-aaa", "model_id"));
        await invalid(create({ name: "lm", source: "models:/m-aaa", model_id: "m-other" }), IDENTIFY("models:/m-aaa", "model_id"));
        await invalid(create({ name: "lm", source: "runs:/lmrun/model", model_id: "m-aaa" }), IDENTIFY("runs:/lmrun/model", "model_id"));
        await invalid(create({ name: "lm", source: "mlflow-artifacts:/0/models/other", model_id: "m-aaa" }), IDENTIFY("mlflow-artifacts:/0/models/other", "model_id"));
        await invalid(create({ name: "lm", source: "/tmp/x", model_id: "m-nope" }), IDENTIFY("/tmp/x", "model_id"));
        await invalid(create({ name: "lm", source: "/tmp/x", model_id: "m-aaa" }), LOCAL("/tmp/x", "model_id"));
        await notFound(create({ name: "lm", source: "s3://x/y", model_id: "m-gone" }), "Logged model with ID 'm-gone' not found.");
        // with a run id the model is only looked up after the version is created (MLflow's order): it stays
        await notFound(create({ name: "lm", source: "s3://x/y", model_id: "m-nope", run_id: "r" }), "Logged model with ID 'm-nope' not found.");
        expect((await getVersion("lm", "4")).run_id).toBe("r");
      });

      test("prompts: placeholder sources only; prompt versions skip the source rules", async () => {
        await createModel({ name: "prm", tags: [{ key: "mlflow.prompt.is_prompt", value: "true" }] });
        const tags = [{ key: "mlflow.prompt.is_prompt", value: "true" }, { key: "mlflow.prompt.text", value: "hi {{x}}" }];
        expect((await createVersion({ name: "prm", source: "dummy-source", tags })).source).toBe("dummy-source");
        expect((await createVersion({ name: "prm", source: "prompt-template", tags: [{ key: "mlflow.prompt.is_prompt", value: "TRUE" }] })).version).toBe("2");
        await invalid(create({ name: "prm", source: "s3://a/b", tags }), "Invalid prompt source: 's3://a/b'. Prompt sources must use an MLflow placeholder.");
        await invalid(create({ name: "prm", source: "dummy-source" }), LOCAL("dummy-source")); // not tagged as a prompt: a local path
      });

      test("MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX", async () => {
        await createModel({ name: "rx" });
        process.env.MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX = "^s3://allowed/";
        try {
          await invalid(create({ name: "rx", source: "s3://other/x" }), "Invalid model version source: 's3://other/x'.");
          expect((await create({ name: "rx", source: "s3://allowed/x" })).status).toBe(200);
        } finally {
          delete process.env.MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX;
        }
      });
    });

    describe("search-model-versions", () => {
      beforeAll(async () => {
        await createModel({ name: "sv-a" });
        await createModel({ name: "sv-b" });
        for (let i = 0; i < 4; i++) {
          await createVersion({ name: "sv-a", source: `s3://svbucket/path/${i}`, run_id: `svrun${i}`, tags: [{ key: "i", value: String(i) }] });
          await Bun.sleep(2);
        }
        await createVersion({ name: "sv-b", source: "s3://svbucket/other", run_id: "svrun1" });
        await ok(api("DELETE", "model-versions/delete", { name: "sv-a", version: "4" }));
        await createModel({ name: "sv-prompt", tags: [{ key: "mlflow.prompt.is_prompt", value: "true" }] });
        await createVersion({ name: "sv-prompt", source: "dummy-source", tags: [{ key: "mlflow.prompt.is_prompt", value: "true" }] });
      });
      const list = async (query: Record<string, unknown>) => {
        const r = await searchVersions(query);
        if (r.status !== 200) throw new Error(JSON.stringify(r.body));
        return (r.body.model_versions ?? []).map((v: any) => `${v.name}/${v.version}`);
      };

      test("filters, the default order (last updated desc, name, version desc), no aliases, deleted and prompt versions left out", async () => {
        await ok(api("POST", "registered-models/alias", { name: "sv-a", alias: "x", version: "1" }));
        expect(await list({ filter: "name LIKE 'sv-%'" })).toEqual(["sv-b/1", "sv-a/3", "sv-a/2", "sv-a/1"]);
        expect((await searchVersions({ filter: "name = 'sv-a' AND version_number = 1" })).body.model_versions[0].aliases).toBeUndefined();
        expect(await list({ filter: "name = 'sv-a' AND version_number > 1" })).toEqual(["sv-a/3", "sv-a/2"]);
        expect(await list({ filter: "name = 'sv-a' AND version_number = '2'" })).toEqual(["sv-a/2"]);
        expect(await list({ filter: "name = 'sv-a' AND version_number = ' 2 '" })).toEqual(["sv-a/2"]);
        expect(await list({ filter: "run_id = 'svrun1'" })).toEqual(["sv-b/1", "sv-a/2"]);
        expect(await list({ filter: "run_id IN ('svrun1', 'svrun2')" })).toEqual(["sv-b/1", "sv-a/3", "sv-a/2"]);
        expect(await list({ filter: "name LIKE 'sv-%' AND run_id NOT IN ('svrun1')" })).toEqual(["sv-a/3", "sv-a/1"]);
        expect(await list({ filter: "source_path = 's3://svbucket/path/1'" })).toEqual(["sv-a/2"]);
        expect(await list({ filter: "source_path LIKE 's3://svbucket/path/%' AND tags.i != '0'" })).toEqual(["sv-a/3", "sv-a/2"]);
        expect(await list({ filter: "name ILIKE 'SV-B'" })).toEqual(["sv-b/1"]);
        expect(await list({ filter: "name LIKE 'sv-%' AND tags.`mlflow.prompt.is_prompt` = 'true'" })).toEqual(["sv-prompt/1"]);
        expect(await list({ filter: "name = 'sv-a' AND version_number >= 99999999999" })).toEqual([]);
        expect(await list({ filter: "name = 'sv-a'", order_by: ["version_number ASC"] })).toEqual(["sv-a/1", "sv-a/2", "sv-a/3"]);
        expect(await list({ filter: "name LIKE 'sv-%'", order_by: ["tags.name DESC"] })).toEqual(["sv-b/1", "sv-a/3", "sv-a/2", "sv-a/1"]);
        expect(await list({ filter: "name LIKE 'sv-%'", order_by: ["creation_timestamp ASC"] })).toEqual(["sv-a/1", "sv-a/2", "sv-a/3", "sv-b/1"]);
      });

      test("paging: max_results (default 200000), page tokens", async () => {
        const f = { filter: "name LIKE 'sv-%'" };
        const p1 = await searchVersions({ ...f, max_results: 2 });
        expect(p1.body.model_versions.map((v: any) => v.version)).toEqual(["1", "3"]);
        expect(p1.body.next_page_token).toBe(token(2));
        const p2 = await searchVersions({ ...f, max_results: 2, page_token: p1.body.next_page_token });
        expect(p2.body.model_versions.map((v: any) => `${v.name}/${v.version}`)).toEqual(["sv-a/2", "sv-a/1"]);
        expect(p2.body.next_page_token).toBeUndefined();
        await invalid(searchVersions({ max_results: 0 }), "Invalid value for max_results. It must be a positive integer, but got 0");
        await invalid(searchVersions({ max_results: 200001 }), `Invalid value "200001" for parameter 'max_results' supplied:  Hint: Value was of type 'str'.${SCHEMA_HINT}`);
        if (dialect === "sqlite") expect((await searchVersions({ ...f, max_results: 2, page_token: token(-1) })).body.model_versions.length).toBe(2);
        else await fails(searchVersions({ ...f, max_results: 2, page_token: token(-1) }), 400, "BAD_REQUEST", "(psycopg2.errors.InvalidRowCountInResultOffsetClause) OFFSET must not be negative");
      });

      test("errors", async () => {
        const filter = (f: string, message: string) => invalid(searchVersions({ filter: f }), message);
        await filter("version_number = 'x'", "Invalid value for numeric attribute 'version_number': 'x'");
        await filter("version_number = 1.5", "Invalid value for numeric attribute 'version_number': 1.5");
        await filter("version_number IN ('1')", "Only ['name', 'run_id'] attributes support comparison with a list of quoted string values.");
        await filter("source_path IN ('1')", "Only ['name', 'run_id'] attributes support comparison with a list of quoted string values.");
        await filter("version_number LIKE '1'", "Invalid comparator for attribute version_number: LIKE");
        await filter("source_path > '1'", "Invalid comparator for attribute: >");
        await filter("tags.i IS NULL", "IS NULL / IS NOT NULL is not supported for model version search.");
        await filter("foo.x = 'a'", "Invalid entity type 'foo'. Valid entity types are ('attribute', 'tag', 'tags')");
        await filter("foo = 'a'", "Invalid attribute key 'foo' specified. Valid keys are '{'version_number', 'run_id', 'source_path', 'name'}'");
        await filter("name = 5", "Only the '{'creation_timestamp', 'last_updated_timestamp', 'version_number'}' attributes support comparison with numeric values.");
        await invalid(searchVersions({ order_by: ["foo"] }), "Invalid attribute key 'foo' specified. Valid keys are '{'version_number', 'creation_timestamp', 'last_updated_timestamp', 'name'}'");
        await invalid(searchVersions({ order_by: ["tags.foo"] }), "Invalid order by key 'foo' specified. Valid keys are {'version_number', 'creation_timestamp', 'last_updated_timestamp', 'name'}");
        await invalid(searchVersions({ order_by: ["foo.name"] }), "Invalid entity type 'foo'. Valid entity types are ('attribute', 'attributes', 'tag', 'tags')");
        await fails(searchVersions({ order_by: ["name", "tags.name"] }), 500, "INTERNAL_ERROR", "`order_by` contains duplicate fields: ['name', 'tags.name']");
        if (dialect === "sqlite") {
          await fails(searchVersions({ filter: "run_id = ('a','b') and tags.x='1'" }), 400, "BAD_REQUEST", "(sqlite3.ProgrammingError) Error binding parameter 9: type 'tuple' is not supported");
          await fails(searchVersions({ filter: "version_number = 99999999999999999999999" }), 500, "INTERNAL_ERROR", "Python int too large to convert to SQLite INTEGER");
        } else {
          expect((await searchVersions({ filter: "version_number = 99999999999999999999999" })).body).toEqual({});
        }
      });

      test("a Python exception while parsing the request is Flask's 500 page (the store parses outside its session)", async () => {
        await flask500(searchVersions({ filter: "run_id IN (a, b)" })); // ast.literal_eval: ValueError
        await flask500(searchVersions({ page_token: b64("[1]") })); // 'list' object has no attribute 'get'
        await flask500(searchVersions({ page_token: "é" })); // base64: ValueError
      });
    });
  });
}
