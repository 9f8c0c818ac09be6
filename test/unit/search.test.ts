// The search grammar: the sqlparse port, MLflow's SearchUtils / SearchExperimentsUtils on top
// of it, page tokens, the Python pieces they rely on, and the SQL experiments filters become.
// Expected values were produced by the pinned sqlparse 0.6.1 / MLflow 3.18.0 / Python 3.11.
import { describe, expect, test } from "bun:test";
import { MlflowError } from "../../src/errors";
import { experimentFilterSql, experimentOrderBySql, parseExperimentFilter, parseExperimentOrderBy } from "../../src/search/experiments";
import { literalEval } from "../../src/python/literal";
import { b64decode, jsonLoads, PyDict, PyError, pyBytesRepr, pyFloatRepr, pyInt, pyRepr, pyStrRepr, PyTuple, shlexSplit } from "../../src/python/builtins";
import { parse, TokenList, type Token } from "../../src/search/sqlparse";
import { normpath, unquote, urlparse } from "../../src/python/urllib";
import { createPageToken, joinInComparisonTokens, parseOrderByString, parseStartOffset } from "../../src/search/utils";
import { join, render } from "../../src/store/sql";

/** A token tree in one line: Kind[children] for groups, Type"value" for tokens, ws for " ". */
function tree(t: Token): string {
  if (t instanceof TokenList) return `${t.kind}[${t.tokens.map(tree).join(" ")}]`;
  return t.isWhitespace && t.value === " " ? "ws" : `${t.ttype}${JSON.stringify(t.value)}`;
}

function mlflowError(fn: () => unknown): MlflowError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MlflowError);
    return e as MlflowError;
  }
  throw new Error("expected an MlflowError");
}
const message = (fn: () => unknown) => mlflowError(fn).message;

describe("sqlparse port", () => {
  const cases: [string, string[]][] = [
    ["tags.name = 'x'", [`Statement[Comparison[Identifier[Name"tags" Punctuation"." Name"name"] ws Operator.Comparison"=" ws Literal.String.Single"'x'"]]`]],
    ['tags.`a b` = "x"', ['Statement[Comparison[Identifier[Name"tags" Punctuation"." Name"`a b`"] ws Operator.Comparison"=" ws Identifier[Literal.String.Symbol"\\"x\\""]]]']],
    ["name = 'a' OR name = 'b'", [`Statement[Comparison[Identifier[Name"name"] ws Operator.Comparison"=" ws Literal.String.Single"'a'"] ws Keyword"OR" ws Comparison[Identifier[Name"name"] ws Operator.Comparison"=" ws Literal.String.Single"'b'"]]`]],
    ["experiment_id NOT IN ('1','2')", [`Statement[Identifier[Name"experiment_id"] ws Keyword"NOT" ws Keyword"IN" ws Parenthesis[Punctuation"(" IdentifierList[Literal.String.Single"'1'" Punctuation"," Literal.String.Single"'2'"] Punctuation")"]]`]],
    ["tags.x IS NOT NULL", [`Statement[Identifier[Name"tags" Punctuation"." Name"x"] ws Keyword"IS" ws Keyword"NOT NULL"]`]],
    ["creation_time >= -5", [`Statement[Comparison[Identifier[Name"creation_time"] ws Operator.Comparison">=" ws Literal.Number.Integer"-5"]]`]],
    ["name like '%a'", [`Statement[Comparison[Identifier[Name"name"] ws Operator.Comparison"like" ws Literal.String.Single"'%a'"]]`]],
    ["x=1;y=2", [`Statement[Comparison[Identifier[Name"x"] Operator.Comparison"=" Literal.Number.Integer"1"] Punctuation";"]`, `Statement[Comparison[Identifier[Name"y"] Operator.Comparison"=" Literal.Number.Integer"2"]]`]],
    ["name = $$x$$ AND /* c */ f(y) = 1", [`Statement[Identifier[Name"name"] ws Operator.Comparison"=" ws Literal"$$x$$" ws Keyword"AND" ws Comment[Comment.Multiline"/* c */"] ws Comparison[Function[Identifier[Name"f"] Parenthesis[Punctuation"(" Identifier[Name"y"] Punctuation")"]] ws Operator.Comparison"=" ws Literal.Number.Integer"1"]]`]],
    ["é.ключ = 1.5e3", [`Statement[Comparison[Identifier[Name"é" Punctuation"." Name"ключ"] ws Operator.Comparison"=" ws Literal.Number.Float"1.5e3"]]`]],
  ];
  for (const [input, expected] of cases) {
    test(input, () => expect(parse(input).map(tree)).toEqual(expected));
  }

  test("str() of a group is its flattened text; empty input has no statement", () => {
    const [stmt] = parse("tags.`a b`  =  'x'");
    expect(String(stmt!.tokens[0])).toBe("tags.`a b`  =  'x'");
    expect(parse("")).toEqual([]);
    expect(parse("   ")).toEqual([]);
  });

  test("joinInComparisonTokens joins IN, NOT IN, IS NULL, IS NOT NULL and drops top-level whitespace", () => {
    const joined = joinInComparisonTokens(parse("name = 'a' AND experiment_id NOT IN ('1') AND tags.x IS NULL AND tags.y IS NOT NULL")[0]!.tokens);
    expect(joined.map((t) => (t instanceof TokenList ? `${t.kind}(${t.tokens.map((x) => x.value).join("|")})` : t.value))).toEqual([
      "Comparison(name| |=| |'a')", "AND", "Comparison(experiment_id|NOT IN|('1'))", "AND", "Comparison(tags.x|IS NULL)", "AND", "Comparison(tags.y|IS NOT NULL)",
    ]);
  });
});

