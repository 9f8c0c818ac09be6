// Registered models on both dialects: create / get / update / rename / delete, tags, aliases,
// get-latest-versions and search-registered-models, against what MLflow 3.18.0's server answers
// (expected bodies taken from the real server; see docs/differences.md for what differs).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openDb, type Db } from "../../src/store/db";
import { sql } from "../../src/store/sql";
import { DIALECTS, startTestServer, type TestServer } from "../support/server";
import { b64, fails, failsLike, flask500, invalid, notFound, registryClient, SCHEMA_HINT, token } from "./registry-helpers";

const RESOLVES = "Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to";
const NAME_CHARS = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).";

for (const dialect of DIALECTS) {
  describe(`registered models (${dialect})`, () => {
    let s: TestServer;
    let db: Db;
    const c = registryClient(() => s);
    const { api, ok, createModel, getModel, createVersion, searchModels } = c;

    beforeAll(async () => {
      s = await startTestServer(dialect);
      db = openDb(s.backendStoreUri, { poolSize: 2 });
    });
    afterAll(async () => {
      await db.close();
      await s.stop();
    });

    describe("create / get", () => {
      test("creates with tags as a dict (last value wins, first position), description, times; the workspace on every row", async () => {
        const before = Date.now();
        const m = await createModel({ name: "cr-a", description: "d", tags: [{ key: "k", value: "1" }, { key: "t", value: "x" }, { key: "k", value: "2" }] });
        expect(m).toEqual({ name: "cr-a", creation_timestamp: m.creation_timestamp, last_updated_timestamp: m.creation_timestamp, description: "d", tags: [{ key: "k", value: "2" }, { key: "t", value: "x" }] });
        expect(Object.keys(m)).toEqual(["name", "creation_timestamp", "last_updated_timestamp", "description", "tags"]);
        expect(m.creation_timestamp).toBeGreaterThanOrEqual(before);
        expect(await getModel("cr-a")).toEqual(m);
        const rows = await db.all(sql`SELECT workspace FROM registered_models WHERE name = 'cr-a' UNION ALL SELECT workspace FROM registered_model_tags WHERE name = 'cr-a'`);
        expect(rows.map((r) => r.workspace)).toEqual(["default", "default", "default"]);
        // an empty description is stored as '' and left out
        const plain = await createModel({ name: "cr-plain" });
        expect(plain).toEqual({ name: "cr-plain", creation_timestamp: plain.creation_timestamp, last_updated_timestamp: plain.creation_timestamp });
        expect((await db.one(sql`SELECT description FROM registered_models WHERE name = 'cr-plain'`))!.description).toBe("");
        const u = await createModel({ name: "cr-ünï cödé", tags: [{ key: "ключ: значение/1", value: "" }] });
        expect(u.tags).toEqual([{ key: "ключ: значение/1", value: "" }]);
      });

      test("a taken name: model vs prompt messages (handle_resource_already_exist_error)", async () => {
        await createModel({ name: "dup" });
        await createModel({ name: "dup-prompt", tags: [{ key: "mlflow.prompt.is_prompt", value: "true" }] });
        const exists = (p: Promise<any>, message: string) => fails(p, 400, "RESOURCE_ALREADY_EXISTS", message);
        await exists(api("POST", "registered-models/create", { name: "dup" }), "Registered Model (name=dup) already exists.");
        await exists(
          api("POST", "registered-models/create", { name: "dup", tags: [{ key: "mlflow.prompt.is_prompt", value: "false" }] }),
          "Tried to create a prompt with name 'dup', but the name is already taken by a registered model. MLflow does not allow creating a model and a prompt with the same name.",
        );
        await exists(api("POST", "registered-models/create", { name: "dup-prompt", tags: [{ key: "mlflow.prompt.is_prompt", value: "x" }] }), "Prompt (name=dup-prompt) already exists.");
        await exists(
          api("POST", "registered-models/create", { name: "dup-prompt" }),
          "Tried to create a registered model with name 'dup-prompt', but the name is already taken by a prompt. MLflow does not allow creating a model and a prompt with the same name.",
        );
      });

      test("request schema, name and tag validation", async () => {
        const create = (body: unknown) => api("POST", "registered-models/create", body);
        await invalid(create({}), `Missing value for required parameter 'name'.${SCHEMA_HINT}`);
        await invalid(create({ name: "" }), `Missing value for required parameter 'name'.${SCHEMA_HINT}`);
        await invalid(create({ name: 5 }), `Invalid value 5 for parameter 'name' supplied:  Hint: Value was of type 'int'.${SCHEMA_HINT}`);
        await invalid(create({ name: "x", tags: "nope" }), `Invalid value "nope" for parameter 'tags' supplied:  Hint: Value was of type 'str'.${SCHEMA_HINT}`);
        await invalid(create({ name: "x", description: 5 }), `Invalid value 5 for parameter 'description' supplied:  Hint: Value was of type 'int'.${SCHEMA_HINT}`);
        await invalid(create({ name: " " }), "Missing value for required parameter 'name'.");
        await invalid(create({ name: "a/b" }), "Invalid model name 'a/b'. Names cannot contain '/' or ':'.");
        await invalid(create({ name: "a:b" }), "Invalid model name 'a:b'. Names cannot contain '/' or ':'.");
        await invalid(create({ name: "." }), `Invalid value "." for parameter 'name' supplied: ${RESOLVES} '.'`);
        await invalid(create({ name: "..x" }), `Invalid value "..x" for parameter 'name' supplied: ${RESOLVES} '..x'`);
        const tag = (key: unknown, value: unknown = "v") => create({ name: "x", tags: [{ key, value }] });
        await invalid(tag("a b!"), `Invalid value "a b!" for parameter 'key' supplied: ${NAME_CHARS}`);
        await invalid(tag(""), `Invalid value "" for parameter 'key' supplied: ${RESOLVES} '.'`);
        await invalid(create({ name: "x", tags: [{ value: "v" }] }), `Invalid value "" for parameter 'key' supplied: ${RESOLVES} '.'`);
        await invalid(tag("/a"), `Invalid value "/a" for parameter 'key' supplied: ${RESOLVES} '/a'`);
        await invalid(tag("a/../b"), `Invalid value "a/../b" for parameter 'key' supplied: ${RESOLVES} 'b'`);
        await invalid(tag("k".repeat(251)), "'key' exceeds the maximum length of 250 characters");
        await invalid(tag("k", "v".repeat(100_001)), "'value' exceeds the maximum length of 100000 characters");
        await notFound(api("GET", "registered-models/get", { name: "x" }), "Registered Model with name=x not found"); // nothing was created
      });

      test("get: schema and lookups", async () => {
        await invalid(api("GET", "registered-models/get", { name: "" }), `Missing value for required parameter 'name'.${SCHEMA_HINT}`);
        await invalid(api("GET", "registered-models/get"), `Missing value for required parameter 'name'.${SCHEMA_HINT}`);
        await invalid(api("GET", "registered-models/get", { name: "a/b" }), "Invalid model name 'a/b'. Names cannot contain '/' or ':'.");
        await notFound(api("GET", "registered-models/get", { name: "nope" }), "Registered Model with name=nope not found");
        // every route is mounted under /api and /ajax-api
        await createModel({ name: "routes" });
        const ajax = await s.call("GET", "/ajax-api/2.0/mlflow/registered-models/get?name=routes");
        expect(ajax.status).toBe(200);
        expect(ajax.body.registered_model.name).toBe("routes");
      });

      test("PostgreSQL's VARCHAR limits, as psycopg2 and SQLAlchemy word them (SQLite has none)", async () => {
        const long = "n".repeat(300);
        const desc = "x".repeat(5001);
        const r1 = await api("POST", "registered-models/create", { name: long });
        const r2 = await api("POST", "registered-models/create", { name: "longtag", tags: [{ key: "a", value: "1" }, { key: "b", value: desc }] });
        if (dialect === "sqlite") {
          expect([r1.status, r2.status]).toEqual([200, 200]);
          return;
        }
        const n = `'${"n".repeat(149)} ... (2 characters truncated) ... ${"n".repeat(149)}'`;
        const x = `'${"x".repeat(149)} ... (4703 characters truncated) ... ${"x".repeat(149)}'`;
        await failsLike(
          Promise.resolve(r1),
          400,
          "BAD_REQUEST",
          "(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(256)\n\n" +
            "[SQL: INSERT INTO registered_models (workspace, name, creation_time, last_updated_time, description) VALUES (%(workspace)s, %(name)s, %(creation_time)s, %(last_updated_time)s, %(description)s)]\n" +
            `[parameters: {'workspace': 'default', 'name': ${n}, 'creation_time': <TIME>, 'last_updated_time': <TIME>, 'description': ''}]\n` +
            "(Background on this error at: https://sqlalche.me/e/21/9h9h)",
        );
        await fails(
          Promise.resolve(r2),
          400,
          "BAD_REQUEST",
          "(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(5000)\n\n" +
            "[SQL: INSERT INTO registered_model_tags (workspace, name, key, value) VALUES (%(workspace__0)s, %(name__0)s, %(key__0)s, %(value__0)s), (%(workspace__1)s, %(name__1)s, %(key__1)s, %(value__1)s)]\n" +
            `[parameters: {'workspace__0': 'default', 'key__0': 'a', 'name__0': 'longtag', 'value__0': '1', 'workspace__1': 'default', 'key__1': 'b', 'name__1': 'longtag', 'value__1': ${x}}]\n` +
            "(Background on this error at: https://sqlalche.me/e/21/9h9h)",
        );
        await notFound(api("GET", "registered-models/get", { name: "longtag" }), "Registered Model with name=longtag not found"); // rolled back
        await createModel({ name: "ovf" });
        await failsLike(
          api("PATCH", "registered-models/update", { name: "ovf", description: desc }),
          400,
          "BAD_REQUEST",
          "(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(5000)\n\n" +
            "[SQL: UPDATE registered_models SET last_updated_time=%(last_updated_time)s, description=%(description)s WHERE registered_models.workspace = %(registered_models_workspace)s AND registered_models.name = %(registered_models_name)s]\n" +
            `[parameters: {'last_updated_time': <TIME>, 'description': ${x}, 'registered_models_workspace': 'default', 'registered_models_name': 'ovf'}]\n` +
            "(Background on this error at: https://sqlalche.me/e/21/9h9h)",
        );
        await ok(api("POST", "registered-models/set-tag", { name: "ovf", key: "k", value: "v" }));
        await fails(
          api("POST", "registered-models/set-tag", { name: "ovf", key: "k", value: desc }),
          400,
          "BAD_REQUEST",
          "(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(5000)\n\n" +
            "[SQL: UPDATE registered_model_tags SET value=%(value)s WHERE registered_model_tags.workspace = %(registered_model_tags_workspace)s AND registered_model_tags.key = %(registered_model_tags_key)s AND registered_model_tags.name = %(registered_model_tags_name)s]\n" +
            `[parameters: {'value': ${x}, 'registered_model_tags_workspace': 'default', 'registered_model_tags_key': 'k', 'registered_model_tags_name': 'ovf'}]\n` +
            "(Background on this error at: https://sqlalche.me/e/21/9h9h)",
        );
        await fails(
          api("POST", "registered-models/set-tag", { name: "ovf", key: "new", value: desc }),
          400,
          "BAD_REQUEST",
          "(psycopg2.errors.StringDataRightTruncation) value too long for type character varying(5000)\n\n" +
            "[SQL: INSERT INTO registered_model_tags (workspace, name, key, value) VALUES (%(workspace)s, %(name)s, %(key)s, %(value)s)]\n" +
            `[parameters: {'workspace': 'default', 'name': 'ovf', 'key': 'new', 'value': ${x}}]\n` +
            "(Background on this error at: https://sqlalche.me/e/21/9h9h)",
        );
        await fails(
          api("POST", "registered-models/create", { name: "nul\u0000char" }),
          500,
          "INTERNAL_ERROR",
          "A string literal cannot contain NUL (0x00) characters.",
        );
      });
    });

    describe("update / tags", () => {
      test("update sets the description (absent: '') and the update time", async () => {
        const m = await createModel({ name: "up", description: "old" });
        await Bun.sleep(2);
        const u = (await ok(api("PATCH", "registered-models/update", { name: "up", description: "new" }))).registered_model;
        expect(u.description).toBe("new");
        expect(u.last_updated_timestamp).toBeGreaterThan(m.last_updated_timestamp);
        const cleared = (await ok(api("PATCH", "registered-models/update", { name: "up" }))).registered_model;
        expect(cleared.description).toBeUndefined();
        await notFound(api("PATCH", "registered-models/update", { name: "nope", description: "x" }), "Registered Model with name=nope not found");
        await invalid(api("PATCH", "registered-models/update", { name: "up", description: 7 }), `Invalid value 7 for parameter 'description' supplied:  Hint: Value was of type 'int'.${SCHEMA_HINT}`);
        // the PATCH route only
        expect((await api("POST", "registered-models/update", { name: "up" })).status).toBe(405);
      });

      test("set-tag upserts (no update time change), delete-tag ignores a missing tag", async () => {
        const m = await createModel({ name: "tags", tags: [{ key: "a", value: "1" }] });
        const set = (body: Record<string, unknown>) => api("POST", "registered-models/set-tag", { name: "tags", ...body });
        await ok(set({ key: "b", value: "2" }));
        await ok(set({ key: "a", value: "over" }));
        await ok(set({ key: "novalue" }));
        const got = await getModel("tags");
        expect(got.tags).toEqual([{ key: "a", value: "over" }, { key: "b", value: "2" }, { key: "novalue", value: "" }]);
        expect(got.last_updated_timestamp).toBe(m.last_updated_timestamp);
        await ok(api("DELETE", "registered-models/delete-tag", { name: "tags", key: "novalue" }));
        await ok(api("DELETE", "registered-models/delete-tag", { name: "tags", key: "never" }));
        expect((await getModel("tags")).tags).toEqual([{ key: "a", value: "over" }, { key: "b", value: "2" }]);
        await notFound(set({ name: "nope", key: "k", value: "v" }), "Registered Model with name=nope not found");
        await notFound(api("DELETE", "registered-models/delete-tag", { name: "nope", key: "k" }), "Registered Model with name=nope not found");
        await invalid(set({ key: "a\tb", value: "v" }), `Invalid value "a\\tb" for parameter 'key' supplied: ${NAME_CHARS}`);
        await invalid(set({ value: "v" }), `Missing value for required parameter 'key'.${SCHEMA_HINT}`);
        await invalid(api("DELETE", "registered-models/delete-tag", { name: "tags", key: "../x" }), `Invalid value "../x" for parameter 'key' supplied: ${RESOLVES} '../x'`);
        await invalid(set({ key: "k", value: "v".repeat(100_001) }), "'value' exceeds the maximum length of 100000 characters");
      });
    });

    describe("aliases", () => {
      test("set moves an alias; listed on the model (dict) and its versions; get by alias; latest", async () => {
        await createModel({ name: "al" });
        for (let i = 0; i < 3; i++) await createVersion({ name: "al", source: `s3://b/${i}` });
        const alias = (a: string, version: string) => ok(api("POST", "registered-models/alias", { name: "al", alias: a, version }));
        await alias("champ", "1");
        await alias("champ", "2");
        await alias("b_alias", "2");
        await alias("a-alias", "3");
        const m = await getModel("al");
        expect(new Map(m.aliases.map((a: any) => [a.alias, a.version]))).toEqual(new Map([["champ", "2"], ["b_alias", "2"], ["a-alias", "3"]]));
        expect(m.last_updated_timestamp).toBe((await c.getVersion("al", "3")).creation_timestamp); // aliases do not touch it
        const v2 = (await ok(api("GET", "registered-models/alias", { name: "al", alias: "champ" }))).model_version;
        expect(v2.version).toBe("2");
        expect([...v2.aliases].sort()).toEqual(["b_alias", "champ"]);
        expect((await c.getVersion("al", "1")).aliases).toBeUndefined();
        const latest = (await ok(api("GET", "registered-models/alias", { name: "al", alias: "LaTeSt" }))).model_version;
        expect(latest).toMatchObject({ version: "3", aliases: ["a-alias"] });
        // the latest model's versions list no aliases; get-latest-versions does
        expect(m.latest_versions.map((v: any) => v.aliases)).toEqual([undefined]);
        const lv = (await ok(api("POST", "registered-models/get-latest-versions", { name: "al" }))).model_versions;
        expect(lv).toEqual([{ ...(await c.getVersion("al", "3")), aliases: ["a-alias"] }]);
        await ok(api("DELETE", "registered-models/alias", { name: "al", alias: "b_alias" }));
        await ok(api("DELETE", "registered-models/alias", { name: "al", alias: "never" }));
        expect((await c.getVersion("al", "2")).aliases).toEqual(["champ"]);
      });

      test("errors", async () => {
        await createModel({ name: "al-err" });
        await createVersion({ name: "al-err", source: "s3://b/x" });
        const set = (body: Record<string, unknown>) => api("POST", "registered-models/alias", { name: "al-err", ...body });
        await invalid(set({ alias: "v1", version: "1" }), "Version alias name 'v1' is reserved.");
        await invalid(set({ alias: "V12", version: "1" }), "Version alias name 'V12' is reserved.");
        await invalid(set({ alias: "LATEST", version: "1" }), "'latest' alias name (case insensitive) is reserved.");
        await invalid(set({ alias: "a b", version: "1" }), "Invalid alias name: 'a b'. Names may only contain alphanumerics, underscores (_), and dashes (-).");
        await invalid(set({ alias: "a".repeat(256), version: "1" }), "'Registered model alias name' exceeds the maximum length of 255 characters");
        await invalid(set({ alias: "", version: "1" }), `Missing value for required parameter 'alias'.${SCHEMA_HINT}`);
        await invalid(set({ alias: "x" }), `Missing value for required parameter 'version'.${SCHEMA_HINT}`);
        await invalid(set({ alias: "x", version: "y" }), "Parameter 'version' must be an integer, got 'y'.");
        await notFound(set({ alias: "x", version: "99" }), "Model Version (name=al-err, version=99) not found");
        await notFound(set({ name: "nope", alias: "x", version: "1" }), "Model Version (name=nope, version=1) not found");
        await invalid(api("GET", "registered-models/alias", { name: "al-err", alias: "nope" }), "Registered model alias nope not found.");
        await notFound(api("GET", "registered-models/alias", { name: "nope", alias: "x" }), "Registered Model with name=nope not found");
        await createModel({ name: "al-empty" });
        await notFound(api("GET", "registered-models/alias", { name: "al-empty", alias: "latest" }), "Latest version not found for model al-empty.");
        await notFound(api("DELETE", "registered-models/alias", { name: "nope", alias: "x" }), "Registered Model with name=nope not found");
        await invalid(api("DELETE", "registered-models/alias", { name: "al-err", alias: "a b" }), "Invalid alias name: 'a b'. Names may only contain alphanumerics, underscores (_), and dashes (-).");
      });
    });

    describe("get-latest-versions", () => {
      test("the highest version per stage, in the order stages first appear; stage names any case; GET and POST", async () => {
        await createModel({ name: "lv" });
        for (let i = 0; i < 6; i++) await createVersion({ name: "lv", source: `s3://b/${i}` });
        const stage = (version: string, s: string) => ok(api("POST", "model-versions/transition-stage", { name: "lv", version, stage: s }));
        await stage("1", "Archived");
        await stage("2", "production");
        await stage("3", "Staging");
        await stage("5", "staging");
        await stage("4", "Archived");
        const latest = async (stages?: string[]) =>
          ((await ok(api("POST", "registered-models/get-latest-versions", stages ? { name: "lv", stages } : { name: "lv" }))).model_versions ?? []).map(
            (v: any) => `${v.version}:${v.current_stage}`,
          );
        const all = await latest();
        // versions are iterated in the database's order: on SQLite the primary key's
        expect(new Set(all)).toEqual(new Set(["4:Archived", "2:Production", "5:Staging", "6:None"]));
        if (dialect === "sqlite") expect(all).toEqual(["4:Archived", "2:Production", "5:Staging", "6:None"]);
        expect(new Set(await latest(["None", "STAGING"]))).toEqual(new Set(["5:Staging", "6:None"]));
        const viaGet = await ok(api("GET", "registered-models/get-latest-versions", { name: "lv", stages: ["production"] }));
        expect(viaGet.model_versions.map((v: any) => v.version)).toEqual(["2"]);
        await invalid(api("POST", "registered-models/get-latest-versions", { name: "lv", stages: ["bogus"] }), "Invalid Model Version stage: bogus. Value must be one of None, Staging, Production, Archived.");
        await notFound(api("POST", "registered-models/get-latest-versions", { name: "nope", stages: ["bogus"] }), "Registered Model with name=nope not found");
        await invalid(api("POST", "registered-models/get-latest-versions", { name: "lv", stages: "x" }), `Invalid value "x" for parameter 'stages' supplied:  Hint: Value was of type 'str'.${SCHEMA_HINT}`);
        await createModel({ name: "lv-empty" });
        expect(await ok(api("POST", "registered-models/get-latest-versions", { name: "lv-empty" }))).toEqual({});
        // the model's own list skips deleted versions
        await ok(api("DELETE", "model-versions/delete", { name: "lv", version: "6" }));
        expect(new Set((await getModel("lv")).latest_versions.map((v: any) => `${v.version}:${v.current_stage}`))).toEqual(
          new Set(["4:Archived", "2:Production", "5:Staging"]),
        );
      });
    });

    describe("rename / delete", () => {
      test("rename cascades to versions, tags, aliases and version tags; versions' update times follow", async () => {
        await createModel({ name: "rn", tags: [{ key: "t", value: "1" }] });
        await createVersion({ name: "rn", source: "s3://b/1", tags: [{ key: "vt", value: "x" }] });
        await createVersion({ name: "rn", source: "s3://b/2" });
        await ok(api("DELETE", "model-versions/delete", { name: "rn", version: "2" }));
        await ok(api("POST", "registered-models/alias", { name: "rn", alias: "champ", version: "1" }));
        await Bun.sleep(2);
        const r = (await ok(api("POST", "registered-models/rename", { name: "rn", new_name: "rn-new" }))).registered_model;
        expect(r).toMatchObject({ name: "rn-new", tags: [{ key: "t", value: "1" }], aliases: [{ alias: "champ", version: "1" }] });
        expect(r.latest_versions).toEqual([{ ...(await c.getVersion("rn-new", "1")), aliases: undefined }].map(({ aliases, ...v }) => v));
        const v1 = await c.getVersion("rn-new", "1");
        expect(v1).toMatchObject({ name: "rn-new", tags: [{ key: "vt", value: "x" }], aliases: ["champ"], last_updated_timestamp: r.last_updated_timestamp });
        const deleted = await db.one(sql`SELECT name, last_updated_time FROM model_versions WHERE version = 2 AND name = 'rn-new'`);
        expect(Number(deleted!.last_updated_time)).toBe(r.last_updated_timestamp); // soft-deleted versions too
        await notFound(api("GET", "registered-models/get", { name: "rn" }), "Registered Model with name=rn not found");
        for (const table of ["model_versions", "model_version_tags", "registered_model_tags", "registered_model_aliases"]) {
          const left = await db.all(sqlTable(table, "rn"));
          expect(left.length).toBe(0);
        }
        // renaming to the same name only touches the update times
        const same = (await ok(api("POST", "registered-models/rename", { name: "rn-new", new_name: "rn-new" }))).registered_model;
        expect(same.name).toBe("rn-new");
      });

      test("rename errors: a taken name is MLflow's IntegrityError text", async () => {
        await createModel({ name: "rn-a" });
        await createModel({ name: "rn-b" });
        const driver =
          dialect === "sqlite"
            ? "(sqlite3.IntegrityError) UNIQUE constraint failed: registered_models.workspace, registered_models.name\n" +
              "[SQL: UPDATE registered_models SET name=? WHERE registered_models.workspace = ? AND registered_models.name = ?]\n" +
              "[parameters: ('rn-b', 'default', 'rn-a')]"
            : '(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "registered_model_pk"\n' +
              "DETAIL:  Key (workspace, name)=(default, rn-b) already exists.\n\n" +
              "[SQL: UPDATE registered_models SET name=%(name)s WHERE registered_models.workspace = %(registered_models_workspace)s AND registered_models.name = %(registered_models_name)s]\n" +
              "[parameters: {'name': 'rn-b', 'registered_models_workspace': 'default', 'registered_models_name': 'rn-a'}]";
        await fails(
          api("POST", "registered-models/rename", { name: "rn-a", new_name: "rn-b" }),
          400,
          "RESOURCE_ALREADY_EXISTS",
          "Registered Model (name=rn-b) already exists. Error: (raised as a result of Query-invoked autoflush; consider using a session.no_autoflush block if this flush is occurring prematurely)\n" +
            `${driver}\n(Background on this error at: https://sqlalche.me/e/21/gkpj)`,
        );
        await notFound(api("POST", "registered-models/rename", { name: "nope", new_name: "x" }), "Registered Model with name=nope not found");
        await invalid(api("POST", "registered-models/rename", { name: "nope", new_name: "" }), `Missing value for required parameter 'new_name'.${SCHEMA_HINT}`);
        await invalid(api("POST", "registered-models/rename", { name: "nope", new_name: " " }), "Missing value for required parameter 'new_name'.");
        await invalid(api("POST", "registered-models/rename", { name: "nope", new_name: "a/b" }), "Invalid model name 'a/b'. Names cannot contain '/' or ':'.");
        await invalid(api("POST", "registered-models/rename", { name: "a/b", new_name: "ok" }), "Invalid model name 'a/b'. Names cannot contain '/' or ':'.");
      });

      test("delete removes the model, its versions (with tags), tags and aliases; the name can be reused from version 1", async () => {
        await createModel({ name: "del", tags: [{ key: "t", value: "1" }] });
        await createVersion({ name: "del", source: "s3://b/1", tags: [{ key: "vt", value: "x" }] });
        await createVersion({ name: "del", source: "s3://b/2" });
        await ok(api("POST", "registered-models/alias", { name: "del", alias: "a", version: "1" }));
        await ok(api("DELETE", "registered-models/delete", { name: "del" }));
        for (const table of ["registered_models", "model_versions", "model_version_tags", "registered_model_tags", "registered_model_aliases"]) {
          expect(await db.all(sqlTable(table, "del"))).toEqual([]);
        }
        await notFound(api("DELETE", "registered-models/delete", { name: "del" }), "Registered Model with name=del not found");
        await invalid(api("DELETE", "registered-models/delete", { name: "a:b" }), "Invalid model name 'a:b'. Names cannot contain '/' or ':'.");
        await createModel({ name: "del" });
        expect((await createVersion({ name: "del", source: "s3://b/new" })).version).toBe("1");
      });
    });

    describe("search-registered-models", () => {
      const P = "srch";
      const names = async (query: Record<string, unknown>) => {
        const r = await searchModels(query);
        if (r.status !== 200) throw new Error(JSON.stringify(r.body));
        return (r.body.registered_models ?? []).map((m: any) => m.name);
      };
      beforeAll(async () => {
        await createModel({ name: `${P}-a`, tags: [{ key: "k", value: "over" }, { key: "t", value: "x" }] });
        await createModel({ name: `${P}-b`, tags: [{ key: "k", value: "other" }] });
        await createModel({ name: `${P}-C` });
        await createModel({ name: `${P}-prompt`, tags: [{ key: "mlflow.prompt.is_prompt", value: "true" }] });
        await createModel({ name: `${P}-notprompt`, tags: [{ key: "mlflow.prompt.is_prompt", value: "True" }] });
        for (let i = 0; i < 3; i++) await createVersion({ name: `${P}-a`, source: `s3://b/${i}`, tags: [{ key: "i", value: String(i) }] });
        await ok(api("POST", "model-versions/transition-stage", { name: `${P}-a`, version: "1", stage: "Production" }));
        await ok(api("POST", "registered-models/alias", { name: `${P}-a`, alias: "x", version: "2" }));
      });

      test("filters: name comparisons, IN lists, tags (per key), prompts excluded unless asked for", async () => {
        const f = (filter: string) => names({ filter: `name LIKE '${P}%' AND ${filter}`, max_results: 1000 });
        expect(await names({ filter: `name LIKE '${P}%'` })).toEqual([`${P}-C`, `${P}-a`, `${P}-b`, `${P}-notprompt`]);
        expect(await names({ filter: `name ILIKE '${P.toUpperCase()}-c'` })).toEqual([`${P}-C`]);
        expect(await names({ filter: `name = '${P}-a'` })).toEqual([`${P}-a`]);
        expect(await names({ filter: `name = "${P}-a"` })).toEqual([`${P}-a`]);
        expect(await f(`name != '${P}-a'`)).toEqual([`${P}-C`, `${P}-b`, `${P}-notprompt`]);
        expect(await names({ filter: `name IN ('${P}-a', '${P}-b', '${P}-prompt')` })).toEqual([`${P}-a`, `${P}-b`]);
        expect(await f(`name NOT IN ('${P}-a')`)).toEqual([`${P}-C`, `${P}-b`, `${P}-notprompt`]);
        expect(await f("tags.k = 'over'")).toEqual([`${P}-a`]);
        expect(await f("tags.`k` LIKE 'o%' AND tag.k != 'over'")).toEqual([`${P}-b`]);
        expect(await f("tags.k LIKE 'o%' AND tags.t = 'x'")).toEqual([`${P}-a`]);
        expect(await f("tags.t ILIKE 'X'")).toEqual([`${P}-a`]);
        expect(await f("tags.`mlflow.prompt.is_prompt` = 'true'")).toEqual([`${P}-prompt`]);
        expect(await f("tags.`mlflow.prompt.is_prompt` != 'false'")).toEqual([`${P}-notprompt`, `${P}-prompt`]);
        expect(await f("tags.`mlflow.prompt.is_prompt` = 'false'")).toEqual([`${P}-C`, `${P}-a`, `${P}-b`, `${P}-notprompt`]);
        expect(await f("tags.`mlflow.prompt.is_prompt` != 'true'")).toEqual([`${P}-C`, `${P}-a`, `${P}-b`, `${P}-notprompt`]);
        expect(await f("tags.`mlflow.prompt.is_prompt` = 'TRUE'")).toEqual([]);
      });

      test("entities: latest versions (window query, tags, no aliases), tags and aliases", async () => {
        const r = await searchModels({ filter: `name = '${P}-a'` });
        const m = r.body.registered_models[0];
        expect(r.body).toEqual({ registered_models: [m] });
        expect(Object.keys(m)).toEqual(["name", "creation_timestamp", "last_updated_timestamp", "latest_versions", "tags", "aliases"]);
        expect(new Set(m.latest_versions.map((v: any) => `${v.version}:${v.current_stage}:${JSON.stringify(v.tags)}:${v.aliases}`))).toEqual(
          new Set(['1:Production:[{"key":"i","value":"0"}]:undefined', '3:None:[{"key":"i","value":"2"}]:undefined']),
        );
        expect(m.aliases).toEqual([{ alias: "x", version: "2" }]);
      });

      test("order_by, max_results, page tokens", async () => {
        const f = { filter: `name LIKE '${P}%'` };
        expect(await names({ ...f, order_by: ["name DESC"] })).toEqual([`${P}-notprompt`, `${P}-b`, `${P}-a`, `${P}-C`]);
        await Bun.sleep(2);
        await ok(api("PATCH", "registered-models/update", { name: `${P}-b`, description: "touch" }));
        expect((await names({ ...f, order_by: ["timestamp DESC"] }))[0]).toBe(`${P}-b`);
        expect((await names({ ...f, order_by: ["last_updated_timestamp"] })).at(-1)).toBe(`${P}-b`);
        const page1 = await searchModels({ ...f, max_results: 2 });
        expect(page1.body.registered_models.map((m: any) => m.name)).toEqual([`${P}-C`, `${P}-a`]);
        expect(page1.body.next_page_token).toBe(token(2));
        const page2 = await searchModels({ ...f, max_results: 2, page_token: page1.body.next_page_token });
        expect(page2.body.registered_models.map((m: any) => m.name)).toEqual([`${P}-b`, `${P}-notprompt`]);
        expect(page2.body.next_page_token).toBeUndefined(); // exactly 2 left: no next page
        // max_results 0 pages nothing; negative ones as MLflow's LIMIT and Python slicing do
        expect((await searchModels({ ...f, max_results: 0 })).body).toEqual({ next_page_token: token(0) });
        expect((await searchModels({ ...f, max_results: -1 })).body).toEqual({ next_page_token: token(-1) });
        if (dialect === "sqlite") {
          expect(await names({ ...f, max_results: -3 })).toEqual([`${P}-C`]);
          expect(await names({ ...f, max_results: 2, page_token: token(-1) })).toEqual([`${P}-C`, `${P}-a`]);
        } else {
          await fails(searchModels({ ...f, max_results: -3 }), 400, "BAD_REQUEST", "(psycopg2.errors.InvalidRowCountInLimitClause) LIMIT must not be negative");
          await fails(searchModels({ ...f, max_results: 2, page_token: token(-1) }), 400, "BAD_REQUEST", "(psycopg2.errors.InvalidRowCountInResultOffsetClause) OFFSET must not be negative");
        }
        // the default page is 100
        expect((await searchModels({})).body.registered_models.length).toBeLessThanOrEqual(100);
      });

      test("errors: the grammar's and the store's, word for word", async () => {
        const bad = (query: Record<string, unknown>, message: string) => invalid(searchModels(query), message);
        const filter = (f: string, message: string) => bad({ filter: f }, message);
        await bad({ max_results: 1001 }, `Invalid value "1001" for parameter 'max_results' supplied:  Hint: Value was of type 'str'.${SCHEMA_HINT}`);
        await bad({ max_results: "abc" }, `Invalid value "abc" for parameter 'max_results' supplied:  Hint: Value was of type 'str'.${SCHEMA_HINT}`);
        await flask500(searchModels({ max_results: "1e3" })); // int('1e3') in the handler's lambda
        await filter("foo = 'a'", "Invalid attribute key 'foo' specified. Valid keys are '{'name'}'");
        await filter("`name` = 'a'", "Invalid attribute key '`name`' specified. Valid keys are '{'name'}'");
        await filter("attributes.name = 'a'", "Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')");
        await filter("name = 5", "Expected a quoted string value or a list of quoted string values for attributes. Got value 5");
        await filter("name = foo", "Parameter value is either not quoted or unidentified quote types used for string value foo. Use either single or double quotes.");
        await filter("name > 'a'", "Invalid comparator for attribute: >");
        await filter("tags.a > 'a'", "Invalid comparator for tag: >");
        await filter("tags.a IN ('a')", "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('a')");
        await filter("name IS NULL", "IS NULL / IS NOT NULL is not supported for registered model search.");
        await filter("name = 'a' OR name = 'b'", "Invalid clause(s) in filter string: OR");
        await filter("name IN 'a'", "Invalid clause(s) in filter string: name, IN, 'a'");
        await filter("name IN (1, 2)", "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: (1, 2)");
        await filter("name = 'a';name='b'", `Search filter contained multiple expression "name = 'a';name='b'". Provide AND-ed expression list.`);
        await bad({ order_by: ["creation_timestamp"] }, "Invalid order by key 'creation_timestamp' specified. Valid keys are '{'timestamp', 'name'}'");
        await bad({ order_by: ["`name`"] }, "Invalid order by key '`name`' specified. Valid keys are '{'timestamp', 'name'}'");
        await bad({ order_by: ["name ASCX"] }, "Invalid ordering key in order_by clause 'name ASCX'.");
        await bad({ page_token: "bad" }, "Invalid page token, could not base64-decode");
        await bad({ page_token: b64("not json") }, "Invalid page token, decoded value=b'not json'");
        await fails(searchModels({ order_by: ["name", "name"] }), 500, "INTERNAL_ERROR", "`order_by` contains duplicate fields: ['name', 'name']");
        await fails(searchModels({ order_by: ["timestamp", "last_updated_timestamp"] }), 500, "INTERNAL_ERROR", "`order_by` contains duplicate fields: ['timestamp', 'last_updated_timestamp']");
        if (dialect === "sqlite") {
          await fails(searchModels({ filter: "name = ('a','b')" }), 400, "BAD_REQUEST", "(sqlite3.ProgrammingError) Error binding parameter 4: type 'tuple' is not supported");
          await fails(searchModels({ filter: "tags.x = 'y' AND name LIKE ('a')" }), 400, "BAD_REQUEST", "(sqlite3.ProgrammingError) Error binding parameter 9: type 'tuple' is not supported");
        } else {
          expect((await searchModels({ filter: "name = ('a')" })).body).toEqual({}); // psycopg2: ('a') is 'a'
          await fails(searchModels({ filter: "name = ('a','b')" }), 400, "BAD_REQUEST", "operator does not exist: character varying = record");
        }
      });

      test("a Python exception while parsing the request is Flask's 500 page (the store parses outside its session)", async () => {
        await flask500(searchModels({ filter: "name IN (a, b)" })); // ast.literal_eval: ValueError
        await flask500(searchModels({ page_token: b64("[1]") })); // 'list' object has no attribute 'get'
        await flask500(searchModels({ page_token: b64('{"offset": [1]}') })); // int([1]): TypeError
        await flask500(searchModels({ page_token: "é" })); // base64: ValueError
        // MLflow's own INTERNAL_ERROR stays JSON
        await fails(searchModels({ order_by: ["name", "name DESC"] }), 500, "INTERNAL_ERROR", "`order_by` contains duplicate fields: ['name', 'name DESC']");
      });
    });
  });
}

/** Rows of `table` for the model `name` (table names are ours, not input). */
function sqlTable(table: string, name: string) {
  return sql([`SELECT 1 AS x FROM ${table} WHERE name = `, ""], name);
}
