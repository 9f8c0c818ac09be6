// The model registry's search grammar (SearchModelUtils / SearchModelVersionUtils on the sqlparse
// port) and the SQL its clauses become. Expected values and messages are MLflow 3.18.0's.
import { describe, expect, test } from "bun:test";
import { MlflowError } from "../../src/errors";
import { PyTuple } from "../../src/python/builtins";
import {
  isQueryingPrompt, modelFilterSql, modelOrderBy, orderBySql, parseModelFilter, parseVersionFilter, versionFilterSql, versionOrderBy,
} from "../../src/search/registry";
import { join, render } from "../../src/store/sql";

function error(fn: () => unknown): MlflowError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MlflowError);
    return e as MlflowError;
  }
  throw new Error("expected an MlflowError");
}
const message = (fn: () => unknown) => error(fn).message;
const text = (f: Parameters<typeof render>[0]) => render(f, () => "?");

describe("parse: registered models", () => {
  test("attributes and tags, comparators upper-cased, quotes and backticks stripped from keys", () => {
    expect(parseModelFilter("")).toEqual([]);
    expect(parseModelFilter("name = 'a' AND tags.`k.x` like \"v%\" and tag.t != 'x'")).toEqual([
      { type: "attribute", key: "name", comparator: "=", value: "a" },
      { type: "tag", key: "k.x", comparator: "LIKE", value: "v%" },
      { type: "tag", key: "t", comparator: "!=", value: "x" },
    ]);
    expect(parseModelFilter("attribute.name IN ('a', 'b')")).toEqual([{ type: "attribute", key: "name", comparator: "IN", value: new PyTuple(["a", "b"]) }]);
    expect(parseModelFilter("name NOT IN ('a')")).toEqual([{ type: "attribute", key: "name", comparator: "NOT IN", value: new PyTuple(["a"]) }]);
  });

  test("MLflow's messages", () => {
    expect(message(() => parseModelFilter("foo = 'a'"))).toBe("Invalid attribute key 'foo' specified. Valid keys are '{'name'}'");
    expect(message(() => parseModelFilter("`name` = 'a'"))).toBe("Invalid attribute key '`name`' specified. Valid keys are '{'name'}'");
    expect(message(() => parseModelFilter("attributes.name = 'a'"))).toBe("Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')");
    expect(message(() => parseModelFilter("name = 5"))).toBe("Expected a quoted string value or a list of quoted string values for attributes. Got value 5");
    expect(message(() => parseModelFilter("tags.a IN ('a')"))).toBe("Expected a quoted string value for tag (e.g. 'my-value'). Got value ('a')");
    expect(message(() => parseModelFilter("name IS NULL"))).toBe("IS NULL / IS NOT NULL is not supported for registered model search.");
    expect(message(() => parseModelFilter("name = 'a' OR name = 'b'"))).toBe("Invalid clause(s) in filter string: OR");
    expect(message(() => parseModelFilter("name = foo"))).toBe(
      "Parameter value is either not quoted or unidentified quote types used for string value foo. Use either single or double quotes.",
    );
  });
});

describe("parse: model versions", () => {
  test("numeric version_number (int, float kept for the store's check), string attributes, lists for name and run_id", () => {
    expect(parseVersionFilter("version_number >= 2 AND run_id IN ('a') AND source_path LIKE 's3://%'")).toEqual([
      { type: "attribute", key: "version_number", comparator: ">=", value: 2n },
      { type: "attribute", key: "run_id", comparator: "IN", value: new PyTuple(["a"]) },
      { type: "attribute", key: "source_path", comparator: "LIKE", value: "s3://%" },
    ]);
    expect(parseVersionFilter("version_number = 1.5")[0]!.value).toBe(1.5);
    expect(parseVersionFilter("version_number = '3'")[0]!.value).toBe("3");
  });

  test("MLflow's messages", () => {
    expect(message(() => parseVersionFilter("foo = 'a'"))).toBe("Invalid attribute key 'foo' specified. Valid keys are '{'version_number', 'run_id', 'source_path', 'name'}'");
    expect(message(() => parseVersionFilter("name = 5"))).toBe(
      "Only the '{'creation_timestamp', 'last_updated_timestamp', 'version_number'}' attributes support comparison with numeric values.",
    );
    expect(message(() => parseVersionFilter("version_number IN ('1')"))).toBe("Only ['name', 'run_id'] attributes support comparison with a list of quoted string values.");
    expect(message(() => parseVersionFilter("tags.x IS NOT NULL"))).toBe("IS NULL / IS NOT NULL is not supported for model version search.");
  });
});

