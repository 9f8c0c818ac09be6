// Shared by the model-registry integration tests (registry*.test.ts): calls to a TestServer and
// MLflow's error bodies (the expectations were taken from MLflow 3.18.0's server, both dialects).
import { expect } from "bun:test";
import type { TestServer } from "../support/server";

export const SCHEMA_HINT = " See the API docs for more information about request parameters.";
const CLASSIFIED: Record<string, [string, string]> = {
  INVALID_PARAMETER_VALUE: ["KAM00", "INVALID_PARAMETER_VALUE"],
  BAD_REQUEST: ["KAM00", "INVALID_PARAMETER_VALUE"],
  RESOURCE_DOES_NOT_EXIST: ["KAM00", "RESOURCE_NOT_FOUND"],
  RESOURCE_ALREADY_EXISTS: ["KAM00", "RESOURCE_ALREADY_EXISTS"],
  INTERNAL_ERROR: ["XXM00", "CLIENT_INTERNAL_ERROR"],
};

export type Answer = Promise<{ status: number; body: any }>;

export function registryClient(s: () => TestServer) {
  const api = (method: string, path: string, body?: unknown) => s().call(method, `/api/2.0/mlflow/${path}`, body);
  const ok = async (p: Answer) => {
    const r = await p;
    if (r.status !== 200) throw new Error(`expected 200, got ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  return {
    api,
    ok,
    createModel: (body: Record<string, unknown>) => ok(api("POST", "registered-models/create", body)).then((b) => b.registered_model),
    getModel: (name: string) => ok(api("GET", "registered-models/get", { name })).then((b) => b.registered_model),
    createVersion: (body: Record<string, unknown>) => ok(api("POST", "model-versions/create", body)).then((b) => b.model_version),
    getVersion: (name: string, version: string) => ok(api("GET", "model-versions/get", { name, version })).then((b) => b.model_version),
    searchModels: (query: Record<string, unknown>) => api("GET", "registered-models/search", query),
    searchVersions: (query: Record<string, unknown>) => api("GET", "model-versions/search", query),
  };
}

/** Expects MLflow's whole error body and status. */
export async function fails(p: Answer, status: number, error_code: string, message: string): Promise<void> {
  const r = await p;
  const [sqlstate, error_class] = CLASSIFIED[error_code]!;
  expect(r.body).toEqual({ error_code, message, sqlstate, error_class });
  expect(r.status).toBe(status);
}

export const invalid = (p: Answer, message: string) => fails(p, 400, "INVALID_PARAMETER_VALUE", message);
export const notFound = (p: Answer, message: string) => fails(p, 404, "RESOURCE_DOES_NOT_EXIST", message);

/** Expects an error whose message matches, <TIME> standing for any epoch-ms and <ANY> for anything. */
export async function failsLike(p: Answer, status: number, error_code: string, pattern: string): Promise<void> {
  const r = await p;
  const re = new RegExp("^" + pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/<TIME>/g, "\\d{13}").replace(/<ANY>/g, "[\\s\\S]*") + "$");
  expect(r.body.message).toMatch(re);
  const [sqlstate, error_class] = CLASSIFIED[error_code]!;
  expect({ ...r.body, message: "" }).toEqual({ error_code, message: "", sqlstate, error_class });
  expect(r.status).toBe(status);
}

/** Flask's HTML 500 page. */
export async function flask500(p: Answer): Promise<void> {
  const r = await p;
  expect(r.status).toBe(500);
  expect(r.body).toStartWith("<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>");
}

export const b64 = (s: string) => Buffer.from(s).toString("base64");
export const token = (offset: number) => b64(`{"offset": ${offset}}`);
