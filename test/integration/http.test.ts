// HTTP surface: MLflow's error format everywhere (never Elysia's), native routes under both
// prefixes, and the OpenAPI docs served from the binary with no CDN.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { startTestServer, type TestServer } from "../support/server";

let s: TestServer;
beforeAll(async () => (s = await startTestServer("sqlite")));
afterAll(() => s.stop());

describe("errors", () => {
  test("unknown API paths answer MLflow's 404 ENDPOINT_NOT_FOUND JSON without a proxy", async () => {
    const r = await s.call("GET", "/api/2.0/mlflow/no-such-thing");
    expect(r.status).toBe(404);
    expect(r.body.error_code).toBe("ENDPOINT_NOT_FOUND");
    expect(typeof r.body.message).toBe("string");
  });

  test("a native path with another method gets Flask's 405, with Allow", async () => {
    const res = await fetch(`${s.url}/api/2.0/mlflow/experiments/create`, { method: "GET" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("OPTIONS, POST");
    expect(await res.text()).toContain("<title>405 Method Not Allowed</title>");
  });

  test("a trailing slash is another path, as in Flask", async () => {
    const r = await s.call("POST", "/api/2.0/mlflow/experiments/create/", { name: "slash" });
    expect(r.status).toBe(404);
  });

  test("validation errors are MLflow's 400 INVALID_PARAMETER_VALUE, not Elysia's 422", async () => {
    const r = await s.call("POST", "/api/2.0/mlflow/experiments/create", { name: 5 });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      error_code: "INVALID_PARAMETER_VALUE",
      message: "Invalid value 5 for parameter 'name' supplied:  Hint: Value was of type 'int'. See the API docs for more information about request parameters.",
      sqlstate: "KAM00",
      error_class: "INVALID_PARAMETER_VALUE",
    });
    const missing = await s.call("POST", "/api/2.0/mlflow/experiments/create", {});
    expect(missing.body.message).toBe("Missing value for required parameter 'name'. See the API docs for more information about request parameters.");
  });

  test("an API body declared over the cap is refused before it is read", async () => {
    // 2 GB declared, none sent: the answer must come without waiting for (or buffering) the body.
    const { hostname, port } = new URL(s.url);
    const socket = connect(Number(port), hostname);
    const head = [
      "POST /api/2.0/mlflow/experiments/create HTTP/1.1",
      `Host: ${hostname}:${port}`,
      "Content-Type: application/json",
      "Content-Length: 2000000000",
      "",
      "",
    ].join("\r\n");
    const answer = await new Promise<string>((resolve, reject) => {
      let got = "";
      socket.on("connect", () => socket.write(head));
      socket.on("data", (d: Buffer) => {
        got += d.toString("latin1");
        if (got.includes("}")) resolve(got);
      });
      socket.on("error", reject);
      socket.on("end", () => resolve(got));
    });
    socket.destroy();
    expect(answer).toStartWith("HTTP/1.1 400");
    expect(answer).toContain('"message":"Request body exceeds the limit of 1073741824 bytes."');
  });

  test("responses are application/json", async () => {
    const res = await fetch(`${s.url}/api/2.0/mlflow/experiments/get?experiment_id=0`);
    expect(res.headers.get("content-type")).toStartWith("application/json");
  });
});

describe("routing", () => {
  test("native RPCs answer under /api and /ajax-api", async () => {
    for (const prefix of ["/api", "/ajax-api"]) {
      const r = await s.call("GET", `${prefix}/2.0/mlflow/experiments/get`, { experiment_id: "0" });
      expect(r.status).toBe(200);
      expect(r.body.experiment.name).toBe("Default");
    }
  });
});

describe("docs", () => {
  test("/swagger works offline: every script and style comes from this server", async () => {
    const html = await (await fetch(`${s.url}/swagger`)).text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) {
      expect(ref).toStartWith("/swagger/");
      const res = await fetch(s.url + ref);
      expect(res.status).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
    expect(html).not.toMatch(/https?:\/\//);
  });

  test("/swagger/json is the generated OpenAPI 3 document of MLflow's routes", async () => {
    const doc: any = await (await fetch(`${s.url}/swagger/json`)).json();
    expect(doc.openapi).toStartWith("3.");
    expect(doc.info.version).toBe("3.18.0");
    expect(doc.paths["/api/2.0/mlflow/experiments/create"].post.requestBody).toBeDefined();
    expect(doc.paths["/api/2.0/mlflow/experiments/search"].get.parameters.map((p: any) => p.name)).toContain("max_results");
    expect(doc.components.schemas["Out.mlflow.Experiment"].properties.creation_time.type).toBe("integer");
  });
});
