// The ceiling: a trivial Bun.serve endpoint (what HTTP alone costs on this machine, with the
// same load generator). `bun bench/ceiling.ts PORT`; answers /health and everything else with
// a small JSON body.
const port = Number(process.argv[2] ?? 0);
const body = JSON.stringify({ ok: true });
Bun.serve({
  hostname: "127.0.0.1",
  port,
  fetch: () => new Response(body, { headers: { "content-type": "application/json" } }),
});
