// The runs search grammar (SearchUtils on the shared sqlparse port), the SQL its clauses
// become, and the metric-history sampling rule. Expected messages are MLflow 3.18.0's (set
// reprs in one order the real server printed).
import { describe, expect, test } from "bun:test";
import { MlflowError } from "../../src/errors";
import { PyTuple } from "../../src/python/builtins";
import { parseRunFilter, parseRunOrderBy, runFilterSql, runOrderBySql } from "../../src/search/runs";
import { sampleIndices } from "../../src/store/metric-history";
import { join, render } from "../../src/store/sql";

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MlflowError);
    return (e as MlflowError).message;
  }
  throw new Error("expected an MlflowError");
}

const LAYOUT = { selectParams: 0, sortJoinParams: 0, experimentIds: 1, stages: 1 };
const whereSql = (filter: string, dialect: "sqlite" | "postgres" = "sqlite") =>
  render(join(runFilterSql(parseRunFilter(filter), dialect, LAYOUT).conditions, " AND "), dialect === "sqlite" ? () => "?" : (i) => `$${i}`);
const flat = (s: string) => s.replace(/\s+/g, " ").trim();

describe("parseRunFilter", () => {
  test("identifiers, aliases, quoted and backticked keys, values per type", () => {
    const clauses = parseRunFilter(
      "metrics.acc > 0.5 AND params.`p 1` = 'v' AND tags.\"a.b\" LIKE '%x' AND attribute.start_time >= 10 AND " +
        "run.status = 'FINISHED' AND dataset.name IN ('a', 'b') AND param.x IS NULL AND `tags`.t IS NOT NULL AND created < 1.5",
    );
    expect(clauses.map((c) => [c.type, c.key, c.comparator, c.value instanceof PyTuple ? c.value.items : c.value])).toEqual([
      ["metric", "acc", ">", "0.5"],
      ["parameter", "p 1", "=", "v"],
      ["tag", "a.b", "LIKE", "%x"],
      ["attribute", "start_time", ">=", 10n],
      ["attribute", "status", "=", "FINISHED"],
      ["dataset", "name", "IN", ["a", "b"]],
      ["parameter", "x", "IS NULL", null],
      ["tag", "t", "IS NOT NULL", null],
      ["attribute", "created", "<", 1.5],
    ]);
    expect(parseRunFilter("")).toEqual([]);
    expect(parseRunFilter("run_id NOT IN ('a')")[0]!.comparator).toBe("NOT IN");
  });

  test("MLflow's messages", () => {
    const cases: [string, string][] = [
      ["foo.x = 1", "Invalid entity type 'foo'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']"],
      ["lifecycle_stage = 'active'", "Invalid attribute key 'lifecycle_stage' specified. Valid keys are '{'created', 'Run Name', 'run_name', 'Created', 'status', 'artifact_uri', 'start_time', 'run_id', 'Run name', 'run name', 'user_id', 'end_time'}'"],
      ["dataset.profile = 'x'", "Invalid dataset key 'profile' specified. Valid keys are '{'name', 'digest', 'context'}'"],
      ["metrics.m = 'x'", "Expected numeric value type for metric. Found 'x'"],
      ["params.p = 1", "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 1"],
      ["start_time = 'x'", "Expected numeric value type for numeric attribute: start_time. Found 'x'"],
      ["status = 5", "Expected a quoted string value for attributes. Got value 5"],
      ["status IN ('a')", "Only ['run_id'] attributes support comparison with a list of quoted string values."],
      ["dataset.name = 5", "Expected a quoted string value for dataset attributes. Got value 5"],
      ["metrics.m IS NULL", "IS NULL / IS NOT NULL is only supported for tags and params, not for 'metric' 'm'"],
      ["status IS NULL", "IS NULL / IS NOT NULL is only supported for tags and params, not for 'attribute' 'status'"],
      ["metrics.m > 1 OR params.p = 'a'", "Invalid clause(s) in filter string: 'OR'"],
      ["params.p", "Invalid clause(s) in filter string: 'params.p'"],
      ["a = 1; b = 2", "Search filter contained multiple expression 'a = 1; b = 2'. Provide AND-ed expression list."],
      ["run_id IN ()", "While parsing a list in the query, expected a non-empty list of string values, but got empty list"],
      ["run_id IN ('a', 1)", "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: ('a', 1)"],
    ];
    for (const [filter, expected] of cases) expect(message(() => parseRunFilter(filter))).toBe(expected);
  });
});

