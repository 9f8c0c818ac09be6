// Emits src/generated/contract.ts (a handler interface per service) and
// src/generated/routes.ts (every RPC's HTTP routes, and a mount function per service that
// registers only the RPCs given a handler, so the rest fall through to the proxy).
import { httpPaths, ident, literal, SERVED_SERVICES, wildcardParam, type Model } from "./model";

const short = (s: string) => s.split(".").pop()!;

export function emitContract(model: Model, header: string): string {
  const out = [header, 'import type * as M from "./types";', ""];
  for (const service of SERVED_SERVICES.map(short)) {
    out.push(`export interface ${service}Handlers<Ctx> {`);
    for (const rpc of model.rpcs.filter((r) => r.service === service)) {
      out.push(`  ${rpc.name}(request: M.${ident(rpc.request)}, ctx: Ctx): Promise<M.${ident(rpc.response)}> | M.${ident(rpc.response)};`);
    }
    out.push("}", "");
  }
  out.push("export interface ServiceHandlers<Ctx> {");
  for (const service of SERVED_SERVICES.map(short)) out.push(`  ${service}: ${service}Handlers<Ctx>;`);
  out.push("}", "");
  out.push("/** What a server implements natively: any subset of any service's RPCs. */");
  out.push("export type NativeHandlers<Ctx> = { [S in keyof ServiceHandlers<Ctx>]?: Partial<ServiceHandlers<Ctx>[S]> };");
  return out.join("\n") + "\n";
}

export function emitRoutes(model: Model, header: string): string {
  const out = [
    header,
    'import type { NativeHandlers } from "./contract";',
    "",
    "export interface RpcRoute {",
    "  service: string;",
    "  rpc: string;",
    "  /** Full names of the request and response messages. */",
    "  request: string;",
    "  response: string;",
    '  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";',
    "  /** Elysia paths: `/api/{since}.0{path}` and `/ajax-api/{since}.0{path}`, as handlers.py mounts them. */",
    "  paths: readonly string[];",
    "  /** For `<path:x>` endpoints: the field the `*` wildcard fills. */",
    "  wildcard?: string;",
    "}",
    "",
    "export const RPC_ROUTES: readonly RpcRoute[] = [",
  ];
  for (const rpc of model.rpcs) {
    for (const e of rpc.endpoints) {
      const route: Record<string, unknown> = {
        service: rpc.service, rpc: rpc.name, request: rpc.request, response: rpc.response,
        method: e.method, paths: httpPaths(e),
      };
      const w = wildcardParam(e);
      if (w) route.wildcard = w;
      out.push(`  ${literal(route)},`);
    }
  }
  out.push("];", "");
  out.push(
    "/** Registers, for each RPC that has a handler, each of its routes; RPCs without one get no route. */",
    "export function mountNative<Ctx>(",
    "  handlers: NativeHandlers<Ctx>,",
    "  mount: (route: RpcRoute, handler: (request: any, ctx: Ctx) => unknown) => void,",
    "): RpcRoute[] {",
    "  const mounted: RpcRoute[] = [];",
    "  for (const route of RPC_ROUTES) {",
    "    const service = (handlers as Record<string, Record<string, Function> | undefined>)[route.service];",
    "    const handler = service?.[route.rpc];",
    "    if (!handler) continue;",
    "    mount(route, (request, ctx) => handler.call(service, request, ctx));",
    "    mounted.push(route);",
    "  }",
    "  return mounted;",
    "}",
  );
  return out.join("\n") + "\n";
}
