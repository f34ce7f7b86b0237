/// <reference types="bun-types" />

/**
 * The yardstick on Bun: the same bare forwarder as bench/reference-proxy.ts, on the server and
 * client the relay uses on Bun (Bun.serve and fetch), so that what it adds is the hop alone on
 * that runtime's own stack. The answer's body is handed on as it arrives.
 */
const upstream = process.env.BENCH_UPSTREAM ?? "http://127.0.0.1:1"

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request, self) {
    // As in the relay: no idle limit on a request whose stream is quiet (the idle streams).
    self.timeout(request, 0)
    const url = new URL(request.url)
    const answer = await fetch(`${upstream}${url.pathname}`, {
      method: request.method,
      headers: { "content-type": request.headers.get("content-type") ?? "application/json" },
      body: await request.arrayBuffer()
    })
    return new Response(answer.body, { status: answer.status, headers: { "content-type": answer.headers.get("content-type") ?? "application/json" } })
  }
})

process.stdout.write(`${JSON.stringify({ port: server.port })}\n`)
process.once("SIGTERM", () => process.exit(0))
