import assert from "node:assert/strict"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { after, before, describe, it } from "node:test"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { bytesOf, ownReaderOf, readerOf } from "../../core/index.ts"
import { nodeUpstreamHttp } from "../../runtime/node-http.ts"

// A full collection on demand, without starting the test runner with --expose-gc.
setFlagsFromString("--expose-gc")
const collectGarbage = runInNewContext("gc") as () => void

/**
 * The Node upstream client against a real socket: whole answers arrive as bytes, event streams
 * as they are sent, and a whole answer cut short still resolves (it must not be sent again to
 * another key) with a body that fails to read.
 */
describe("node upstream client", () => {
  let server: Server
  let base = ""
  let closedStreams = 0
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === "/whole") {
        res.writeHead(200, { "content-type": "application/json", "x-upstream": "yes" })
        res.end(JSON.stringify({ ok: true, echo: req.headers["x-sent"] }))
      } else if (req.url === "/in-parts") {
        // A whole answer whose body comes after its head, in two packets.
        res.writeHead(200, { "content-type": "application/json" })
        res.flushHeaders()
        setTimeout(() => res.write("{\"parts\":"), 10)
        setTimeout(() => res.end("2}"), 20)
      } else if (req.url === "/stream-cut") {
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.write("data: one\n\n")
        setTimeout(() => res.socket?.destroy(), 20)
      } else if (req.url === "/endless") {
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.write("data: one\n\n")
        const timer = setInterval(() => res.write("data: more\n\n"), 5)
        res.on("close", () => {
          clearInterval(timer)
          closedStreams++
        })
      } else if (req.url === "/silent") {
        // Never answers.
      } else if (req.url === "/failing-stream") {
        // An error answer sent as an event stream that never ends.
        res.writeHead(500, { "content-type": "text/event-stream" })
        res.write("data: {\"error\":{\"message\":\"busy\"}}\n\n")
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
  const fetch = (url: string, init: RequestInit) => http.send(url, init).response

  it("reads a whole answer into bytes, with its status and headers", async () => {
    const response = await fetch(`${base}/whole`, { method: "POST", headers: { "x-sent": "hello" }, body: "{}" })
    assert.equal(response.status, 200)
    assert.equal(response.headers.get("x-upstream"), "yes")
    assert.deepEqual(JSON.parse(new TextDecoder().decode(await bytesOf(response))), { ok: true, echo: "hello" })
  })

  it("hands on an event stream chunk by chunk", async () => {
    const response = await fetch(`${base}/stream`, { method: "POST", body: "{}" })
    const reader = readerOf(response)!
    assert.equal(new TextDecoder().decode(await reader.read()), "data: one\n\n", "the first event arrives before the second is sent")
    let rest = ""
    for (let part = await reader.read(); part !== undefined; part = await reader.read()) rest += new TextDecoder().decode(part)
    assert.equal(rest, "data: two\n\n")
  })

  it("reads a whole answer whose body arrives after its head", async () => {
    const response = await fetch(`${base}/in-parts`, { method: "POST", body: "{}" })
    assert.deepEqual(JSON.parse(new TextDecoder().decode(await bytesOf(response))), { parts: 2 })
  })

  it("gives the streaming core the event stream's own reader, with no Web stream in between", async () => {
    const response = await fetch(`${base}/stream`, { method: "POST", body: "{}" })
    const reader = ownReaderOf(response)
    assert.ok(reader, "the response carries its own chunk reader")
    const chunks: Array<string> = []
    for (let chunk = await reader.read(); chunk !== undefined; chunk = await reader.read()) chunks.push(new TextDecoder().decode(chunk))
    assert.deepEqual(chunks, ["data: one\n\n", "data: two\n\n"])
  })

  it("an event stream cut short fails the read after the chunks that came", async () => {
    const reader = ownReaderOf(await fetch(`${base}/stream-cut`, { method: "POST", body: "{}" }))!
    assert.equal(new TextDecoder().decode(await reader.read()), "data: one\n\n")
    await assert.rejects(reader.read(), /closed the response before its end/)
  })

  it("cancelling an event stream's reader closes the upstream connection", async () => {
    const before = closedStreams
    const reader = ownReaderOf(await fetch(`${base}/endless`, { method: "POST", body: "{}" }))!
    await reader.read()
    reader.cancel("client went away")
    assert.equal(await reader.read(), undefined, "a cancelled reader reads as ended")
    for (let waited = 0; closedStreams === before && waited < 2_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(closedStreams, before + 1, "the upstream saw its response closed")
  })

  it("an open stream keeps neither the request body, the upstream Response nor its headers", async () => {
    let body: Uint8Array<ArrayBuffer> | undefined = new Uint8Array(1 << 20)
    const sent = new WeakRef(body)
    let response: Response | undefined = await fetch(`${base}/endless`, { method: "POST", body })
    body = undefined
    const answered = new WeakRef(response)
    const headers = new WeakRef(response.headers)
    const reader = ownReaderOf(response)!
    response = undefined
    const held = () => [sent, answered, headers].some((ref) => ref.deref() !== undefined)
    try {
      assert.equal(new TextDecoder().decode(await reader.read()), "data: one\n\n")
      for (let i = 0; i < 5 && held(); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10))
        collectGarbage()
      }
      assert.equal(sent.deref(), undefined, "the 1 MiB request body was let go once sent")
      assert.equal(answered.deref(), undefined, "the Response was let go; its reader streams on")
      assert.equal(headers.deref(), undefined, "the upstream's headers were let go")
      assert.equal(new TextDecoder().decode(await reader.read()), "data: more\n\n", "the stream is still open")
    } finally {
      reader.cancel("done")
    }
  })

  it("aborting stops a request still waiting for its head, and an error answer's body", async () => {
    const waiting = http.send(`${base}/silent`, { method: "POST", body: "{}" })
    setTimeout(() => waiting.abort(), 20)
    await assert.rejects(waiting.response)
    const failing = http.send(`${base}/failing-stream`, { method: "POST", body: "{}" })
    const response = await failing.response
    assert.equal(response.status, 500)
    const reading = bytesOf(response)
    setTimeout(() => failing.abort(), 20)
    await assert.rejects(reading)
  })

  it("a whole answer cut short resolves, and reading its body fails", async () => {
    const response = await fetch(`${base}/cut`, { method: "POST", body: "{}" })
    assert.equal(response.status, 200)
    await assert.rejects(bytesOf(response))
  })
})
