// Start-up and shutdown: open the store, make sure the schema is MLflow's head, serve.
import type { Config } from "./config";
import { createApp } from "./server/app";
import { extraRoutes, nativeHandlers } from "./services/native";
import { openDb } from "./store/db";
import { createStores } from "./store";
import { ensureSchema } from "./store/schema";

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

export async function startServer(config: Config, options: { signals?: boolean; quiet?: boolean } = {}): Promise<RunningServer> {
  const db = openDb(config.backendStoreUri, { poolSize: config.poolSize });
  try {
    await ensureSchema(db);
    const stores = createStores(db, config);
    await stores.experiments.ensureDefaultExperiment();
    const { app, native } = createApp({ config, handlers: nativeHandlers(stores, config), extraRoutes: extraRoutes(stores, config) });
    const server = Bun.serve({ hostname: config.host, port: config.port, fetch: app.fetch, maxRequestBodySize: 1024 ** 3 });
    const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${server.port}`;
    if (!options.quiet) {
      const proxied = config.pythonUrl ? `other requests proxied to ${config.pythonUrl}` : "no --python-url: other API paths answer 404";
      console.log(`mlflow-bun listening on ${url} (${native.length} native routes; ${proxied})`);
    }
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await server.stop(false); // stop accepting; let in-flight requests finish
        await db.close();
      })());
    if (options.signals !== false) {
      for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => void stop().then(() => process.exit(0)));
      }
    }
    return { url, stop };
  } catch (e) {
    await db.close().catch(() => {});
    throw e;
  }
}
