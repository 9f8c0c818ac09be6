// --workers N: N processes of this same executable serve one port (SO_REUSEPORT), each with its
// own database connections; this process only supervises them. One dying stops them all, so a
// half-working server never lingers; SIGTERM/SIGINT stop them all gracefully.
import { everythingProxied, type Config } from "./config";
import { prepareDatabase, startServer } from "./main";
import { selfCommand } from "./self";

/** Set in a worker's environment; the port variable carries the port the first worker bound. */
const WORKER_ENV = "MLFLOW_BUN_WORKER";
const WORKER_PORT_ENV = "MLFLOW_BUN_WORKER_PORT";

type Ready = { listening: string; banner: string };

export const isWorker = (): boolean => process.env[WORKER_ENV] === "1";

/** In a worker: serve on the shared port, report to the supervisor, stop when it goes away. */
export async function runWorker(config: Config): Promise<void> {
  const port = process.env[WORKER_PORT_ENV];
  const server = await startServer({ ...config, port: port ? Number(port) : config.port }, { quiet: true, reusePort: true });
  process.send?.({ listening: server.url, banner: server.banner } satisfies Ready);
  // The supervisor was killed without stopping us: do not serve on as an orphan.
  process.on("disconnect", () => void server.stop().then(() => process.exit(0)));
}

export async function superviseWorkers(config: Config, argv: string[]): Promise<never> {
  // The schema is created (or checked) once, here, so workers never race to create it.
  if (!everythingProxied(config)) await prepareDatabase(config);
  const children: ReturnType<typeof Bun.spawn>[] = [];
  let stopping = false;
  let failed: ((code: number) => void) | undefined;
  const failure = new Promise<number>((resolve) => (failed = resolve));

  const spawn = (port: number | undefined) =>
    new Promise<Ready>((resolve) => {
      const env: Record<string, string | undefined> = { ...process.env, [WORKER_ENV]: "1" };
      if (port !== undefined) env[WORKER_PORT_ENV] = String(port);
      const child = Bun.spawn([...selfCommand(), ...argv], {
        env,
        stdio: ["ignore", "inherit", "inherit"],
        ipc: (message: Ready) => resolve(message),
      });
      children.push(child);
      void child.exited.then((code) => {
        if (!stopping) failed!(code || 1);
      });
    });

  const stopAll = async () => {
    stopping = true;
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    await Promise.all(children.map((c) => c.exited));
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void stopAll().then(() => process.exit(0)));
  }

  const started = (async () => {
    const first = await spawn(config.port === 0 ? undefined : config.port);
    const port = Number(new URL(first.listening).port);
    await Promise.all(Array.from({ length: config.workers - 1 }, () => spawn(port)));
    return first;
  })();
  const outcome = await Promise.race([started, failure]);
  if (typeof outcome !== "number") {
    console.log(outcome.banner.replace(/\)$/, `; ${config.workers} workers)`));
  }
  const code = typeof outcome === "number" ? outcome : await failure;
  await stopAll();
  process.exit(code);
}
