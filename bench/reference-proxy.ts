import { Agent, createServer, request } from "node:http"
import type { AddressInfo } from "node:net"

/**
 * The benchmark's yardstick: the least a relay can do, a plain node:http forwarder with a
 * keep-alive pool and no parsing, authentication, accounting or logging. What it adds over
 * calling the mock directly is what the extra hop itself costs on this machine (a third busy
 * process on the same cores, two more socket writes and wake-ups), so the relay's own cost is
 * its figures minus these. It runs on Node and on Deno, whose relay serves and calls upstream
 * through node:http too; Bun's is bench/reference-proxy-bun.ts.
 */
const upstream = new URL(process.env.BENCH_UPSTREAM ?? "http://127.0.0.1:1")
const agent = new Agent({ keepAlive: true })

const server = createServer((req, res) => {
  const parts: Array<Buffer> = []
  req.on("data", (part: Buffer) => parts.push(part))
  req.on("end", () => {
    const body = Buffer.concat(parts)
    const forward = request({
      agent,
      host: upstream.hostname,
      port: upstream.port,
      path: req.url,
      method: req.method,
      headers: { "content-type": req.headers["content-type"] ?? "application/json", "content-length": body.length }
    }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { "content-type": answer.headers["content-type"] ?? "application/json" })
      answer.pipe(res)
    })
    forward.on("error", () => res.destroy())
    forward.end(body)
  })
})

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
})
process.once("SIGTERM", () => process.exit(0))
