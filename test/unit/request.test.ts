// Request parsing follows handlers.py's _get_request_message and protobuf's ParseDict.
import { describe, expect, test } from "bun:test";
import { MlflowError } from "../../src/errors";
import { parseRequest } from "../../src/server/request";
import { has } from "../../src/services/context";

const BASE = "http://localhost/api/2.0/mlflow/x";

function get(type: string, query: string) {
  const url = new URL(`${BASE}?${query}`);
  return parseRequest(new Request(url.href, { method: "GET" }), type, url);
}

function post(type: string, body: string | undefined, contentType: string | null = "application/json") {
  const url = new URL(BASE);
  const headers: Record<string, string> = contentType === null ? {} : { "content-type": contentType };
  const request = new Request(url.href, { method: "POST", body, headers });
  if (contentType === null) request.headers.delete("content-type");
  return parseRequest(request, type, url);
}

async function rejects(p: Promise<unknown>): Promise<MlflowError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(MlflowError);
    return e as MlflowError;
  }
  throw new Error("expected an MlflowError");
}

describe("GET query strings", () => {
  test("repeated fields take every value; singular fields the first", async () => {
    const { message } = await get("mlflow.SearchRuns", "experiment_ids=1&experiment_ids=2&filter=a&filter=b");
    expect(message.experiment_ids).toEqual(["1", "2"]);
    expect(message.filter).toBe("a");
  });

  test("only proto names are read from the query (not camelCase), unknown keys ignored", async () => {
    const { message, ctx } = await get("mlflow.SearchRuns", "experimentIds=1&bogus=2&max_results=5");
    expect(message.experiment_ids).toEqual([]);
    expect(message.max_results).toBe(5);
    expect(ctx.json).toEqual({ max_results: "5" });
  });

  test("booleans are true/false in any case, anything else is MLflow's error", async () => {
    expect((await get("mlflow.GetTrace", "trace_id=t&allow_partial=TRUE")).message.allow_partial).toBe(true);
    expect((await get("mlflow.GetTrace", "trace_id=t&allow_partial=False")).message.allow_partial).toBe(false);
    const e = await rejects(get("mlflow.GetTrace", "trace_id=t&allow_partial=1"));
    expect(e.message).toBe("Invalid boolean value: 1, must be 'true' or 'false'.");
    expect(e.code).toBe("INVALID_PARAMETER_VALUE");
  });
});

describe("JSON bodies", () => {
  test("Content-Type must be application/json on POST, with MLflow's messages", async () => {
    expect((await rejects(post("mlflow.CreateExperiment", "{}", null))).message).toBe("Bad Request. Content-Type header is missing.");
    const e = await rejects(post("mlflow.CreateExperiment", "{}", "text/plain"));
    expect(e.message).toBe("Bad Request. Content-Type must be one of ['application/json'].");
    expect(e.code).toBe("INVALID_PARAMETER_VALUE");
    expect((await post("mlflow.CreateExperiment", '{"name":"x"}', "application/json; charset=utf-8")).message.name).toBe("x");
    // Flask compares the media type exactly
    expect((await rejects(post("mlflow.CreateExperiment", "{}", "Application/JSON"))).message).toBe("Bad Request. Content-Type must be one of ['application/json'].");
  });

  test("a malformed or missing body is {}; a double-encoded body is decoded twice", async () => {
    expect((await post("mlflow.CreateExperiment", "{nope")).ctx.json).toEqual({});
    expect((await post("mlflow.CreateExperiment", undefined)).ctx.json).toEqual({});
    expect((await post("mlflow.CreateExperiment", JSON.stringify(JSON.stringify({ name: "d" })))).message.name).toBe("d");
  });

  test("camelCase JSON names are accepted; both spellings at once are refused", async () => {
    expect((await post("mlflow.CreateExperiment", '{"name":"x","artifactLocation":"/a"}')).message.artifact_location).toBe("/a");
    const e = await rejects(post("mlflow.CreateExperiment", '{"artifact_location":"/a","artifactLocation":"/b"}'));
    expect(e.message).toBe("Request specifies both 'artifact_location' and 'artifactLocation'; provide only one of them.");
  });

  test("int64 from numbers or strings; enums by name or number; unknown enum names ignored", async () => {
    const a = await post("mlflow.SearchExperiments", '{"max_results":"12","view_type":2}');
    expect(a.message.max_results).toBe(12);
    expect(a.message.view_type).toBe("DELETED_ONLY");
    expect(a.ctx.parsed).toBe(true);
    const b = await post("mlflow.SearchExperiments", '{"view_type":"BAD"}');
    expect(b.ctx.parsed).toBe(true);
    expect(has(b.message, "view_type")).toBe(false);
  });

  test("a value protobuf cannot parse stops parsing but keeps what came before (parsed=false)", async () => {
    const { message, ctx } = await post("mlflow.SearchExperiments", '{"filter":"f","max_results":"abc","page_token":"t"}');
    expect(ctx.parsed).toBe(false);
    expect(message.filter).toBe("f");
    expect(has(message, "page_token")).toBe(false);
    for (const bad of ['{"max_results":1.5}', '{"max_results":true}', '{"order_by":"x"}', '{"filter":5}']) {
      expect((await post("mlflow.SearchExperiments", bad)).ctx.parsed).toBe(false);
    }
  });

  test("partially parsed nested messages are kept, as protobuf leaves them", async () => {
    const { message, ctx } = await post("mlflow.CreateExperiment", '{"name":"x","tags":[{"key":"a","value":"1"},{"key":"k","value":5},{"key":"z"}]}');
    expect(ctx.parsed).toBe(false);
    expect(message.tags).toEqual([{ key: "a", value: "1" }, { key: "k", value: "" }]);
  });

  test("integers as Python reads them: no hex, int64 range enforced, integral floats accepted", async () => {
    expect((await post("mlflow.SearchExperiments", '{"max_results":"0x10"}')).ctx.parsed).toBe(false);
    expect((await post("mlflow.SearchExperiments", '{"max_results":9223372036854775808}')).ctx.parsed).toBe(false);
    expect((await post("mlflow.SearchExperiments", '{"max_results":"1e2"}')).message.max_results).toBe(100);
    expect((await post("mlflow.SearchExperiments", '{"max_results":"1_000"}')).message.max_results).toBe(1000);
    expect((await post("mlflow.SearchExperiments", '{"max_results":" 7"}')).ctx.parsed).toBe(false); // a space is refused
  });

  test("unset fields read as proto2 defaults, and has() tells them apart", async () => {
    const { message } = await post("mlflow.SearchRuns", "{}");
    expect(message.max_results).toBe(1000);
    expect(message.run_view_type).toBe("ACTIVE_ONLY");
    expect(message.filter).toBe("");
    expect(message.order_by).toEqual([]);
    expect(has(message, "max_results")).toBe(false);
  });

  test("nested messages are parsed field by field; null clears a field", async () => {
    const { message } = await post("mlflow.CreateExperiment", '{"name":null,"tags":[{"key":"k","value":"v","extra":1}]}');
    expect(message.name).toBe("");
    expect(message.tags).toEqual([{ key: "k", value: "v" }]);
  });
});
