import assert from "node:assert/strict"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { after, before, describe, it } from "node:test"
import { bytesOf } from "../../core/index.ts"
import { nodeUpstreamHttp } from "../../runtime/node-http.ts"

/**
 * The Node upstream client against a real socket: whole answers arrive as bytes, event streams
 * as they are sent, and a whole answer cut short still resolves (it must not be sent again to
 * another key) with a body that fails to read.
 */
describe("node upstream client", () => {
  let server: Server
  let base = ""
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === "/whole") {
        res.writeHead(200, { "content-type": "application/json", "x-upstream": "yes" })
        res.end(JSON.stringify({ ok: true, echo: req.headers["x-sent"] }))
      } else if (req.url === "/cut") {
        res.writeHead(200, { "content-type": "application/json", "content-length": "100" })
        res.write("{\"partial\":")
        setTimeout(() => res.socket?.destroy(), 20)
      } else {
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.write("data: one\n\n")
        setTimeout(() => res.end("data: two\n\n"), 50)
      }
    })
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(() => new Promise<void>((closed) => server.close(() => closed())))

  const http = nodeUpstreamHttp()

  it("reads a whole answer into bytes, with its status and headers", async () => {
    const response = await http.fetch(`${base}/whole`, { method: "POST", headers: { "x-sent": "hello" }, body: "{}" })
    assert.equal(response.status, 200)
    assert.equal(response.headers.get("x-upstream"), "yes")
    assert.deepEqual(JSON.parse(new TextDecoder().decode(await bytesOf(response))), { ok: true, echo: "hello" })
  })

  it("hands on an event stream chunk by chunk", async () => {
    const response = await http.fetch(`${base}/stream`, { method: "POST", body: "{}" })
    const reader = response.body!.getReader()
    const first = await reader.read()
    assert.equal(new TextDecoder().decode(first.value), "data: one\n\n", "the first event arrives before the second is sent")
    let rest = ""
    for (let part = await reader.read(); !part.done; part = await reader.read()) rest += new TextDecoder().decode(part.value)
    assert.equal(rest, "data: two\n\n")
  })

  it("a whole answer cut short resolves, and reading its body fails", async () => {
    const response = await http.fetch(`${base}/cut`, { method: "POST", body: "{}" })
    assert.equal(response.status, 200)
    await assert.rejects(bytesOf(response))
  })
})
