import assert from "node:assert/strict"
import { createServer, request, type Server } from "node:http"
import { connect, type AddressInfo } from "node:net"
import { after, describe, it } from "node:test"
import type { ChunkReader } from "../../core/index.ts"
import { whenClosedEarly, writeChunks } from "../../runtime/node-stream-out.ts"

const enc = new TextEncoder()

/** A server answering every request by writing `reader()` with writeChunks. */
const serve = async (reader: () => ChunkReader) => {
  const server = createServer((_req, res) => {
    void writeChunks(reader(), new Response(null, { status: 200, headers: { "content-type": "text/event-stream", "x-relay": "yes" } }), res)
  })
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening))
  return { server, port: (server.address() as AddressInfo).port }
}

const servers: Array<Server> = []
after(() => Promise.all(servers.map((server) => new Promise((closed) => server.close(closed)))))

/** A reader handing out `chunks`, recording its reads and cancels; `hold` delays the first read. */
const scripted = (chunks: ReadonlyArray<string>, hold?: Promise<void>) => {
  const state = { reads: 0, cancels: [] as Array<unknown> }
  const reader: ChunkReader = {
    read: async () => {
      if (state.reads++ === 0 && hold) await hold
      const chunk = chunks[state.reads - 1]
      return chunk === undefined ? undefined : enc.encode(chunk)
    },
    cancel: (reason) => void state.cancels.push(reason)
  }
  return { reader, state }
}

describe("writing a chunk reader to a node:http response", () => {
  it("sends the head with the first chunk in one write, then every chunk in order", async () => {
    const { server, port } = await serve(() => scripted(["data: one\n\n", "data: two\n\n"]).reader)
    servers.push(server)
    const socket = connect(port, "127.0.0.1")
    socket.write("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    const packets: Array<string> = []
    socket.setEncoding("utf8").on("data", (text: string) => packets.push(text))
    await new Promise((ended) => socket.on("end", ended))
    assert.match(packets[0]!, /^HTTP\/1\.1 200 OK\r\n[\s\S]*x-relay: yes\r\n[\s\S]*\r\n\r\n[0-9a-f]+\r\ndata: one\n\n/, "the first read holds the head and the first chunk")
    assert.match(packets.join(""), /data: one\n\n[\s\S]*data: two\n\n[\s\S]*0\r\n\r\n$/)
  })

  it("sends the head at once when the first chunk is slow, so the client sees its answer begin", async () => {
    let release!: () => void
    const hold = new Promise<void>((resolve) => (release = resolve))
    const { server, port } = await serve(() => scripted(["data: late\n\n"], hold).reader)
    servers.push(server)
    let heldBack = true
    const released = setTimeout(() => {
      heldBack = false
      release()
    }, 3_000)
    const head = await new Promise<{ status: number; heldBack: boolean }>((resolve) => request({ port, host: "127.0.0.1" }, (res) => {
      resolve({ status: res.statusCode!, heldBack })
      res.resume()
    }).end())
    assert.deepEqual(head, { status: 200, heldBack: true }, "the head arrived while the first chunk was still held")
    clearTimeout(released)
    release()
  })

  it("cancels the reader when the client goes away", async () => {
    const endless: ChunkReader & { cancels: Array<unknown> } = {
      cancels: [],
      read: () => new Promise((resolve) => setTimeout(() => resolve(enc.encode("data: tick\n\n")), 5)),
      cancel: (reason) => void endless.cancels.push(reason)
    }
    const { server, port } = await serve(() => endless)
    servers.push(server)
    await new Promise<void>((done) => {
      const req = request({ port, host: "127.0.0.1" }, (res) => {
        res.once("data", () => {
          req.destroy()
          done()
        })
      })
      req.end()
    })
    for (let waited = 0; endless.cancels.length === 0 && waited < 2_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(endless.cancels.length, 1)
  })

  it("cancels the reader when the response is destroyed before its close event has run", async () => {
    const cancels: Array<unknown> = []
    const server = createServer((_req, res) => {
      let reads = 0
      const reader: ChunkReader = {
        read: async () => {
          // The connection breaks between two reads: destroyed now, its close event a tick later.
          if (++reads === 2) res.destroy()
          return enc.encode("data: tick\n\n")
        },
        cancel: (reason) => void cancels.push(reason)
      }
      void writeChunks(reader, new Response(null, { status: 200, headers: { "content-type": "text/event-stream" } }), res)
    })
    servers.push(server)
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening))
    const req = request({ port: (server.address() as AddressInfo).port, host: "127.0.0.1" }, (res) => res.resume())
    req.on("error", () => undefined)
    req.end()
    for (let waited = 0; cancels.length === 0 && waited < 2_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(cancels.length, 1, "the upstream is let go, and the request settles")
  })

  it("reads no faster than the client takes the bytes", async () => {
    const big = "x".repeat(64 * 1024)
    let reads = 0
    const { server, port } = await serve(() => ({ read: async () => (reads++, enc.encode(big)), cancel: () => undefined }))
    servers.push(server)
    const req = request({ port, host: "127.0.0.1" }, (res) => res.pause())
    req.end()
    await new Promise((resolve) => setTimeout(resolve, 300))
    const stalled = reads
    await new Promise((resolve) => setTimeout(resolve, 200))
    req.destroy()
    assert.ok(stalled < 400, `reads stop while the client does not read (${stalled} reads of 64 KiB)`)
    assert.ok(reads - stalled <= 1, `no read while the client is stalled (${reads - stalled} more)`)
  })
})

describe("telling a client gone early from its response", () => {
  /** A server that hands each response to `handle` after `delayMs`, and answers it `answer`. */
  const watched = async (delayMs: number, answer: boolean) => {
    const seen: Array<string> = []
    const server = createServer((_req, res) => {
      setTimeout(() => {
        whenClosedEarly(res, () => seen.push("gone"))
        if (answer) res.end("ok", () => seen.push("answered"))
      }, delayMs)
    })
    servers.push(server)
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening))
    return { seen, port: (server.address() as AddressInfo).port }
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, 150))

  /** Sends a request and hangs up `afterMs` later, before any answer. */
  const leave = async (port: number, afterMs: number) => {
    const req = request({ port, host: "127.0.0.1", method: "POST" })
    req.on("error", () => undefined)
    req.end("{}")
    await new Promise((resolve) => setTimeout(resolve, afterMs))
    req.destroy()
    await settle()
  }

  it("tells of a client that goes away while its answer is awaited", async () => {
    const { seen, port } = await watched(0, false)
    await leave(port, 50)
    assert.deepEqual(seen, ["gone"])
  })

  it("tells of a client that went away before the watch began", async () => {
    const { seen, port } = await watched(80, false)
    await leave(port, 20)
    assert.deepEqual(seen, ["gone"])
  })

  it("says nothing of a client that had its whole answer", async () => {
    const { seen, port } = await watched(0, true)
    await new Promise<void>((done) => {
      request({ port, host: "127.0.0.1" }, (res) => res.resume().on("end", done)).end()
    })
    await settle()
    assert.deepEqual(seen, ["answered"])
  })
})
