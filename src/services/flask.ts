// Answers that come from Flask itself rather than from MLflow's handlers.

/**
 * Flask's stock HTML 500 page: what MLflow answers when a Python exception (a ValueError from
 * urllib or int(), say) escapes catch_mlflow_exception. Reproduced where MLflow answers it.
 */
export function flaskInternalServerError(): Response {
  const body =
    "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n" +
    "<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded " +
    "or there is an error in the application.</p>\n";
  return new Response(body, { status: 500, headers: { "content-type": "text/html; charset=utf-8" } });
}