describe("experiment filters", () => {
  test("clauses: attributes, tags with quoting and backticks, lists, IS NULL", () => {
    const clauses = parseExperimentFilter(
      "name LIKE 'a%' AND attributes.creation_time > 5 AND tags.`my key` != \"v\" AND tags.'q' ILIKE 'x' AND experiment_id IN ('1', '2') AND tags.t IS NOT NULL",
    );
    expect(clauses).toEqual([
      { type: "attribute", key: "name", comparator: "LIKE", value: "a%" },
      { type: "attribute", key: "creation_time", comparator: ">", value: 5n },
      { type: "tag", key: "my key", comparator: "!=", value: "v" },
      { type: "tag", key: "q", comparator: "ILIKE", value: "x" },
      { type: "attribute", key: "experiment_id", comparator: "IN", value: new PyTuple(["1", "2"]) },
      { type: "tag", key: "t", comparator: "IS NOT NULL", value: null },
    ]);
    expect(parseExperimentFilter("")).toEqual([]);
    expect(parseExperimentFilter("name = 'it''s'")[0]!.value).toBe("it''s"); // quotes are only stripped
    expect(parseExperimentFilter("experiment_id IN ('7')")[0]!.value).toEqual(new PyTuple(["7"]));
  });

  test("MLflow's messages for invalid filters", () => {
    const cases: [string, string][] = [
      ["name = 'a' OR name = 'b'", "Invalid clause(s) in filter string: OR"],
      ["(name = 'a')", "Invalid clause(s) in filter string: (name = 'a')"],
      ["name = 'a'; name = 'b'", `Search filter contained multiple expression "name = 'a'; name = 'b'". Provide AND-ed expression list.`],
      ["foo = 'x'", "Invalid attribute key 'foo' specified. Valid keys are '{'creation_time', 'name', 'last_update_time', 'experiment_id'}'"],
      ["params.x = 'x'", "Invalid entity type 'params'. Valid entity types are ('attribute', 'attributes', 'tag', 'tags')"],
      ["name = abc", "Parameter value is either not quoted or unidentified quote types used for string value abc. Use either single or double quotes."],
      ["name = 5", "Expected a quoted string value for attributes. Got value 5"],
      ["tags.x = 5", "Expected a quoted string value for tag (e.g. 'my-value'). Got value 5"],
      ["creation_time = 'x'", "Expected numeric value type for numeric attribute: creation_time. Found 'x'"],
      ["name IN ('a')", "Only ['experiment_id'] attributes support comparison with a list of quoted string values."],
      ["name IS NULL", "IS NULL / IS NOT NULL is only supported for tags, not for attribute 'name'"],
      ["experiment_id IN (1, 'a')", "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: (1, 'a')"],
      ["experiment_id IN ()", "While parsing a list in the query, expected a non-empty list of string values, but got empty list"],
      ["experiment_id IN ('1' '2' ,,)", "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list."],
    ];
    for (const [filter, expected] of cases) expect(message(() => parseExperimentFilter(filter))).toBe(expected);
    const e = mlflowError(() => parseExperimentFilter("experiment_id IN (a)"));
    expect([e.code, e.message]).toEqual(["INTERNAL_ERROR", "malformed node or string on line 1: <ast.Name object at 0x7f0000000000>"]);
  });

  test("clause checks of the SQL builder (_get_search_experiments_filter_clauses)", () => {
    const sqlError = (filter: string) => message(() => experimentFilterSql(parseExperimentFilter(filter), "sqlite"));
    expect(sqlError("experiment_id > '1'")).toBe("Invalid comparator for experiment_id: >");
    expect(sqlError("experiment_id = 'x'")).toBe("Invalid experiment ID 'x'. Experiment ID must be a valid integer.");
    expect(sqlError("name == 'a'")).toBe("Invalid comparator '==' not one of '{'IN', '=', 'NOT IN', 'ILIKE', 'LIKE', '!='}'");
    expect(sqlError("creation_time LIKE 5")).toBe("Invalid comparator 'LIKE' not one of '{'IN', '=', 'NOT IN', 'ILIKE', 'LIKE', '!='}");
    expect(sqlError("creation_time > -1.5")).toBe("Invalid value for numeric attribute 'creation_time': '-1.5'");
    expect(sqlError("tags.x < 'a'")).toBe("Invalid comparator for tag: <");
    // binding failures are reported, not thrown: MLflow meets them only when executing
    const { bindError } = experimentFilterSql(parseExperimentFilter("tags.a = 'b' AND experiment_id = ('1', '2')"), "sqlite");
    expect([bindError?.code, bindError?.message]).toEqual(["BAD_REQUEST", "(sqlite3.ProgrammingError) Error binding parameter 3: type 'tuple' is not supported"]);
    expect(experimentFilterSql(parseExperimentFilter("creation_time > 99999999999999999999"), "sqlite").bindError?.message).toBe("Python int too large to convert to SQLite INTEGER");
    expect(experimentFilterSql(parseExperimentFilter("creation_time > 99999999999999999999"), "postgres").bindError).toBeUndefined();
  });

  test("SQL per dialect: LIKE as is, ILIKE as lower() LIKE lower() on SQLite, tags as EXISTS", () => {
    const where = (filter: string, dialect: "sqlite" | "postgres") =>
      render(join(experimentFilterSql(parseExperimentFilter(filter), dialect).conditions, " AND "), dialect === "sqlite" ? () => "?" : (i) => `$${i}`);
    expect(where("name LIKE 'a%' AND name ILIKE 'b'", "sqlite")).toEqual({ text: "experiments.name LIKE ? AND lower(experiments.name) LIKE lower(?)", params: ["a%", "b"] });
    expect(where("name ILIKE 'b'", "postgres")).toEqual({ text: "experiments.name ILIKE $1", params: ["b"] });
    expect(where("tags.t = 'v' AND tags.u IS NULL", "postgres")).toEqual({
      text:
        "EXISTS (SELECT 1 FROM experiment_tags WHERE experiment_tags.experiment_id = experiments.experiment_id AND experiment_tags.key = $1 AND experiment_tags.value = $2)" +
        " AND NOT EXISTS (SELECT 1 FROM experiment_tags WHERE experiment_tags.experiment_id = experiments.experiment_id AND experiment_tags.key = $3)",
      params: ["t", "v", "u"],
    });
    expect(where("experiment_id IN ('1', ' 2') AND creation_time >= 10", "sqlite")).toEqual({ text: "experiments.experiment_id IN (?, ?) AND experiments.creation_time >= ?", params: [1, 2, 10] });
    // experiment_id is int4 on PostgreSQL: ids beyond it can match nothing
    expect(where("experiment_id = '99999999999'", "postgres").text).toBe("1 = 0");
    expect(where("experiment_id != '99999999999'", "postgres").text).toBe("1 = 1");
    expect(where("experiment_id IN ('99999999999', '3')", "postgres")).toEqual({ text: "experiments.experiment_id IN ($1)", params: [3] });
  });
});

