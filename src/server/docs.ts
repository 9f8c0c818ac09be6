// OpenAPI docs: the generated document at /swagger/json and Swagger UI at /swagger, with the
// UI's assets embedded in the binary so the page works with no internet.
import bundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import css from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import preset from "swagger-ui-dist/swagger-ui-standalone-preset.js" with { type: "file" };
import openapi from "../generated/openapi.json";

const PAGE = (prefix: string) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>MLflow REST API (mlflow-bun)</title>
  <link rel="stylesheet" href="${prefix}/swagger/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${prefix}/swagger/swagger-ui-bundle.js"></script>
  <script src="${prefix}/swagger/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "${prefix}/swagger/json",
      dom_id: "#swagger-ui",
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
      deepLinking: true,
    });
  </script>
</body>
</html>`;

const OPENAPI = JSON.stringify(openapi);

const asset = (path: string, type: string) => () =>
  new Response(Bun.file(path), { headers: { "content-type": type, "cache-control": "public, max-age=86400" } });

/** Path → handler for every docs route under the given static prefix. */
export function docsRoutes(prefix: string): Record<string, () => Response> {
  const page = PAGE(prefix);
  return {
    [`${prefix}/swagger`]: () => new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } }),
    [`${prefix}/swagger/json`]: () => new Response(OPENAPI, { headers: { "content-type": "application/json" } }),
    [`${prefix}/swagger/swagger-ui.css`]: asset(css, "text/css"),
    [`${prefix}/swagger/swagger-ui-bundle.js`]: asset(bundle, "text/javascript"),
    [`${prefix}/swagger/swagger-ui-standalone-preset.js`]: asset(preset, "text/javascript"),
  };
}
