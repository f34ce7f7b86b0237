import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { BodyBudget, parseJsonObject, readArrivedBodyWith, readBody } from "../../core/body.ts"
import { InvalidRequest, PayloadTooLarge, RateLimited, RequestTimeout } from "../../core/errors.ts"
import { MAX_JSON_DEPTH, MAX_JSON_ITEMS } from "../../core/json-limits.ts"

const enc = new TextEncoder()
const dec = new TextDecoder()

/** A POST whose body arrives as `chunks`, without a content-length; counts chunks pulled. */
const streamedRequest = (chunks: ReadonlyArray<Uint8Array>) => {
  let pulled = 0
  let cancelled = false
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[pulled++]
      if (chunk === undefined) controller.close()
      else controller.enqueue(chunk)
    },
    cancel() {
      cancelled = true
    }
  }, { highWaterMark: 0 })
  const request = new Request("http://relay.test/v1/chat/completions", {
    method: "POST",
    body,
    duplex: "half"
  } as RequestInit & { duplex: "half" })
  return { request, pulled: () => pulled, cancelled: () => cancelled }
}

describe("readBody", () => {
  it("reads a small body whole", async () => {
    const request = new Request("http://relay.test/", { method: "POST", body: '{"a":1}' })
    const body = await readBody(request, 1024)
    assert.ok(body instanceof Uint8Array)
    assert.equal(dec.decode(body), '{"a":1}')
  })

  it("takes a body the server holds whole once it has arrived, and reads the request's own until then", async () => {
    const request = new Request("http://relay.test/", { method: "POST", body: '{"from":"request"}', headers: { "content-length": "18" } })
    let held: Uint8Array<ArrayBuffer> | undefined
    readArrivedBodyWith(request, () => held)
    // Not arrived yet: the Web Request's body is read as before.
    const early = await readBody(request, 1024)
    assert.ok(early instanceof Uint8Array)
    assert.equal(dec.decode(early), '{"from":"request"}')
    const again = new Request("http://relay.test/", { method: "POST", body: '{"from":"request"}', headers: { "content-length": "18" } })
    held = enc.encode('{"from":"server"}')
    readArrivedBodyWith(again, () => held)
    const body = await readBody(again, 1024)
    assert.ok(body instanceof Uint8Array)
    assert.equal(dec.decode(body), '{"from":"server"}')
    // A declared length over the limit is refused before anything is read.
    assert.ok((await readBody(again, 4)) instanceof PayloadTooLarge)
  })

  it("accepts a body of exactly the limit", async () => {
    const request = new Request("http://relay.test/", { method: "POST", body: "x".repeat(100) })
    const body = await readBody(request, 100)
    assert.ok(body instanceof Uint8Array)
    assert.equal(body.length, 100)
  })

  it("returns an empty array for a request without a body", async () => {
    const body = await readBody(new Request("http://relay.test/"), 10)
    assert.ok(body instanceof Uint8Array)
    assert.equal(body.length, 0)
  })

  it("refuses a declared content-length over the limit at once, then reads the rest and drops it", async () => {
    const { request, pulled, cancelled } = streamedRequest([enc.encode("x"), enc.encode("y")])
    request.headers.set("content-length", "1001")
    const result = await readBody(request, 1000)
    assert.ok(result instanceof PayloadTooLarge)
    assert.equal(result.status, 413)
    assert.match(result.message, /1000 bytes/)
    // Read on, so that a client still writing its body reaches the answer instead of a broken pipe.
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(pulled(), 3)
    assert.equal(cancelled(), false)
  })

  it("refuses a body over the limit, via its content-length", async () => {
    const request = new Request("http://relay.test/", { method: "POST", body: "x".repeat(101) })
    request.headers.set("content-length", "101")
    assert.ok((await readBody(request, 100)) instanceof PayloadTooLarge)
  })

  it("answers a streamed body as soon as it passes the limit, keeping none of the rest", async () => {
    const chunks = Array.from({ length: 10 }, () => new Uint8Array(40))
    const { request, pulled, cancelled } = streamedRequest(chunks)
    const result = await readBody(request, 100)
    assert.ok(result instanceof PayloadTooLarge)
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(pulled(), 11, "the rest read and dropped")
    assert.equal(cancelled(), false)
  })

  it("gives up on a body that stalls, within its time, with a 408", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(10))
      }
    })
    const request = new Request("http://relay.test/", { method: "POST", body, duplex: "half" } as RequestInit & { duplex: "half" })
    const started = Date.now()
    const result = await readBody(request, 1000, { timeoutMs: 100, minBytesPerSecond: 1024 })
    assert.ok(result instanceof RequestTimeout)
    assert.equal(result.status, 408)
    assert.ok(Date.now() - started < 1_000)
  })

  it("gives up on a declared body that does not arrive in the time its size allows", async () => {
    const stalled = new Request("http://relay.test/", {
      method: "POST",
      headers: { "content-length": "5000" },
      body: new ReadableStream<Uint8Array>({ start: () => undefined }),
      duplex: "half"
    } as RequestInit & { duplex: "half" })
    const started = Date.now()
    const result = await readBody(stalled, 10_000, { timeoutMs: 50, minBytesPerSecond: 100_000 })
    assert.ok(result instanceof RequestTimeout)
    const took = Date.now() - started
    assert.ok(took >= 90 && took < 1_000, `${took} ms: 50 ms plus 5000 bytes at 100,000 bytes/s`)
  })

  it("holds a key's bodies in flight within its budget, and frees them once read", async () => {
    const budget = new BodyBudget(150)
    const owner = { budget, key: "key_a" }
    const pace = { timeoutMs: 1_000, minBytesPerSecond: 1_000_000 }
    const held = new Request("http://relay.test/", {
      method: "POST",
      headers: { "content-length": "100" },
      body: new ReadableStream<Uint8Array>({ start: () => undefined }),
      duplex: "half"
    } as RequestInit & { duplex: "half" })
    const first = readBody(held, 1000, pace, owner)
    const second = new Request("http://relay.test/", { method: "POST", body: "x".repeat(100) })
    const refused = await readBody(second, 1000, pace, owner)
    assert.ok(refused instanceof RateLimited)
    assert.equal(refused.status, 429)
    assert.equal(refused.retryAfterSeconds, 1)
    // Another key has its own budget.
    assert.ok((await readBody(new Request("http://relay.test/", { method: "POST", body: "x".repeat(100) }), 1000, pace, { budget, key: "key_b" })) instanceof Uint8Array)
    assert.ok((await first) instanceof RequestTimeout)
    assert.ok((await readBody(new Request("http://relay.test/", { method: "POST", body: "x".repeat(100) }), 1000, pace, owner)) instanceof Uint8Array)
  })

  it("joins a streamed body of several chunks within the limit", async () => {
    const { request } = streamedRequest([enc.encode('{"model":'), enc.encode('"gpt-4o",'), enc.encode('"x":"é"}')])
    const body = await readBody(request, 1000)
    assert.ok(body instanceof Uint8Array)
    assert.equal(dec.decode(body), '{"model":"gpt-4o","x":"é"}')
  })
})