describe("order_by", () => {
  test("parsing", () => {
    expect(parseExperimentOrderBy("name")).toEqual({ type: "attribute", key: "name", ascending: true });
    expect(parseExperimentOrderBy("creation_time DESC")).toEqual({ type: "attribute", key: "creation_time", ascending: false });
    expect(parseExperimentOrderBy("`name` desc")).toEqual({ type: "attribute", key: "name", ascending: false });
    expect(parseExperimentOrderBy("attributes.last_update_time asc")).toEqual({ type: "attribute", key: "last_update_time", ascending: true });
    expect(parseExperimentOrderBy("tags.`a b` DESC")).toEqual({ type: "tag", key: "a b", ascending: false });
    expect(parseOrderByString("timestamp DESC")).toEqual(["timestamp", false]);
  });

  test("errors", () => {
    expect(message(() => parseExperimentOrderBy("name ASC DESC"))).toBe("Invalid order_by clause 'name ASC DESC'. Could not be parsed.");
    expect(message(() => parseExperimentOrderBy("name, experiment_id"))).toBe("Invalid order_by clause 'name, experiment_id'. Could not be parsed.");
    expect(message(() => parseExperimentOrderBy(""))).toBe("Invalid order_by clause ''. Could not be parsed.");
    expect(message(() => parseExperimentOrderBy("name up"))).toBe("Invalid ordering key in order_by clause 'name up'.");
    expect(message(() => experimentOrderBySql(["tags.x"]))).toBe("Invalid order_by entity: tag");
  });

  test("defaults and the experiment_id DESC tie-breaker", () => {
    const text = (orderBy: string[]) => render(experimentOrderBySql(orderBy), () => "?").text;
    expect(text([])).toBe("experiments.creation_time DESC, experiments.experiment_id ASC");
    expect(text(["name"])).toBe("experiments.name ASC, experiments.experiment_id DESC");
    expect(text(["experiment_id DESC", "name"])).toBe("experiments.experiment_id DESC, experiments.name ASC");
  });
});

