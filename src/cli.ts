// The executable's entry point. It exports nothing (bytecode builds require that).
import "./jsc-heap"; // first: it may restart the process in place, before other modules load
import { HELP, parseArgs, UsageError, VERSION } from "./args";
import { startServer } from "./main";
import { MLFLOW_VERSION } from "./server/app";
import { isWorker, runWorker, superviseWorkers } from "./workers";

async function run(): Promise<void> {
  const argv = process.argv.slice(2);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`Error: ${e.message} (see mlflow-bun --help)`);
    process.exit(2);
  }
  if (parsed === "help") return void process.stdout.write(HELP);
  if (parsed === "version") return void console.log(`mlflow-bun ${VERSION} (MLflow ${MLFLOW_VERSION} API, Bun ${Bun.version})`);
  const config = parsed;
  try {
    if (isWorker()) return await runWorker(config);
    if (config.workspaceStoreUri && !config.enableWorkspaces) {
      // mlflow server's own notice, word for word
      console.error("Ignoring --workspace-store-uri because workspaces are not enabled. Use --enable-workspaces to activate workspace mode.");
    }
    if (config.workers > 1) return await superviseWorkers(config, argv);
    // The banner says what goes to Python (everything, with --app-name or --enable-workspaces).
    await startServer(config);
  } catch (e) {
    // One line: database errors carry psycopg2's multi-line text.
    const message = (e as Error).message.split("\n").map((l) => l.trim()).filter(Boolean).join(" ");
    console.error(`Error: ${message}`);
    process.exit(1);
  }
}

// A server outlives a stray rejected promise: it is a bug to log, never a reason to drop every
// client's connection (Bun's default ends the process).
process.on("unhandledRejection", (reason) => {
  console.error(`Error: unhandled rejection (a bug): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
});

void run();
