// `mlflow-bun [server] [flags]`: every option of `mlflow server` (mlflow/cli/__init__.py), spelled
// and validated as click does, so a launcher can hand a user's command line over unchanged.
import { accessSync, constants, statSync } from "node:fs";
import { DEFAULTS, everythingProxied, resolveArtifactRoot, separateRegistry, type Config } from "./config";
import { pyInt } from "./python/builtins";
import { MLFLOW_VERSION } from "./server/app";
import { parseStoreUri } from "./store/db";

export const VERSION = "0.1.0";

export const HELP = `Usage: mlflow-bun [server] [OPTIONS]

  The MLflow ${MLFLOW_VERSION} tracking server REST API, natively on Bun. Requests it does not
  serve natively are proxied to --python-url. Every option of \`mlflow server\` is accepted.

Options:
  -h, --host HOST                 Address to listen on (default ${DEFAULTS.host}) [MLFLOW_HOST]
  -p, --port PORT                 Port to listen on (default ${DEFAULTS.port}) [MLFLOW_PORT]
  -w, --workers N                 Processes sharing the port (default ${DEFAULTS.workers}) [MLFLOW_WORKERS]
  --backend-store-uri URI         sqlite:///path.db or postgresql://... (default ${DEFAULTS.backendStoreUri})
                                  [MLFLOW_BACKEND_STORE_URI]
  --registry-store-uri URI        Registered models' store; when it is not the backend store, the
                                  registry API goes to --python-url [MLFLOW_REGISTRY_STORE_URI]
  --read-replica-backend-store-uri URI
                                  Accepted; mlflow-bun reads from the backend store
                                  [MLFLOW_READ_REPLICA_BACKEND_STORE_URI]
  --default-artifact-root URI     Root for new experiments' artifacts (default mlflow-artifacts:/
                                  when serving artifacts, else ./mlruns) [MLFLOW_DEFAULT_ARTIFACT_ROOT]
  --serve-artifacts / --no-serve-artifacts
                                  Serve artifacts through the server (default on) [MLFLOW_SERVE_ARTIFACTS]
  --artifacts-destination URI     Where served artifacts live (default ${DEFAULTS.artifactsDestination})
                                  [MLFLOW_ARTIFACTS_DESTINATION]
  --artifacts-only                Serve only the artifact routes [MLFLOW_ARTIFACTS_ONLY]
  --artifacts-presigned-only      Artifacts move directly to storage [MLFLOW_ARTIFACTS_PRESIGNED_ONLY]
  --static-prefix PREFIX          URL prefix for every route [MLFLOW_STATIC_PREFIX]
  --allowed-hosts LIST            Host headers accepted (default: localhost and private addresses)
                                  [MLFLOW_SERVER_ALLOWED_HOSTS]
  --cors-allowed-origins LIST     Cross-origin callers allowed (default: localhost origins)
                                  [MLFLOW_SERVER_CORS_ALLOWED_ORIGINS]
  --x-frame-options VALUE         SAMEORIGIN (default), DENY or NONE [MLFLOW_SERVER_X_FRAME_OPTIONS]
  --disable-security-middleware   No host, CORS or header protection [MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE]
  --app-name NAME                 A Python application (e.g. basic-auth): every request goes to --python-url
  --enable-workspaces / --disable-workspaces
                                  Workspaces: every request goes to --python-url [MLFLOW_ENABLE_WORKSPACES]
  --workspace-store-uri URI       With --enable-workspaces [MLFLOW_WORKSPACE_STORE_URI]
  --gunicorn-opts, --waitress-opts, --uvicorn-opts, --dev, --expose-prometheus,
  --trace-archival-config, --secrets-cache-ttl, --secrets-cache-max-size
                                  Validated as \`mlflow server\` does; they concern the Python server only
  --python-url URL                The MLflow Python server to proxy other requests to [MLFLOW_BUN_PYTHON_URL]
  --pool-size N                   PostgreSQL connections per worker (default ${DEFAULTS.poolSize}) [MLFLOW_BUN_POOL_SIZE]
  --version                       Print versions and exit
  --help                          Show this message and exit
`;