describe("page tokens", () => {
  test("MLflow's format: base64 of json.dumps({'offset': N})", () => {
    expect(createPageToken(100)).toBe("eyJvZmZzZXQiOiAxMDB9");
    expect(parseStartOffset(createPageToken(100))).toBe(100);
    expect(parseStartOffset(undefined)).toBe(0);
    expect(parseStartOffset(Buffer.from('{"offset": "7"}').toString("base64"))).toBe(7);
    expect(parseStartOffset(Buffer.from('{"offset": 2.9}').toString("base64"))).toBe(2);
  });

  test("invalid tokens", () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    expect(message(() => parseStartOffset("abc"))).toBe("Invalid page token, could not base64-decode");
    expect(message(() => parseStartOffset(b64("nope")))).toBe("Invalid page token, decoded value=b'nope'");
    expect(message(() => parseStartOffset(b64('{"offset": 0}')))).toBe("Invalid page token, parsed value={'offset': 0}");
    expect(message(() => parseStartOffset(b64('{"offset": "x"}')))).toBe("Invalid page token, not stringable x");
    expect(mlflowError(() => parseStartOffset(b64("3"))).code).toBe("INTERNAL_ERROR");
    expect(message(() => parseStartOffset(b64("3")))).toBe("'int' object has no attribute 'get'");
  });
});