describe("parseJsonObject", () => {
  it("rejects an empty body", () => {
    const result = parseJsonObject(new Uint8Array())
    assert.ok(result instanceof InvalidRequest)
    assert.match(result.message, /empty/)
  })

  it("rejects invalid JSON", () => {
    const result = parseJsonObject(enc.encode('{"model": '))
    assert.ok(result instanceof InvalidRequest)
    assert.match(result.message, /not valid JSON/)
  })

  for (const [name, text] of [["an array", "[1,2]"], ["null", "null"], ["a string", '"hi"'], ["a number", "42"]] as const) {
    it(`rejects ${name}`, () => {
      const result = parseJsonObject(enc.encode(text))
      assert.ok(result instanceof InvalidRequest)
      assert.match(result.message, /must be a JSON object/)
      assert.equal(result.status, 400)
    })
  }

  it("parses a JSON object", () => {
    const result = parseJsonObject(enc.encode('{"model":"gpt-4o","messages":[{"role":"user","content":"héllo"}]}'))
    assert.deepEqual(result, { model: "gpt-4o", messages: [{ role: "user", content: "héllo" }] })
  })
})

describe("body shape limits", () => {
  const refusal = (text: string) => {
    const parsed = parseJsonObject(new TextEncoder().encode(text))
    return parsed instanceof InvalidRequest ? parsed.message : undefined
  }

  it("accepts nesting up to the limit and refuses one level more, arrays and objects alike", () => {
    const within = `{"a":${"[".repeat(MAX_JSON_DEPTH - 1)}${"]".repeat(MAX_JSON_DEPTH - 1)}}`
    assert.equal(refusal(within), undefined)
    assert.match(refusal(`{"a":${"[".repeat(MAX_JSON_DEPTH)}${"]".repeat(MAX_JSON_DEPTH)}}`) ?? "", /nested more than 128 levels/)
    assert.match(refusal(`${"{\"a\":".repeat(50_000)}1${"}".repeat(50_000)}`) ?? "", /nested/)
  })

  it("refuses an array longer than the limit", () => {
    assert.equal(refusal(JSON.stringify({ input: new Array(MAX_JSON_ITEMS).fill(1) })), undefined)
    assert.match(refusal(JSON.stringify({ input: new Array(MAX_JSON_ITEMS + 1).fill(1) })) ?? "", /more than 100000 items/)
  })
})