export class UsageError extends Error {}

type Env = Record<string, string | undefined>;

/** Options that take a value: flag spellings → key. */
const VALUED: Record<string, string> = {
  "--host": "host", "-h": "host", "--port": "port", "-p": "port", "--workers": "workers", "-w": "workers",
  "--backend-store-uri": "backendStoreUri", "--registry-store-uri": "registryStoreUri",
  "--read-replica-backend-store-uri": "readReplica", "--default-artifact-root": "defaultArtifactRoot",
  "--artifacts-destination": "artifactsDestination", "--static-prefix": "staticPrefix",
  "--allowed-hosts": "allowedHosts", "--cors-allowed-origins": "corsAllowedOrigins", "--x-frame-options": "xFrameOptions",
  "--gunicorn-opts": "gunicornOpts", "--waitress-opts": "waitressOpts", "--uvicorn-opts": "uvicornOpts",
  "--expose-prometheus": "exposePrometheus", "--app-name": "appName", "--trace-archival-config": "traceArchivalConfig",
  "--secrets-cache-ttl": "secretsCacheTtl", "--secrets-cache-max-size": "secretsCacheMaxSize",
  "--workspace-store-uri": "workspaceStoreUri", "--python-url": "pythonUrl", "--pool-size": "poolSize",
};

/** click's envvar for each valued option (--waitress-opts, --app-name and the secrets cache have none). */
const ENVVARS: Record<string, string> = {
  host: "MLFLOW_HOST", port: "MLFLOW_PORT", workers: "MLFLOW_WORKERS", backendStoreUri: "MLFLOW_BACKEND_STORE_URI",
  registryStoreUri: "MLFLOW_REGISTRY_STORE_URI", readReplica: "MLFLOW_READ_REPLICA_BACKEND_STORE_URI",
  defaultArtifactRoot: "MLFLOW_DEFAULT_ARTIFACT_ROOT", artifactsDestination: "MLFLOW_ARTIFACTS_DESTINATION",
  staticPrefix: "MLFLOW_STATIC_PREFIX", allowedHosts: "MLFLOW_SERVER_ALLOWED_HOSTS",
  corsAllowedOrigins: "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS", xFrameOptions: "MLFLOW_SERVER_X_FRAME_OPTIONS",
  gunicornOpts: "MLFLOW_GUNICORN_OPTS", uvicornOpts: "MLFLOW_UVICORN_OPTS", exposePrometheus: "MLFLOW_EXPOSE_PROMETHEUS",
  traceArchivalConfig: "MLFLOW_TRACE_ARCHIVAL_CONFIG", workspaceStoreUri: "MLFLOW_WORKSPACE_STORE_URI",
  pythonUrl: "MLFLOW_BUN_PYTHON_URL", poolSize: "MLFLOW_BUN_POOL_SIZE",
};

/** Boolean flags: spelling → [key, value]. */
const FLAGS: Record<string, [string, boolean]> = {
  "--serve-artifacts": ["serveArtifacts", true], "--no-serve-artifacts": ["serveArtifacts", false],
  "--artifacts-only": ["artifactsOnly", true], "--artifacts-presigned-only": ["artifactsPresignedOnly", true],
  "--disable-security-middleware": ["disableSecurityMiddleware", true], "--dev": ["dev", true],
  "--enable-workspaces": ["enableWorkspaces", true], "--disable-workspaces": ["enableWorkspaces", false],
};

/** click's BoolParamType: these spellings only; anything else is a usage error. */
function parseBool(v: string, flag: string): boolean {
  const s = v.trim().toLowerCase();
  if (["1", "true", "t", "yes", "y", "on"].includes(s)) return true;
  if (["0", "false", "f", "no", "n", "off"].includes(s)) return false;
  throw new UsageError(`Invalid value for '${flag}': '${v}' is not a valid boolean.`);
}

