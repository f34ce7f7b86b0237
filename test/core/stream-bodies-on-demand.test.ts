/**
 * Streamed answers whose Web stream is built only when `body` is read: the mode a server that
 * writes streams from their readers turns on (Node's). It is process-wide, so it has this test
 * file, and so this process, to itself.
 */
import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { buildStreamBodiesOnDemand, ownReaderOf, streamResponse } from "../../core/chunk-reader.ts"
import { countingReader, dec } from "./stream-helpers.ts"

buildStreamBodiesOnDemand()

// Node's fetch classes take their ReadableStream class on first use: the real one, before a
// counting one stands in for it below.
void new Response(new ReadableStream()).body

/** Counts the Web streams made while `run` runs. */
const streamsMadeBy = <A>(run: () => A): { result: A; made: number } => {
  const Original = globalThis.ReadableStream
  let made = 0
  globalThis.ReadableStream = class extends Original<Uint8Array> {
    constructor(...args: ConstructorParameters<typeof ReadableStream<Uint8Array>>) {
      super(...args)
      made++
    }
  } as typeof ReadableStream
  try {
    return { result: run(), made }
  } finally {
    globalThis.ReadableStream = Original
  }
}

describe("streamed answers with bodies on demand", () => {
  it("hand their reader to the server, with status and headers, and build no stream for it", async () => {
    const { reader, reads } = countingReader(["data: 1\n\n"])
    const { result: response, made } = streamsMadeBy(() => streamResponse(reader, { status: 201, headers: { "content-type": "text/event-stream" } }))
    assert.equal(made, 0, "no Web stream is made")
    assert.equal(ownReaderOf(response), reader)
    assert.equal(response.status, 201)
    assert.equal(response.headers.get("content-type"), "text/event-stream")
    await new Promise((resolve) => setTimeout(resolve, 5))
    assert.equal(reads(), 0, "nothing reads the reader until someone asks")
  })

  it("build the stream over the reader when `body` is read, once", async () => {
    const { reader, reads } = countingReader(["a", "b"])
    const response = streamResponse(reader, {})
    const { result: body, made } = streamsMadeBy(() => response.body)
    assert.equal(made, 1)
    assert.ok(body instanceof ReadableStream)
    assert.equal(response.body, body, "the same stream on every read of `body`")
    const web = body.getReader()
    assert.equal(dec.decode((await web.read()).value), "a")
    assert.equal(dec.decode((await web.read()).value), "b")
    assert.equal((await web.read()).done, true)
    assert.equal(reads(), 3)
  })

  it("survive middleware that rebuilds the response from its body", async () => {
    const response = streamResponse(countingReader(["data: 1\n\n", "data: 2\n\n"]).reader, {
      status: 200,
      headers: { "content-type": "text/event-stream" }
    })
    const rebuilt = new Response(response.body, response)
    rebuilt.headers.set("access-control-allow-origin", "https://app.example")
    assert.equal(ownReaderOf(rebuilt), undefined, "the rebuilt response is read through its stream")
    assert.equal(rebuilt.headers.get("content-type"), "text/event-stream")
    assert.equal(await rebuilt.text(), "data: 1\n\ndata: 2\n\n")
  })
})
