// `mlflow-bun [server] [flags]`: flags and environment variables as `mlflow server` spells them.
import { DEFAULTS, resolveArtifactRoot, type Config } from "./config";
import { parseStoreUri } from "./store/db";
import { MLFLOW_VERSION } from "./server/app";

export const VERSION = "0.1.0";

export const HELP = `Usage: mlflow-bun [server] [OPTIONS]

  The MLflow ${MLFLOW_VERSION} tracking server REST API, natively on Bun. Requests it does not
  serve natively are proxied to --python-url.

Options:
  -h, --host HOST                 Address to listen on (default ${DEFAULTS.host}) [MLFLOW_HOST]
  -p, --port PORT                 Port to listen on (default ${DEFAULTS.port}) [MLFLOW_PORT]
  --backend-store-uri URI         sqlite:///path.db or postgresql://... (default ${DEFAULTS.backendStoreUri})
                                  [MLFLOW_BACKEND_STORE_URI]
  --default-artifact-root URI     Root for new experiments' artifacts (default mlflow-artifacts:/
                                  when serving artifacts, else ./mlruns) [MLFLOW_DEFAULT_ARTIFACT_ROOT]
  --serve-artifacts / --no-serve-artifacts
                                  Serve artifacts through the server (default on) [MLFLOW_SERVE_ARTIFACTS]
  --artifacts-destination URI     Where served artifacts live (default ${DEFAULTS.artifactsDestination})
                                  [MLFLOW_ARTIFACTS_DESTINATION]
  --artifacts-only                Serve only the artifact routes [MLFLOW_ARTIFACTS_ONLY]
  --static-prefix PREFIX          URL prefix for every route [MLFLOW_STATIC_PREFIX]
  --python-url URL                The MLflow Python server to proxy other requests to [MLFLOW_BUN_PYTHON_URL]
  --pool-size N                   PostgreSQL connections (default ${DEFAULTS.poolSize}) [MLFLOW_BUN_POOL_SIZE]
  --version                       Print versions and exit
  --help                          Show this message and exit
`;

export class UsageError extends Error {}

type Env = Record<string, string | undefined>;

/** click's BoolParamType: these spellings only; anything else is a usage error. */
function parseBool(v: string, flag: string): boolean {
  const s = v.trim().toLowerCase();
  if (["1", "true", "t", "yes", "y", "on"].includes(s)) return true;
  if (["0", "false", "f", "no", "n", "off"].includes(s)) return false;
  throw new UsageError(`Invalid value for '${flag}': '${v}' is not a valid boolean.`);
}

export function parseArgs(argv: string[], env: Env = process.env): Config | "help" | "version" {
  const args = argv[0] === "server" ? argv.slice(1) : [...argv];
  const values: Record<string, string> = {};
  let serveArtifacts: boolean | undefined;
  let artifactsOnly: boolean | undefined;
  const valued: Record<string, string> = {
    "--host": "host", "-h": "host", "--port": "port", "-p": "port",
    "--backend-store-uri": "backendStoreUri", "--default-artifact-root": "defaultArtifactRoot",
    "--artifacts-destination": "artifactsDestination", "--static-prefix": "staticPrefix",
    "--python-url": "pythonUrl", "--pool-size": "poolSize",
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help") return "help";
    if (arg === "--version") return "version";
    if (arg === "--serve-artifacts") { serveArtifacts = true; continue; }
    if (arg === "--no-serve-artifacts") { serveArtifacts = false; continue; }
    if (arg === "--artifacts-only") { artifactsOnly = true; continue; }
    const [flag, inline] = arg.includes("=") && arg.startsWith("--") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const key = valued[flag];
    if (!key) throw new UsageError(`No such option: ${arg}`);
    const value = inline ?? args[++i];
    if (value === undefined) throw new UsageError(`Option '${flag}' requires an argument.`);
    values[key] = value;
  }
  // An empty environment variable counts as unset, as click reads envvars.
  const pick = (key: string, envName: string) => values[key] ?? (env[envName] || undefined);
  const portText = pick("port", "MLFLOW_PORT") ?? String(DEFAULTS.port);
  const port = /^\d+$/.test(portText.trim()) ? Number(portText) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`Invalid value for '--port': '${pick("port", "MLFLOW_PORT")}' is not a valid port.`);
  const poolSize = Number(pick("poolSize", "MLFLOW_BUN_POOL_SIZE") ?? DEFAULTS.poolSize);
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new UsageError(`Invalid value for '--pool-size': must be a positive integer.`);
  const backendStoreUri = pick("backendStoreUri", "MLFLOW_BACKEND_STORE_URI") ?? DEFAULTS.backendStoreUri;
  try {
    parseStoreUri(backendStoreUri);
  } catch (e) {
    throw new UsageError(`Invalid value for '--backend-store-uri': ${(e as Error).message}`);
  }
  const staticPrefix = pick("staticPrefix", "MLFLOW_STATIC_PREFIX") ?? DEFAULTS.staticPrefix;
  if (staticPrefix) {
    // mlflow/cli's _validate_static_prefix, same messages
    if (!staticPrefix.startsWith("/")) throw new UsageError("--static-prefix must begin with a '/'.");
    if (staticPrefix.endsWith("/")) throw new UsageError("--static-prefix should not end with a '/'.");
    if (/[{}]/.test(staticPrefix)) throw new UsageError("--static-prefix must not contain '{' or '}'.");
  }
  const pythonUrl = pick("pythonUrl", "MLFLOW_BUN_PYTHON_URL");
  if (pythonUrl !== undefined && !/^https?:\/\/[^/]+/.test(pythonUrl)) throw new UsageError(`Invalid value for '--python-url': '${pythonUrl}' is not an http(s) URL.`);
  const serve = serveArtifacts ?? (env.MLFLOW_SERVE_ARTIFACTS ? parseBool(env.MLFLOW_SERVE_ARTIFACTS, "--serve-artifacts") : DEFAULTS.serveArtifacts);
  return {
    host: pick("host", "MLFLOW_HOST") ?? DEFAULTS.host,
    port,
    backendStoreUri,
    defaultArtifactRoot: resolveArtifactRoot(pick("defaultArtifactRoot", "MLFLOW_DEFAULT_ARTIFACT_ROOT"), serve),
    serveArtifacts: serve,
    artifactsDestination: pick("artifactsDestination", "MLFLOW_ARTIFACTS_DESTINATION") ?? DEFAULTS.artifactsDestination,
    artifactsOnly: artifactsOnly ?? (env.MLFLOW_ARTIFACTS_ONLY ? parseBool(env.MLFLOW_ARTIFACTS_ONLY, "--artifacts-only") : DEFAULTS.artifactsOnly),
    pythonUrl: pythonUrl || undefined,
    staticPrefix,
    poolSize,
  };
}