describe("runFilterSql", () => {
  test("comparator checks in MLflow's words (its set reprs, its missing quotes)", () => {
    const check = (filter: string) => message(() => runFilterSql(parseRunFilter(filter), "sqlite", LAYOUT));
    expect(check("metrics.m LIKE 1")).toBe("Invalid comparator 'LIKE' not one of '{'<=', '>', '=', '>=', '<', '!='}");
    expect(check("params.p > 'a'")).toBe("Invalid comparator '>' not one of '{'LIKE', 'IS NOT NULL', '=', '!=', 'ILIKE', 'IS NULL'}'");
    expect(check("tags.t > 'a'")).toBe("Invalid comparator '>' not one of '{'LIKE', 'IS NOT NULL', '=', '!=', 'ILIKE', 'IS NULL'}");
    expect(check("status < 'a'")).toBe("Invalid comparator '<' not one of '{'LIKE', '=', '!=', 'IN', 'NOT IN', 'ILIKE'}'");
    expect(check("start_time LIKE 1")).toBe("Invalid comparator 'LIKE' not one of '{'LIKE', '=', '!=', 'IN', 'NOT IN', 'ILIKE'}");
    expect(check("dataset.name > 'a'")).toBe("Invalid comparator '>' not one of '{'LIKE', '=', '!=', 'IN', 'NOT IN', 'ILIKE'}");
  });

  test("EXISTS per metric/param/tag clause; NaN never matches but !=; run_name is the tag", () => {
    expect(flat(whereSql("metrics.m > 0.5").text)).toBe(
      "EXISTS (SELECT 1 FROM latest_metrics WHERE latest_metrics.run_uuid = runs.run_uuid AND latest_metrics.key = ? AND latest_metrics.value > ? AND latest_metrics.is_nan = 0)",
    );
    expect(flat(whereSql("metrics.m != 1", "postgres").text)).toBe(
      "EXISTS (SELECT 1 FROM latest_metrics WHERE latest_metrics.run_uuid = runs.run_uuid AND latest_metrics.key = $1 AND (latest_metrics.value != $2 OR latest_metrics.is_nan = true))",
    );
    expect(flat(whereSql("params.p IS NULL").text)).toBe("NOT EXISTS (SELECT 1 FROM params WHERE params.run_uuid = runs.run_uuid AND params.key = ?)");
    expect(flat(whereSql("tags.t ILIKE 'a%'").text)).toBe("EXISTS (SELECT 1 FROM tags WHERE tags.run_uuid = runs.run_uuid AND tags.key = ? AND lower(tags.value) LIKE lower(?))");
    expect(flat(whereSql("tags.t ILIKE 'a%'", "postgres").text)).toContain("tags.value ILIKE $2");
    expect(flat(whereSql("run_name = 'x'", "postgres").text)).toBe(
      "EXISTS (SELECT 1 FROM tags WHERE tags.run_uuid = runs.run_uuid AND tags.key = 'mlflow.runName' AND tags.value = $1)",
    );
    expect(whereSql("metrics.created > 1").params).toEqual(["start_time", 1]); // translate_key_alias applies to every key
  });

  test("SQLite may read the first equality on a param, tag or run name first (the driver)", () => {
    const filter = parseRunFilter("metrics.m > 1 AND params.p LIKE 'a' AND tags.t = 'x' AND run_name = 'y'");
    const { driver, conditions } = runFilterSql(filter, "sqlite", LAYOUT);
    expect(driver && [driver.table, driver.key, render(driver.on, () => "?").text]).toEqual(["tags", "t", "driver.key = ? AND driver.value = ?"]);
    expect(flat(render(driver!.exists, () => "?").text)).toBe("EXISTS (SELECT 1 FROM tags WHERE tags.run_uuid = runs.run_uuid AND tags.key = ? AND tags.value = ?)");
    expect(conditions.length).toBe(3); // the driving clause is left to the store: `on` or `exists`
    expect(runFilterSql(filter, "postgres", LAYOUT).driver).toBeUndefined();
    expect(runFilterSql(parseRunFilter("metrics.m = 1 AND params.p != 'a'"), "sqlite", LAYOUT).driver).toBeUndefined();
    const byName = runFilterSql(parseRunFilter("run_name = 'y'"), "sqlite", LAYOUT).driver!;
    expect([byName.table, byName.key, render(byName.on, () => "?").text]).toEqual(["tags", "mlflow.runName", "driver.key = 'mlflow.runName' AND driver.value = ?"]);
  });

  test("attributes, lists, datasets", () => {
    expect(whereSql("run_id IN ('a', 'b') AND end_time <= 5").text).toBe("runs.run_uuid IN (?, ?) AND runs.end_time <= ?");
    expect(whereSql("start_time > 1.5", "postgres").text).toBe("runs.start_time > CAST($1 AS double precision)");
    expect(flat(whereSql("dataset.context = 'train'").text)).toBe(
      "EXISTS (SELECT 1 FROM datasets JOIN inputs ON inputs.source_id = datasets.dataset_uuid JOIN input_tags ON input_tags.input_uuid = inputs.input_uuid " +
        "AND input_tags.name = 'mlflow.data.context' AND input_tags.value = ? WHERE inputs.destination_id = runs.run_uuid)",
    );
    expect(flat(whereSql("dataset.digest NOT IN ('x')").text)).toBe(
      "EXISTS (SELECT 1 FROM datasets JOIN inputs ON inputs.source_id = datasets.dataset_uuid WHERE inputs.destination_id = runs.run_uuid AND datasets.digest NOT IN (?))",
    );
  });

  test("binding errors carry the position MLflow's statement gives the parameter", () => {
    const errors = (filter: string, layout = LAYOUT) => runFilterSql(parseRunFilter(filter), "sqlite", layout).bindErrors.map((b) => [b.position, b.error.message]);
    const tuple = (n: number) => `(sqlite3.ProgrammingError) Error binding parameter ${n}: type 'tuple' is not supported`;
    expect(errors("run_id = ('a', 'b')")).toEqual([[3, tuple(3)]]);
    expect(errors("params.p = 'x' AND dataset.name = ('a', 'b') AND run_id LIKE ('c')")).toEqual([[3, tuple(3)], [6, tuple(6)]]);
    expect(errors("start_time > 99999999999999999999999")).toEqual([[3, "Python int too large to convert to SQLite INTEGER"]]);
    expect(errors("run_id = ('a', 'b')", { selectParams: 5, sortJoinParams: 2, experimentIds: 2, stages: 2 })).toEqual([[12, tuple(12)]]);
    expect(runFilterSql(parseRunFilter("run_id = ('a', 'b')"), "postgres", LAYOUT).bindErrors).toEqual([]);
  });
});