/** mlflow.environment_variables._BooleanEnvironmentVariable.get(): stricter than click. */
function strictEnvBool(env: Env, name: string): boolean | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  if (!["true", "false", "1", "0"].includes(v.toLowerCase())) {
    throw new UsageError(`${name} value must be one of ['true', 'false', '1', '0'] (case-insensitive), but got ${v}`);
  }
  return ["true", "1"].includes(v.toLowerCase());
}

/** click.IntRange(lo, hi) */
function intRange(v: string, flag: string, lo: number, hi: number): number {
  const n = pyInt(v);
  if (n === undefined) throw new UsageError(`Invalid value for '${flag}': '${v}' is not a valid integer range.`);
  if (n < BigInt(lo) || n > BigInt(hi)) throw new UsageError(`Invalid value for '${flag}': ${n} is not in the range ${lo}<=x<=${hi}.`);
  return Number(n);
}

/** Splits argv into the values and flags given on the command line. */
function scan(args: string[]): { values: Record<string, string>; flags: Record<string, boolean> } | "help" | "version" {
  const values: Record<string, string> = {};
  const flags: Record<string, boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help") return "help";
    if (arg === "--version") return "version";
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : /^-[hpw]./.test(arg) ? [arg.slice(0, 2), arg.slice(2)] : [arg, undefined];
    if (flag in FLAGS) {
      if (inline !== undefined) throw new UsageError(`Option '${flag}' does not take a value.`);
      const [key, value] = FLAGS[flag]!;
      flags[key] = value;
      continue;
    }
    const key = VALUED[flag];
    if (!key) throw new UsageError(`No such option: ${arg}`);
    const value = inline ?? args[++i];
    if (value === undefined) throw new UsageError(`Option '${flag}' requires an argument.`);
    values[key] = value;
  }
  return { values, flags };
}

