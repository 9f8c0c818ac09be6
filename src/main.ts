// Start-up and shutdown: open the store, make sure the schema is MLflow's head, serve.
import { everythingProxied, separateRegistry, type Config } from "./config";
import { createApp } from "./server/app";
import { createProxy } from "./server/proxy";
import { answeredByPython, createSecurity, type Security } from "./server/security";
import { extraRoutes, nativeHandlers } from "./services/native";
import { openDb, type Db } from "./store/db";
import { createStores } from "./store";
import { ensureSchema } from "./store/schema";

export interface RunningServer {
  url: string;
  /** The start-up line: where it listens and what goes to Python. */
  banner: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  signals?: boolean;
  quiet?: boolean;
  /** Share the port with other processes (--workers): SO_REUSEPORT. */
  reusePort?: boolean;
}

/** Creates the schema on an empty database (or checks it is MLflow's head) and the Default experiment. */
export async function prepareDatabase(config: Config): Promise<void> {
  const db = openDb(config.backendStoreUri, { poolSize: 1 });
  try {
    await ensureSchema(db);
    await createStores(db, config).experiments.ensureDefaultExperiment();
  } finally {
    await db.close();
  }
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const everything = everythingProxied(config);
  // Those modes serve nothing natively: Python's whole stack (its own security middleware
  // included, seeing the client's Host header, which the proxy forwards) answers.
  const db = everything ? undefined : openDb(config.backendStoreUri, { poolSize: config.poolSize });
  try {
    let fetch: (request: Request) => Response | Promise<Response>;
    let what: string;
    if (everything) {
      fetch = createProxy(config.pythonUrl!);
      what = `${everything}: every request is proxied to ${config.pythonUrl}`;
    } else {
      ({ fetch, what } = await nativeApp(config, db!));
    }
    // No body limit here: artifact uploads stream to storage (MLflow has no limit either); API
    // bodies, which are parsed whole, are capped by server/request.ts.
    const loop = starvationGuard(fetch);
    const server = Bun.serve({ hostname: config.host, port: config.port, fetch: loop.fetch, maxRequestBodySize: Number.MAX_SAFE_INTEGER, reusePort: options.reusePort });
    const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${server.port}`;
    const banner = `mlflow-bun listening on ${url} (${what})`;
    if (!options.quiet) console.log(banner);
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await server.stop(false); // stop accepting; let in-flight requests finish
        loop.stop();
        await db?.close();
      })());
    if (options.signals !== false) {
      for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () =>
          void stop().then(
            () => process.exit(0),
            (e) => {
              console.error(`Error: stopping: ${(e as Error).message}`);
              process.exit(1);
            },
          ),
        );
      }
    }
    return { url, banner, stop };
  } catch (e) {
    await db?.close().catch(() => {});
    throw e;
  }
}

async function nativeApp(config: Config, db: Db) {
  await ensureSchema(db);
  const stores = createStores(db, config);
  await stores.experiments.ensureDefaultExperiment();
  const handlers = nativeHandlers(stores, config);
  const { app, native } = createApp({ config, handlers, extraRoutes: extraRoutes(stores, config) });
  const proxied = config.pythonUrl ? `other requests proxied to ${config.pythonUrl}` : "no --python-url: other API paths answer 404";
  const registry = separateRegistry(config) ? "; --registry-store-uri: the registry API goes to Python" : "";
  const security = createSecurity(config);
  const fetch = security ? secured(security, app.fetch) : (request: Request) => app.fetch(withParsableUrl(request));
  return { fetch, what: `${native.length} native routes; ${proxied}${registry}` };
}

/**
 * Bun 1.4's event loop neither fires timers nor runs signal handlers while new connections keep
 * arriving with work to do (clients that open a connection per request, at full load): SIGTERM
 * would wait for the load to end. A heartbeat timer shows when the loop has not reached its timers
 * for a while; requests then wait for the next timer turn, which lets timers and signals run.
 * Costs nothing while the loop turns (test/integration/shutdown.test.ts, "under load").
 */
function starvationGuard(fetch: (request: Request) => Response | Promise<Response>) {
  let beat = performance.now();
  const heartbeat = setInterval(() => (beat = performance.now()), 100);
  heartbeat.unref();
  return {
    fetch: (request: Request) => (performance.now() - beat > 300 ? Bun.sleep(0).then(() => fetch(request)) : fetch(request)),
    stop: () => clearInterval(heartbeat),
  };
}

/** MLflow's security middleware around the app; Python's answers already carry its headers. */
function secured(security: Security, fetch: (request: Request) => Response | Promise<Response>) {
  return async (request: Request): Promise<Response> => {
    const early = security.screen(request);
    if (early) return early;
    const response = await fetch(withParsableUrl(request));
    return answeredByPython(response) ? response : security.decorate(request, response);
  };
}

/**
 * Bun builds request.url from the Host header; a Host the middleware accepts but a URL cannot hold
 * (MLflow's default allow-list has `fc00:*`, matching a bare IPv6 address) would fail every
 * `new URL(request.url)` downstream, so such a request gets a neutral authority instead.
 */
function withParsableUrl(request: Request): Request {
  if (URL.canParse(request.url)) return request;
  const rest = request.url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, "");
  return new Request(`http://localhost${rest.startsWith("/") ? rest : `/${rest}`}`, request);
}
