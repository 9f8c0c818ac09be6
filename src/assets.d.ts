// Files embedded in the binary by Bun's import attributes.
declare module "*.sql" {
  const text: string; // imported `with { type: "text" }`
  export default text;
}
declare module "swagger-ui-dist/*" {
  const path: string; // imported `with { type: "file" }`: a path Bun.file() reads, embedded when compiled
  export default path;
}