describe("Python semantics", () => {
  test("int(), repr(), float repr", () => {
    expect([pyInt(" 42 "), pyInt("1_000"), pyInt("-0"), pyInt("١٢"), pyInt("1__0"), pyInt("0x1"), pyInt("")]).toEqual([42n, 1000n, 0n, 12n, undefined, undefined, undefined]);
    expect(["abc", "it's", 'a"b', "a'b\"c", "\n\t\x00\x7f", "é", "\u200b", "\u{1F600}"].map(pyStrRepr)).toEqual([
      "'abc'", `"it's"`, `'a"b'`, `'a\\'b"c'`, "'\\n\\t\\x00\\x7f'", "'é'", "'\\u200b'", "'\u{1F600}'",
    ]);
    expect([1.5, 1e16, 1e15, 0.0001, 0.00001, 100, 1 / 3].map(pyFloatRepr)).toEqual(["1.5", "1e+16", "1000000000000000.0", "0.0001", "1e-05", "100.0", "0.3333333333333333"]);
    expect(pyRepr(new PyDict([["a", [true, null, 1.5, 2n]], ["b", new PyTuple(["x"])]]))).toBe("{'a': [True, None, 1.5, 2], 'b': ('x',)}");
  });

  test("base64 (non-strict), json.loads, bytes repr", () => {
    expect(pyBytesRepr(b64decode("YW Jj")!)).toBe("b'abc'");
    expect(pyBytesRepr(b64decode("YWJjZA==YWJj")!)).toBe("b'abcd'");
    expect([b64decode("YWJjZA"), b64decode("Y")]).toEqual([undefined, undefined]);
    expect(() => b64decode("é")).toThrow(PyError);
    expect(pyRepr(jsonLoads(new TextEncoder().encode('{"b": 1, "a": [1.0, NaN], "b": 2}'))!)).toBe("{'b': 2, 'a': [1.0, nan]}");
    expect(jsonLoads(new TextEncoder().encode("{} x"))).toBeUndefined();
  });

  test("ast.literal_eval: literals, SyntaxError, ValueError", () => {
    const ev = (s: string) => {
      try {
        return pyRepr(literalEval(s));
      } catch (e) {
        return (e as PyError).type;
      }
    };
    expect(ev("('1', '2')")).toBe("('1', '2')");
    expect(ev("('1')")).toBe("'1'");
    expect(ev("('a' 'b', r'\\n', b'x', -1, 0x10, 1_0.5, None)")).toBe("('ab', '\\\\n', b'x', -1, 16, 10.5, None)");
    expect(ev("('1',, '2')")).toBe("SyntaxError");
    expect(ev("(01)")).toBe("SyntaxError");
    expect(ev("(a, b)")).toBe("ValueError");
    expect(ev("(f(x))")).toBe("ValueError");
  });

  test("shlex.split, urllib.parse, posixpath.normpath", () => {
    expect(shlexSplit('"my name" DESC')).toEqual(["my name", "DESC"]);
    expect(shlexSplit('a\\ b "c\\"d" \'e\\f\'')).toEqual(["a b", 'c"d', "e\\f"]);
    expect(() => shlexSplit('"open')).toThrow("No closing quotation");
    expect(urlparse("s3://b/x;p=1?q#f")).toEqual({ scheme: "s3", netloc: "b", path: "/x;p=1", params: "", query: "q", fragment: "f" });
    expect(urlparse("http:/x;p=1").params).toBe("p=1");
    expect(urlparse("C:\\x").scheme).toBe("c");
    expect(unquote("%E2%82%AC%zz")).toBe("€%zz");
    expect(["", "a/./b", "a/../b", "../x", "//a", "///a"].map(normpath)).toEqual([".", "a/b", "b", "../x", "//a", "/a"]);
  });
});