describe("order_by", () => {
  const text = (orderBy: string[], dialect: "sqlite" | "postgres" = "sqlite") => {
    const o = runOrderBySql(orderBy, dialect);
    return [o.joins.map((j) => flat(render(j, () => "?").text)), render(o.orderBy, () => "?").text];
  };

  test("missing values last, NaN before missing for metrics; start_time DESC and run_uuid break ties", () => {
    expect(text([])).toEqual([[], "runs.start_time DESC, runs.run_uuid"]);
    expect(text(["metrics.m DESC"])).toEqual([
      ["LEFT OUTER JOIN latest_metrics AS order_1 ON order_1.run_uuid = runs.run_uuid AND order_1.key = ?"],
      "CASE WHEN order_1.is_nan = 1 THEN 1 WHEN order_1.value IS NULL THEN 2 ELSE 0 END, order_1.value DESC, runs.start_time DESC, runs.run_uuid",
    ]);
    expect(text(["params.p", "created"], "postgres")[1]).toBe(
      "CASE WHEN order_1.value IS NULL THEN 1 ELSE 0 END, order_1.value, CASE WHEN runs.start_time IS NULL THEN 1 ELSE 0 END, runs.start_time, runs.run_uuid",
    );
    expect(text(["run_name DESC"])[1]).toBe("CASE WHEN runs.name IS NULL THEN 1 ELSE 0 END, runs.name DESC, runs.start_time DESC, runs.run_uuid");
    expect(parseRunOrderBy("tags.`a b` asc")).toEqual({ type: "tag", key: "a b", ascending: true });
  });

  test("errors", () => {
    const duplicate = new MlflowError("`order_by` contains duplicate fields: ['params.p', 'param.p']", "INTERNAL_ERROR");
    expect(() => runOrderBySql(["params.p", "param.p"], "sqlite")).toThrow(duplicate);
    expect(message(() => runOrderBySql(["start_time", "Created DESC"], "sqlite"))).toBe("`order_by` contains duplicate fields: ['start_time', 'Created DESC']");
    expect(message(() => runOrderBySql(["dataset.name"], "sqlite"))).toBe("Invalid identifier type 'dataset'");
    expect(message(() => runOrderBySql(["run name"], "sqlite"))).toBe("Invalid ordering key in order_by clause 'run name'.");
    expect(message(() => runOrderBySql(["metrics.m sideways"], "sqlite"))).toBe("Invalid ordering key in order_by clause 'metrics.m sideways'.");
    expect(message(() => runOrderBySql(["lifecycle_stage"], "sqlite"))).toBe(
      "Invalid attribute key 'lifecycle_stage' specified. Valid keys are '{'created', 'run_name', 'Created', 'status', 'artifact_uri', 'start_time', 'run_id', 'user_id', 'end_time'}'",
    );
  });
});

describe("sampleIndices: NTILE's bucket heads, and the last row", () => {
  /** MLflow's algorithm, literally: NTILE buckets, first row of each, then the last-row rule. */
  function reference(n: number, max: number): number[] {
    const bucketOf = (i: number) => {
      const q = Math.floor(n / max);
      const r = n % max;
      if (n <= max) return i;
      return i < r * (q + 1) ? Math.floor(i / (q + 1)) : r + Math.floor((i - r * (q + 1)) / q);
    };
    const rows: number[] = [];
    let last = -1;
    for (let i = 0; i < n; i++) {
      if (bucketOf(i) !== last) rows.push(i);
      last = bucketOf(i);
    }
    if (n > 0 && rows[rows.length - 1] !== n - 1) {
      if (rows.length >= max) rows[rows.length - 1] = n - 1;
      else rows.push(n - 1);
    }
    return rows;
  }

  test("matches the reference for every small case", () => {
    for (let n = 0; n <= 60; n++) for (let max = 1; max <= 25; max++) expect(sampleIndices(n, max)).toEqual(reference(n, max));
    expect(sampleIndices(10000, 320)).toEqual(reference(10000, 320));
    expect(sampleIndices(4, 2)).toEqual([0, 3]);
    expect(sampleIndices(5, 1)).toEqual([4]);
  });
});
