// The generated TypeBox schemas describe MLflow's JSON: int64 in as a number or a string and
// out as a number, enums by name, NaN as a string.
import { expect, test } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import { In, Out } from "../../src/generated/schemas";

test("requests: int64 accepted as a number or a decimal string, enums by name or number", () => {
  const schema = In.mlflow_SearchExperiments;
  expect(Value.Check(schema, { max_results: 10, view_type: "ALL" })).toBe(true);
  expect(Value.Check(schema, { max_results: "10", view_type: 3 })).toBe(true);
  expect(Value.Check(schema, { max_results: "ten" })).toBe(false);
  expect(Value.Check(schema, { view_type: "SOME" })).toBe(false);
  expect(Value.Check(In.mlflow_LogMetric, { key: "m", value: "NaN", timestamp: "1" })).toBe(true);
});

test("responses: int64 only as numbers, doubles may be NaN strings", () => {
  const exp = { experiment_id: "1", name: "e", creation_time: 1, tags: [{ key: "a", value: "b" }] };
  expect(Value.Check(Out.mlflow_GetExperiment_Response, { experiment: exp })).toBe(true);
  expect(Value.Check(Out.mlflow_GetExperiment_Response, { experiment: { ...exp, creation_time: "1" } })).toBe(false);
  expect(Value.Check(Out.mlflow_Metric, { key: "m", value: "NaN", timestamp: 1, step: 0 })).toBe(true);
});

test("requests: fields the proto marks (validate_required) are required", () => {
  expect(Value.Check(In.mlflow_CreateExperiment, { name: "e" })).toBe(true);
  expect(Value.Check(In.mlflow_CreateExperiment, { artifact_location: "/a" })).toBe(false);
});