describe("order_by", () => {
  test("registered models: timestamp means last_updated_time; name is the tie-breaker", () => {
    expect(modelOrderBy([])).toEqual([{ column: "name", ascending: true }]);
    expect(modelOrderBy(["timestamp DESC"])).toEqual([{ column: "last_updated_time", ascending: false }, { column: "name", ascending: true }]);
    expect(modelOrderBy(["name desc", "last_updated_timestamp"])).toEqual([{ column: "name", ascending: false }, { column: "last_updated_time", ascending: true }]);
    expect(message(() => modelOrderBy(["creation_timestamp"]))).toBe("Invalid order by key 'creation_timestamp' specified. Valid keys are '{'timestamp', 'name'}'");
    const dup = error(() => modelOrderBy(["timestamp", "last_updated_timestamp"]));
    expect([dup.code, dup.message]).toEqual(["INTERNAL_ERROR", "`order_by` contains duplicate fields: ['timestamp', 'last_updated_timestamp']"]);
  });

  test("model versions: defaults, tie-breakers, the entity type ignored", () => {
    expect(versionOrderBy([])).toEqual([
      { column: "last_updated_time", ascending: false }, { column: "name", ascending: true }, { column: "version", ascending: false },
    ]);
    expect(versionOrderBy(["tags.version_number ASC"])).toEqual([{ column: "version", ascending: true }, { column: "name", ascending: true }]);
    expect(text(orderBySql("model_versions", versionOrderBy(["creation_timestamp"]))).text).toBe(
      "model_versions.creation_time ASC, model_versions.name ASC, model_versions.version DESC",
    );
    expect(message(() => versionOrderBy(["tags.foo"]))).toBe("Invalid order by key 'foo' specified. Valid keys are {'version_number', 'creation_timestamp', 'last_updated_timestamp', 'name'}");
    expect(message(() => versionOrderBy(["x.name"]))).toBe("Invalid entity type 'x'. Valid entity types are ('attribute', 'attributes', 'tag', 'tags')");
  });
});