export function parseArgs(argv: string[], env: Env = process.env): Config | "help" | "version" {
  const scanned = scan(argv[0] === "server" ? argv.slice(1) : [...argv]);
  if (typeof scanned === "string") return scanned;
  const { values, flags } = scanned;
  // An empty environment variable counts as unset, as click reads envvars.
  const pick = (key: string): string | undefined => values[key] ?? ((ENVVARS[key] && env[ENVVARS[key]!]) || undefined);
  const flag = (key: string, envName: string, spelling: string, fallback: boolean): boolean =>
    flags[key] ?? (env[envName] ? parseBool(env[envName]!, spelling) : fallback);

  const portText = pick("port") ?? String(DEFAULTS.port);
  const port = /^\d+$/.test(portText.trim()) ? Number(portText) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`Invalid value for '--port': '${pick("port")}' is not a valid port.`);
  const poolSize = Number(pick("poolSize") ?? DEFAULTS.poolSize);
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new UsageError(`Invalid value for '--pool-size': must be a positive integer.`);
  const workers = parseWorkers(pick("workers"));
  const backendStoreUri = pick("backendStoreUri") ?? DEFAULTS.backendStoreUri;
  try {
    parseStoreUri(backendStoreUri);
  } catch (e) {
    throw new UsageError(`Invalid value for '--backend-store-uri': ${(e as Error).message}`);
  }
  if (workers > 1 && parseStoreUri(backendStoreUri).target === ":memory:") {
    throw new UsageError(`--workers ${workers} cannot serve an in-memory SQLite database (${backendStoreUri}): each worker would have its own.`);
  }
  const staticPrefix = pick("staticPrefix") ?? DEFAULTS.staticPrefix;
  if (staticPrefix) {
    // mlflow/cli's _validate_static_prefix, same messages
    if (!staticPrefix.startsWith("/")) throw new UsageError("--static-prefix must begin with a '/'.");
    if (staticPrefix.endsWith("/")) throw new UsageError("--static-prefix should not end with a '/'.");
    if (/[{}]/.test(staticPrefix)) throw new UsageError("--static-prefix must not contain '{' or '}'.");
  }
  const pythonUrl = pick("pythonUrl");
  if (pythonUrl !== undefined && !/^https?:\/\/[^/]+/.test(pythonUrl)) throw new UsageError(`Invalid value for '--python-url': '${pythonUrl}' is not an http(s) URL.`);
  const serve = flag("serveArtifacts", "MLFLOW_SERVE_ARTIFACTS", "--serve-artifacts", DEFAULTS.serveArtifacts);
  const artifactsOnly = flag("artifactsOnly", "MLFLOW_ARTIFACTS_ONLY", "--artifacts-only", DEFAULTS.artifactsOnly);
  const disableSecurityMiddleware = flag("disableSecurityMiddleware", "MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE", "--disable-security-middleware", false);
  // click reads the envvar first; then `mlflow server` re-reads it with MLflow's stricter parser.
  flag("artifactsPresignedOnly", "MLFLOW_ARTIFACTS_PRESIGNED_ONLY", "--artifacts-presigned-only", false);
  const artifactsPresignedOnly = flags.artifactsPresignedOnly ?? strictEnvBool(env, "MLFLOW_ARTIFACTS_PRESIGNED_ONLY") ?? false;
  // Not a click envvar: `mlflow server` reads it itself unless the flag is on the command line.
  const enableWorkspaces = flags.enableWorkspaces ?? strictEnvBool(env, "MLFLOW_ENABLE_WORKSPACES") ?? false;
  const appName = values.appName;

  validatePythonOnlyOptions(values, flags, pick);
  if (env.MLFLOW_WORKSPACE) throw new UsageError(`MLFLOW_WORKSPACE=${env.MLFLOW_WORKSPACE} is client-only. Unset it before starting the server.`);
  const workspaceStoreUri = pick("workspaceStoreUri");
  if (artifactsOnly && enableWorkspaces && !workspaceStoreUri) {
    throw new UsageError("--workspace-store-uri is required when combining --enable-workspaces with --artifacts-only so artifact requests can be validated against a workspace provider.");
  }
  if (artifactsOnly && pick("backendStoreUri") !== undefined && !["sqlite:///mlflow.db", "./mlruns"].includes(backendStoreUri)) {
    throw new UsageError(
      `You are starting a tracking server in \`--artifacts-only\` mode and have provided a value for \`--backend_store_uri\`: '${backendStoreUri}'. ` +
        "A tracking server in `--artifacts-only` mode cannot have a value set for `--backend_store_uri` to properly proxy access to the artifact storage location.",
    );
  }
  if (artifactsOnly && pick("traceArchivalConfig") !== undefined) {
    throw new UsageError("--trace-archival-config cannot be combined with --artifacts-only because artifact-only servers do not initialize the tracking store required for server-owned trace archival.");
  }
  const artifactsDestination = pick("artifactsDestination") ?? DEFAULTS.artifactsDestination;
  if (artifactsPresignedOnly) validatePresignedOnly(serve, artifactsDestination);

  const config: Config = {
    host: pick("host") ?? DEFAULTS.host,
    port,
    backendStoreUri,
    defaultArtifactRoot: resolveArtifactRoot(pick("defaultArtifactRoot"), serve),
    serveArtifacts: serve,
    artifactsDestination,
    artifactsOnly,
    artifactsPresignedOnly,
    pythonUrl: pythonUrl || undefined,
    staticPrefix,
    poolSize,
    workers,
    registryStoreUri: pick("registryStoreUri"),
    readReplicaBackendStoreUri: pick("readReplica"),
    appName,
    enableWorkspaces,
    workspaceStoreUri,
    disableSecurityMiddleware,
    allowedHosts: pick("allowedHosts"),
    corsAllowedOrigins: pick("corsAllowedOrigins"),
    xFrameOptions: pick("xFrameOptions") ?? DEFAULTS.xFrameOptions,
  };
  requirePython(config);
  return config;
}

