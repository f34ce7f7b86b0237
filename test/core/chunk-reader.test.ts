import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { ownReaderOf, readerOf, streamResponse, webStream } from "../../core/chunk-reader.ts"
import { countingReader, dec, enc, readAll, sourceOf } from "./stream-helpers.ts"

describe("chunk readers", () => {
  it("read a Web stream chunk by chunk, the same objects, and pass a cancel on", async () => {
    const chunks = [enc.encode("a"), enc.encode("b")]
    const out = await readAll(sourceOf(chunks).reader)
    assert.equal(out.length, 2)
    assert.equal(out[0], chunks[0], "the very chunk object is handed on")

    const source = sourceOf(chunks)
    source.reader.cancel("gone")
    await new Promise((resolve) => setTimeout(resolve, 0))
    assert.deepEqual(source.cancels, ["gone"])
  })

  it("as a Web stream, are read only when the consumer reads, and cancel with it", async () => {
    const { reader, reads, cancels } = countingReader(["one", "two", "three"])
    const stream = webStream(reader)
    await new Promise((resolve) => setTimeout(resolve, 5))
    assert.equal(reads(), 0, "nothing is read ahead of the consumer")
    const web = stream.getReader()
    assert.equal(dec.decode((await web.read()).value), "one")
    assert.equal(reads(), 1)
    await web.cancel("client left")
    assert.deepEqual(cancels, ["client left"])
  })

  it("as a Web stream, end when the reader ends and fail when it fails", async () => {
    const whole = await new Response(webStream(countingReader(["x", "y"]).reader)).text()
    assert.equal(whole, "xy")
    await assert.rejects(new Response(webStream(countingReader(["x"], { failAt: 1 }).reader)).text(), /source broke/)
  })

  it("a stream response hands its own reader to whoever knows to ask, and a body to anyone else", async () => {
    const own = countingReader(["data: 1\n\n"]).reader
    const response = streamResponse(own, { status: 201, headers: { "content-type": "text/event-stream" } })
    assert.equal(ownReaderOf(response), own)
    assert.equal(readerOf(response), own)
    assert.equal(response.status, 201)
    assert.equal(await streamResponse(countingReader(["a", "b"]).reader, {}).text(), "ab")
  })

  it("any other response is read through its body, and one without a body has no reader", async () => {
    const plain = new Response("hello")
    assert.equal(ownReaderOf(plain), undefined)
    assert.equal(dec.decode((await readAll(readerOf(plain)!))[0]), "hello")
    assert.equal(readerOf(new Response(null, { status: 204 })), undefined)
  })
})
