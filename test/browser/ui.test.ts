// The MLflow web UI through mlflow-bun, in a real Chromium (issue 6).
//
//   node_modules/.bin/bun test test/browser
//
// mlflow-bun (src/cli.ts, or $MLFLOW_BUN_BINARY) serves the API natively and proxies the rest,
// the UI's static files included, to a real `mlflow server` on the same database. The database
// is seeded through mlflow-bun with the real mlflow client (seed.py); then Chromium (Debian's,
// driven by playwright-core; installed with apt when missing, else the suite is skipped) opens
// the UI on mlflow-bun's port and the tests assert on what it renders. Every fetch/XHR the UI
// makes is recorded (.test-tmp/browser/<dialect>-requests.json); the last test fails on a 5xx
// from /ajax-api or /api, and on any status Python itself would not give for the same request
// (replayed against the Python port); it also prints whether the natively answered GETs return
// the same bodies as Python (informational). Screenshots: .test-tmp/browser/<dialect>-NN-<page>.png.
//
// Dialects: sqlite by default; MLFLOW_BUN_BROWSER_DIALECTS=sqlite,postgres adds PostgreSQL
// ($MLFLOW_BUN_PG_URL or the local server, as the integration tests find it).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { freshDatabase } from "../support/postgres";
import { CHROMIUM_ARGS, ensureChromium, OUT, Recorder, seed, startServers, type Recorded, type Seeded, type Servers } from "./support";

const chromiumFound = ensureChromium();
const skipReason = "skip" in chromiumFound ? chromiumFound.skip : undefined;
if (skipReason) console.warn(`[browser] skipping the browser test: ${skipReason}`);

const dialects = (process.env.MLFLOW_BUN_BROWSER_DIALECTS ?? "sqlite").split(",").map((d) => d.trim()).filter(Boolean);
const ML = "workflowType=machine_learning"; // the "Model training" side of the UI (GenAI is the default)
const WAIT = 30_000; // how long a page may take to show what it should (not an assertion on speed)
const TEST_TIMEOUT = 60_000;