/** -w/--workers: click passes the text to uvicorn, whose int option reads it; 0 or less is one process there. */
function parseWorkers(text: string | undefined): number {
  if (text === undefined) return DEFAULTS.workers;
  const n = pyInt(text);
  if (n === undefined) throw new UsageError(`Invalid value for '--workers': '${text}' is not a valid integer.`);
  return n < 1n ? 1 : Number(n);
}

/** The checks `mlflow server` makes on the options that only its Python process uses. */
function validatePythonOnlyOptions(values: Record<string, string>, flags: Record<string, boolean>, pick: (key: string) => string | undefined): void {
  const gunicorn = pick("gunicornOpts");
  const waitress = values.waitressOpts;
  let uvicorn = pick("uvicornOpts");
  if (flags.dev) {
    if (gunicorn) throw new UsageError("'--dev' and '--gunicorn-opts' cannot be specified together.");
    if (uvicorn) throw new UsageError("'--dev' and '--uvicorn-opts' cannot be specified together.");
    if (values.appName) {
      throw new UsageError("'--dev' cannot be used with '--app-name'. Development mode with auto-reload is only supported for the default MLflow tracking server.");
    }
    uvicorn = "--reload --log-level debug";
  }
  if ([gunicorn, waitress, uvicorn].filter((o) => o !== undefined).length > 1) {
    throw new UsageError("Cannot specify multiple server options. Choose one of: '--gunicorn-opts', '--waitress-opts', or '--uvicorn-opts'.");
  }
  // Only the command line counts here, not the environment (Docker images set the envvars).
  const securityOnCommandLine = values.allowedHosts !== undefined || values.corsAllowedOrigins !== undefined || flags.disableSecurityMiddleware !== undefined;
  if ((gunicorn !== undefined || waitress !== undefined) && securityOnCommandLine) {
    throw new UsageError(
      "Security middleware parameters (--allowed-hosts, --cors-allowed-origins, --disable-security-middleware) are only supported with the default uvicorn server. " +
        "They cannot be used with --gunicorn-opts or --waitress-opts. To use security features, run without specifying a server option (uses uvicorn by default) or explicitly use --uvicorn-opts.",
    );
  }
  if (values.secretsCacheTtl !== undefined) intRange(values.secretsCacheTtl, "--secrets-cache-ttl", 10, 300);
  if (values.secretsCacheMaxSize !== undefined) intRange(values.secretsCacheMaxSize, "--secrets-cache-max-size", 1, 10000);
  const trace = pick("traceArchivalConfig");
  if (trace !== undefined) checkReadableFile(trace, "--trace-archival-config");
}

/** click.Path(exists=True, dir_okay=False, readable=True) */
function checkReadableFile(path: string, flag: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new UsageError(`Invalid value for '${flag}': File '${path}' does not exist.`);
  }
  if (isDir) throw new UsageError(`Invalid value for '${flag}': File '${path}' is a directory.`);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new UsageError(`Invalid value for '${flag}': File '${path}' is not readable.`);
  }
}

/**
 * artifacts_presigned_config_validation: local destinations cannot presign. Which remote stores
 * can (and SSE-C keys) the Python server checks when it starts with the same options.
 */
function validatePresignedOnly(serveArtifacts: boolean, destination: string): void {
  if (!serveArtifacts) throw new UsageError("--artifacts-presigned-only requires artifact serving to be enabled; --no-serve-artifacts is not supported.");
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(destination) || /^file:/i.test(destination)) {
    throw new UsageError(`--artifacts-presigned-only requires an artifacts destination that supports presigned uploads and presigned downloads (got '${destination}').`);
  }
}

/** The modes only the Python server can serve: refuse to start rather than answer differently. */
function requirePython(config: Config): void {
  if (config.pythonUrl) return;
  const everything = everythingProxied(config);
  if (everything) {
    throw new UsageError(`${everything} needs --python-url: mlflow-bun does not implement it, so every request must go to the MLflow Python server.`);
  }
  if (separateRegistry(config)) {
    throw new UsageError(`--registry-store-uri ${config.registryStoreUri} is not the backend store: the model registry API needs --python-url to reach it.`);
  }
}