describe("filters as SQL", () => {
  test("prompts are excluded unless the first is_prompt clause asks for them (= 'true' or != 'false', any case)", () => {
    const q = (f: string) => isQueryingPrompt(parseModelFilter(f));
    expect(q("tags.`mlflow.prompt.is_prompt` = 'TRUE'")).toBe(true);
    expect(q("tags.`mlflow.prompt.is_prompt` != 'false'")).toBe(true);
    expect(q("tags.`mlflow.prompt.is_prompt` = 'false' AND tags.`mlflow.prompt.is_prompt` = 'true'")).toBe(false);
    expect(q("name = 'x'")).toBe(false);
    const excluded = text(join(modelFilterSql(parseModelFilter("tags.`mlflow.prompt.is_prompt` = 'false'"), "sqlite").conditions, " AND "));
    expect(excluded.text).toContain("NOT EXISTS (SELECT 1 FROM registered_model_tags p");
    expect(excluded.text).not.toContain("EXISTS (SELECT 1 FROM registered_model_tags t"); // the prompt clause itself is dropped
    const asked = text(join(modelFilterSql(parseModelFilter("tags.`mlflow.prompt.is_prompt` = 'true'"), "sqlite").conditions, " AND "));
    expect(asked.text).not.toContain("NOT EXISTS");
    expect(asked.params).toEqual(["default", "mlflow.prompt.is_prompt", "true"]);
  });

  test("one EXISTS per tag key, its conditions AND-ed; ILIKE per dialect; IN lists", () => {
    const clauses = parseModelFilter("tags.k LIKE 'o%' AND tags.k != 'x' AND tags.t ILIKE 'X' AND name IN ('a', 'b')");
    const sqlite = text(join(modelFilterSql(clauses, "sqlite").conditions, " AND "));
    expect(sqlite.text.match(/EXISTS \(SELECT 1 FROM registered_model_tags t/g)!.length).toBe(2);
    expect(sqlite.text).toContain("t.value LIKE ? AND t.value != ?");
    expect(sqlite.text).toContain("lower(t.value) LIKE lower(?)");
    expect(sqlite.text).toContain("registered_models.name IN (?, ?)");
    expect(text(join(modelFilterSql(clauses, "postgres").conditions, " AND ")).text).toContain("t.value ILIKE ?");
  });

  test("the store's comparator and value checks", () => {
    expect(message(() => modelFilterSql(parseModelFilter("name > 'a'"), "sqlite"))).toBe("Invalid comparator for attribute: >");
    expect(message(() => modelFilterSql(parseModelFilter("tags.a > 'a'"), "sqlite"))).toBe("Invalid comparator for tag: >");
    expect(message(() => versionFilterSql(parseVersionFilter("version_number LIKE '1'"), "sqlite"))).toBe("Invalid comparator for attribute version_number: LIKE");
    expect(message(() => versionFilterSql(parseVersionFilter("version_number = 'x'"), "sqlite"))).toBe("Invalid value for numeric attribute 'version_number': 'x'");
    expect(message(() => versionFilterSql(parseVersionFilter("version_number = 1.0"), "sqlite"))).toBe("Invalid value for numeric attribute 'version_number': 1.0");
    expect(message(() => versionFilterSql(parseVersionFilter("source_path > 'a'"), "sqlite"))).toBe("Invalid comparator for attribute: >");
    const v = text(join(versionFilterSql(parseVersionFilter("version_number = ' 2 '"), "postgres").conditions, " AND "));
    expect(v.text).toContain("model_versions.version = CAST(? AS BIGINT)");
    expect(v.params[0]).toBe(2);
  });

  test("a tuple compared without IN: SQLite's binding error names MLflow's parameter position", () => {
    const at = (f: string, parse = parseModelFilter, sqlOf = modelFilterSql) => sqlOf(parse(f), "sqlite").bindError?.message;
    expect(at("name = ('a','b')")).toBe("(sqlite3.ProgrammingError) Error binding parameter 4: type 'tuple' is not supported");
    expect(at("name IN ('x') AND name = ('a')")).toBe("(sqlite3.ProgrammingError) Error binding parameter 5: type 'tuple' is not supported");
    expect(at("tags.x = '1' AND tags.x != '2' AND name LIKE ('a')")).toBe("(sqlite3.ProgrammingError) Error binding parameter 10: type 'tuple' is not supported");
    expect(at("tags.`mlflow.prompt.is_prompt` = 'true' AND name = ('a')")).toBe("(sqlite3.ProgrammingError) Error binding parameter 6: type 'tuple' is not supported");
    expect(at("run_id = ('a','b') and tags.x='1'", parseVersionFilter, versionFilterSql)).toBe(
      "(sqlite3.ProgrammingError) Error binding parameter 9: type 'tuple' is not supported",
    );
    expect(modelFilterSql(parseModelFilter("name = ('a')"), "postgres").bindError).toBeUndefined();
    expect(versionFilterSql(parseVersionFilter("version_number = 99999999999999999999"), "sqlite").bindError?.message).toBe(
      "Python int too large to convert to SQLite INTEGER",
    );
  });
});