for (const dialect of dialects) {
  describe.skipIf(skipReason !== undefined)(`MLflow UI through mlflow-bun (${dialect})`, () => {
    let servers: Servers;
    let dropDb: (() => Promise<void>) | undefined;
    let data: Seeded;
    let context: BrowserContext;
    let page: Page;
    let recorder: Recorder;
    let userDataDir: string;
    let shot = 0;
    const alias = () => new RegExp(`@\\s*${data.alias}\\b`);

    beforeAll(async () => {
      mkdirSync(OUT, { recursive: true });
      for (const f of readdirSync(OUT)) if (f.startsWith(`${dialect}-`) && f.endsWith(".png")) rmSync(join(OUT, f));
      const workdir = join(OUT, `${dialect}-work`);
      rmSync(workdir, { recursive: true, force: true });
      mkdirSync(workdir, { recursive: true });
      let bunBackend: string;
      let pythonBackend: string;
      if (dialect === "postgres") {
        const db = await freshDatabase("mlflow_bun_browser");
        dropDb = db.drop;
        bunBackend = db.uri;
        // SQLAlchemy maps a bare postgresql:// to psycopg 3, which is not installed; psycopg2 is.
        pythonBackend = db.uri.replace(/^postgresql:/, "postgresql+psycopg2:");
      } else {
        bunBackend = pythonBackend = `sqlite:///${join(workdir, "mlflow.db")}`;
      }
      servers = await startServers(workdir, bunBackend, pythonBackend);
      data = seed(servers.bun.url);
      userDataDir = mkdtempSync(join(workdir, "chromium-profile-"));
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: (chromiumFound as { path: string }).path,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1600, height: 1000 },
      });
      page = context.pages()[0] ?? (await context.newPage());
      recorder = new Recorder(page, servers.bun.url);
    }, 240_000);

    afterAll(async () => {
      await context?.close().catch(() => {});
      await servers?.stop();
      await dropDb?.();
    }, 60_000);

    /** Opens a UI route (the part after `#`) on mlflow-bun's port. */
    async function open(name: string, route: string): Promise<void> {
      recorder.current = name;
      await page.goto(`${servers.bun.url}/#${route}`);
    }

    /** Waits for text to be rendered (first match). */
    async function shows(text: string | RegExp): Promise<void> {
      try {
        await page.getByText(text).first().waitFor({ state: "visible", timeout: WAIT });
      } catch (e) {
        await page.screenshot({ path: join(OUT, `${dialect}-FAILED-${recorder.current}.png`) }).catch(() => {});
        throw e;
      }
    }

    type Line = { name: string; x: number[]; y: number[] };
    /** The lines of the page's Plotly charts (Plotly keeps each chart's data on its element), once `ready` holds. */
    async function plotlyLines(ready: (lines: Line[]) => boolean): Promise<Line[]> {
      const deadline = Date.now() + WAIT;
      let lines: Line[] = [];
      while (Date.now() < deadline) {
        lines = await page.$$eval(".js-plotly-plot", (els) =>
          els.flatMap((el: any) =>
            (el.data ?? []).map((d: any) => ({ name: String(d.name ?? ""), x: Array.from(d.x ?? []).map(Number), y: Array.from(d.y ?? []).map(Number) })),
          ),
        );
        if (ready(lines)) {
          expect(await page.locator(".js-plotly-plot svg.main-svg").count()).toBeGreaterThanOrEqual(1);
          return lines;
        }
        await Bun.sleep(200);
      }
      throw new Error(`the charts never showed the expected lines; they have ${JSON.stringify(lines)}`);
    }

    async function body(): Promise<string> {
      return page.innerText("body");
    }

    /** Lets the page's requests finish, then saves a screenshot. */
    async function screenshot(name: string): Promise<void> {
      await recorder.settle();
      shot++;
      await page.screenshot({ path: join(OUT, `${dialect}-${String(shot).padStart(2, "0")}-${name}.png`) });
    }

    test("home page lists the seeded experiments", async () => {
      await open("home", "/");
      await shows("Welcome to MLflow");
      await shows("ui-browser-alpha");
      await shows("ui-browser-beta");
      // The MLflow Assistant panel opens itself on the first visit: close it (the UI remembers),
      // so that the pages below get the whole width.
      const close = page.getByRole("button", { name: "Close", exact: true });
      if (await close.count()) await close.first().click();
      await screenshot("home");
    }, TEST_TIMEOUT);

    test("experiment list", async () => {
      await open("experiments", `/experiments?${ML}`);
      await shows("ui-browser-alpha");
      await shows("ui-browser-beta");
      const text = await body();
      expect(text).toContain("Default");
      expect(text).toContain("team"); // alpha's tag
      await screenshot("experiments");
    }, TEST_TIMEOUT);

    test("an experiment's runs table", async () => {
      await open("runs-table", `/experiments/${data.experiments.alpha}/runs?${ML}`);
      await shows("ui-run-main");
      await shows("ui-run-other");
      await shows("2 matching runs");
      expect(await body()).not.toContain("ui-run-beta");
      await screenshot("runs-table");
      // A search filter typed into the runs page's search box (runs/search with a filter).
      recorder.current = "runs-table-search";
      const search = page.getByPlaceholder(/metrics\.rmse/);
      await search.fill(`params.learning_rate = "0.0042"`);
      await search.press("Enter");
      await shows(/^\s*1\s*matching run/);
      await page.getByText("ui-run-other").waitFor({ state: "detached", timeout: WAIT });
      await shows("ui-run-main");
      await screenshot("runs-table-search");
      // Clear it again (the UI keeps an experiment's filter for the next visit).
      await search.fill("");
      await search.press("Enter");
      await shows("ui-run-other");
      await shows("2 matching runs");
    }, TEST_TIMEOUT);

    test("an experiment's runs compared in charts (metric history of both runs)", async () => {
      await open("runs-charts", `/experiments/${data.experiments.alpha}/runs?${ML}&compareRunsMode=CHART`);
      await shows("ui-run-other (train_loss)");
      await shows("ui-run-main (val_accuracy)");
      // train_loss: ui-run-main has 8 steps, ui-run-other 3.
      const byRun = (lines: Line[], name: string, n: number) => lines.find((t) => t.name === name && t.x.length === n);
      const lines = await plotlyLines((l) => !!byRun(l, "ui-run-main", 8) && !!byRun(l, "ui-run-other", 3));
      const main = byRun(lines, "ui-run-main", 8)!;
      const other = byRun(lines, "ui-run-other", 3)!;
      expect(other.x).toEqual([0, 1, 2]);
      expect(other.y).toEqual([2, 1.5, 1]);
      main.y.forEach((y, step) => expect(y).toBeCloseTo(1 / (step + 1), 9));
      await screenshot("runs-charts");
    }, TEST_TIMEOUT);

    test("run overview: params, metrics, tags, registered models", async () => {
      await open("run-overview", `/experiments/${data.experiments.alpha}/runs/${data.run_id}?${ML}`);
      await shows("adamw-bun");
      await shows("Registered models");
      const text = await body();
      for (const s of ["ui-run-main", "learning_rate", "0.0042", "optimizer", "epochs", "train_loss", "val_accuracy",
        "browser-check", "ui-test", "Seeded by test/browser/seed.py", data.run_id, "Finished", data.model]) {
        expect(text).toContain(s);
      }
      // The latest values: train_loss at step 7 is 1/8, val_accuracy at step 4 is 0.9.
      expect(text).toMatch(/train_loss\s+0\.125\b/);
      expect(text).toMatch(/val_accuracy\s+0\.9\b/);
      expect(text).toMatch(/Parameters \(3\)/);
      expect(text).toMatch(/Metrics \(2\)/);
      await screenshot("run-overview");
    }, TEST_TIMEOUT);

    test("run model metrics: a chart per metric, with the full history", async () => {
      await open("run-model-metrics", `/experiments/${data.experiments.alpha}/runs/${data.run_id}/model-metrics?${ML}`);
      await shows("val_accuracy");
      // Both charts' lines are the run's (a chart's legend names the run): train_loss has 8 steps,
      // val_accuracy 5; the values are the ones logged.
      const traces = await plotlyLines((l) => l.some((t) => t.x.length === 8) && l.some((t) => t.x.length === 5));
      const loss = traces.find((t) => t.x.length === 8)!;
      const acc = traces.find((t) => t.x.length === 5)!;
      for (const t of traces) expect(t.name).toBe(data.run_name);
      expect(loss.x).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      loss.y.forEach((y, step) => expect(y).toBeCloseTo(1 / (step + 1), 9));
      expect(acc.x).toEqual([0, 1, 2, 3, 4]);
      acc.y.forEach((y, step) => expect(y).toBeCloseTo(0.5 + 0.1 * step, 9));
      const text = await body();
      expect(text).toContain("train_loss");
      expect(text).toContain(`${data.run_name} (train_loss)`);
      expect(text).toContain(`${data.run_name} (val_accuracy)`);
      await screenshot("run-model-metrics");
    }, TEST_TIMEOUT);

    test("run artifacts: browse to the text file and show its content", async () => {
      await open("run-artifacts", `/experiments/${data.experiments.alpha}/runs/${data.run_id}/artifacts?${ML}`);
      const [dir, file] = data.artifact_path.split("/");
      await page.getByText(dir, { exact: true }).first().click({ timeout: WAIT });
      await page.getByText(file, { exact: true }).first().click({ timeout: WAIT });
      const [firstLine, secondLine] = data.artifact_text.split("\n");
      await shows(firstLine);
      const text = await body();
      expect(text).toContain(secondLine);
      expect(text).toContain(`mlflow-artifacts:/${data.experiments.alpha}/${data.run_id}/artifacts/${data.artifact_path}`);
      await screenshot("run-artifacts");
    }, TEST_TIMEOUT);

    test("model registry list", async () => {
      await open("models", `/models?${ML}`);
      await shows(data.model);
      const text = await body();
      expect(text).toContain("Version 2"); // latest version
      expect(text).toMatch(alias());
      expect(text).toContain("domain: browser");
      await screenshot("models");
    }, TEST_TIMEOUT);

    test("a registered model's page", async () => {
      await open("model", `/models/${encodeURIComponent(data.model)}?${ML}`);
      await shows("Registered by the browser test");
      await shows("Version 1");
      const text = await body();
      expect(text).toMatch(alias());
      for (const s of ["Version 2", "first version", "baseline", "good", "domain", "browser"]) expect(text).toContain(s);
      await screenshot("model");
    }, TEST_TIMEOUT);

    test("a model version's page", async () => {
      await open("model-version", `/models/${encodeURIComponent(data.model)}/versions/${data.versions[1]}?${ML}`);
      await shows("Source Run");
      await shows(data.run_name); // the source run's name, from runs/get
      const text = await body();
      expect(text).toContain(`Version ${data.versions[1]}`);
      expect(text).toMatch(alias());
      expect(text).toContain("quality");
      expect(text).toContain("good");
      // The schema comes from the model's MLmodel file (/model-versions/get-artifact).
      await shows("Outputs (1)");
      await page.getByText("Inputs (2)").first().click({ timeout: WAIT }); // the schema's sections start folded
      await shows("colour_bun");
      await page.getByText("Outputs (1)").first().click({ timeout: WAIT });
      await shows("prediction");
      const schema = await body();
      for (const s of ["sepal_width", "double", "string", "long"]) expect(schema).toContain(s);
      await screenshot("model-version");
    }, TEST_TIMEOUT);

    test("the UI's requests: no 5xx, and no status Python would not give", async () => {
      await recorder.settle();
      const replayed = new Map<string, number | string>();
      const replayedBody = new Map<string, string>();
      async function python(r: Recorded): Promise<number | string> {
        const key = `${r.method} ${r.path} ${r.postData ?? ""}`;
        if (!replayed.has(key)) {
          try {
            const res = await fetch(servers.python.url + r.path, {
              method: r.method,
              body: r.postData ?? undefined,
              headers: r.contentType ? { "content-type": r.contentType } : {},
            });
            const text = (await res.text()).slice(0, 300);
            replayed.set(key, res.status);
            replayedBody.set(key, text);
          } catch (e) {
            replayed.set(key, String(e));
          }
        }
        return replayed.get(key)!;
      }
      const problems: string[] = [];
      const rows: (Recorded & { python?: number | string })[] = [];
      for (const r of recorder.all) {
        const row: Recorded & { python?: number | string } = { ...r };
        rows.push(row);
        const api = /^\/(ajax-api|api)\//.test(r.path);
        const what = `${r.method} ${r.path} (${r.page}, ${r.servedBy ?? "no response"})`;
        if (r.status === undefined) {
          // Requests cut off by the next navigation are not the server's doing.
          if (r.failure && !/ERR_ABORTED/.test(r.failure)) problems.push(`${what}: ${r.failure}`);
          continue;
        }
        if (r.status >= 500 && api) {
          problems.push(`${what}: ${r.status}`);
          continue;
        }
        // Any error status, and every GET, is compared with Python's answer to the same request.
        if (r.status >= 400 || r.method === "GET") {
          row.python = await python(r);
          if (row.python !== r.status) {
            const pythonBody = replayedBody.get(`${r.method} ${r.path} ${r.postData ?? ""}`);
            problems.push(`${what}: ${r.status} ${JSON.stringify(r.body)}; Python answers ${row.python} ${JSON.stringify(pythonBody)}`);
          }
        }
      }
      // Informational: the natively answered JSON GETs, asked again of both servers, compared whole.
      // (The parity suites own body equality; a difference here is printed, not failed.)
      const bodyDiffs: string[] = [];
      const compared = new Set<string>();
      for (const r of rows) {
        if (r.servedBy !== "native" || r.method !== "GET" || r.status !== 200 || compared.has(r.path)) continue;
        compared.add(r.path);
        const [ours, theirs] = await Promise.all([servers.bun.url, servers.python.url].map((u) => fetch(u + r.path).then((res) => res.text())));
        let same = ours === theirs;
        try {
          same ||= Bun.deepEquals(JSON.parse(ours), JSON.parse(theirs), true);
        } catch {}
        if (!same) bodyDiffs.push(`${r.path}\n    mlflow-bun: ${ours.slice(0, 400)}\n    python:     ${theirs.slice(0, 400)}`);
      }
      console.log(`[browser:${dialect}] native GETs compared with Python: ${compared.size}, bodies differing: ${bodyDiffs.length}${bodyDiffs.map((d) => `\n  ${d}`).join("")}`);
      writeFileSync(join(OUT, `${dialect}-requests.json`), JSON.stringify(rows, null, 2));
      const summary = new Map<string, string>();
      for (const r of rows) {
        const key = `${r.method} ${r.path.split("?")[0]}`;
        const status = `${r.status ?? r.failure}${r.servedBy === "python" ? " (proxied)" : r.servedBy === "native" ? " (native)" : ""}`;
        const seen = summary.get(key);
        if (!seen?.split(", ").includes(status)) summary.set(key, seen ? `${seen}, ${status}` : status);
      }
      console.log(`[browser:${dialect}] ${rows.length} requests:\n${[...summary].map(([k, v]) => `  ${k} -> ${v}`).join("\n")}`);
      // The pages above must have used the native API, not only the proxy.
      expect(rows.some((r) => r.servedBy === "native" && r.path.startsWith("/ajax-api/2.0/mlflow/runs/search"))).toBe(true);
      expect(problems).toEqual([]);
    }, TEST_TIMEOUT);
  });
}
