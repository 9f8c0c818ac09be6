// The executable's entry point. It exports nothing (bytecode builds require that).
import { HELP, parseArgs, UsageError, VERSION } from "./args";
import { startServer } from "./main";
import { MLFLOW_VERSION } from "./server/app";

async function run(): Promise<void> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`Error: ${e.message} (see mlflow-bun --help)`);
    process.exit(2);
  }
  if (parsed === "help") return void process.stdout.write(HELP);
  if (parsed === "version") return void console.log(`mlflow-bun ${VERSION} (MLflow ${MLFLOW_VERSION} API, Bun ${Bun.version})`);
  try {
    await startServer(parsed);
  } catch (e) {
    console.error(`Error: ${(e as Error).message}`);
    process.exit(1);
  }
}

await run();
