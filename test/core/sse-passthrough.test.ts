import { streamReader, webStream } from "../../core/chunk-reader.ts"
import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { passthrough, type PassthroughHooks, type StreamEnd, type StreamInspector } from "../../core/sse/passthrough.ts"
import { concatBytes, cutAt, dec, enc, prng, randomCuts, readAll, sourceOf, tick } from "./stream-helpers.ts"

const FAILURE = enc.encode('data: {"error":{"message":"the upstream stream failed"}}\n\n')

const recordingHooks = () => {
  const log: Array<string> = []
  const ends: Array<StreamEnd> = []
  let firstBytes = 0
  const hooks: PassthroughHooks = {
    firstByte: () => {
      firstBytes++
      log.push("firstByte")
    },
    end: async (end) => {
      ends.push(end)
      log.push(`end:${end.kind}`)
      return undefined
    },
    failureEvent: FAILURE
  }
  return { hooks, log, ends, firstBytes: () => firstBytes }
}

/** Sees every event; keeps all, or filters out those whose text includes `drop`. */
const inspector = (filters: boolean, drop?: string) => {
  const seen: Array<string> = []
  const tap: StreamInspector = {
    filters,
    event(event) {
      const text = dec.decode(event)
      seen.push(text)
      return drop === undefined || !text.includes(drop)
    }
  }
  return { tap, seen }
}

const EVENTS = [
  'data: {"n":1,"t":"héllo"}\n\n',
  'data: {"n":2,"t":"🚀"}\r\n\r\n',
  'data: {"n":3,"DROP":true}\n\n',
  ": comment\n\n",
  'data: {"n":4}\n\n',
  "data: [DONE]\n\n"
]
const STREAM = enc.encode(EVENTS.join(""))
const WITHOUT_DROPPED = EVENTS.filter((e) => !e.includes("DROP")).join("")

describe("passthrough without filtering", () => {
  it("forwards the very same chunk objects and the inspector sees every event", async () => {
    const random = prng(1)
    for (let round = 0; round < 50; round++) {
      const chunks = cutAt(STREAM, randomCuts(STREAM.length, random, 8)).filter((c) => c.length > 0)
      const { tap, seen } = inspector(false)
      const { hooks, ends } = recordingHooks()
      const out = await readAll(passthrough(sourceOf(chunks).reader, tap, hooks))
      assert.equal(out.length, chunks.length)
      for (let i = 0; i < chunks.length; i++) assert.equal(out[i], chunks[i], `chunk ${i} is the same object`)
      assert.deepEqual(seen, EVENTS)
      assert.deepEqual(ends, [{ kind: "complete" }])
    }
  })

  it("forwards every chunk even if the inspector returns false", async () => {
    const chunks = cutAt(STREAM, [10, 40])
    const { tap } = inspector(false, "DROP")
    const out = await readAll(passthrough(sourceOf(chunks).reader, tap, recordingHooks().hooks))
    assert.deepEqual(dec.decode(concatBytes(out)), EVENTS.join(""))
  })

  it("shows the inspector an unterminated last event, and forwards its bytes once", async () => {
    const text = 'data: {"n":1}\n\ndata: {"tail":true}'
    const { tap, seen } = inspector(false)
    const out = await readAll(passthrough(sourceOf(cutAt(enc.encode(text), [5, 20])).reader, tap, recordingHooks().hooks))
    assert.equal(dec.decode(concatBytes(out)), text)
    assert.deepEqual(seen, ['data: {"n":1}\n\n', 'data: {"tail":true}'])
  })
})

describe("passthrough with a filtering inspector", () => {
  it("drops exactly the filtered event, for a split at every byte position", async () => {
    for (let cut = 0; cut <= STREAM.length; cut++) {
      const chunks = cutAt(STREAM, [cut])
      const { tap, seen } = inspector(true, "DROP")
      const { hooks, ends } = recordingHooks()
      const out = await readAll(passthrough(sourceOf(chunks).reader, tap, hooks))
      assert.equal(dec.decode(concatBytes(out)), WITHOUT_DROPPED, `cut at ${cut}`)
      assert.deepEqual(seen, EVENTS, `cut at ${cut}`)
      assert.deepEqual(ends, [{ kind: "complete" }])
      for (const chunk of out) assert.ok(chunk.length > 0, "no empty chunks are sent")
    }
  })

  it("drops exactly the filtered event, for random multi-way splits", async () => {
    const random = prng(42)
    for (let round = 0; round < 300; round++) {
      const chunks = cutAt(STREAM, randomCuts(STREAM.length, random, 12))
      const { tap } = inspector(true, "DROP")
      const out = await readAll(passthrough(sourceOf(chunks).reader, tap, recordingHooks().hooks))
      assert.equal(dec.decode(concatBytes(out)), WITHOUT_DROPPED, `round ${round}`)
    }
  })

  it("forwards an untouched chunk of whole events as the same object", async () => {
    const first = enc.encode(EVENTS[0]! + EVENTS[1]!)
    const second = enc.encode(EVENTS[2]!)
    const third = enc.encode(EVENTS[4]!)
    const { tap } = inspector(true, "DROP")
    const out = await readAll(passthrough(sourceOf([first, second, third]).reader, tap, recordingHooks().hooks))
    assert.equal(out.length, 2)
    assert.equal(out[0], first)
    assert.equal(out[1], third)
  })

  it("sends a kept unterminated last event at the end", async () => {
    const text = 'data: {"n":1}\n\ndata: {"DROP":1}\n\ndata: {"tail":true}'
    const { tap } = inspector(true, "DROP")
    const out = await readAll(passthrough(sourceOf(cutAt(enc.encode(text), [3, 25])).reader, tap, recordingHooks().hooks))
    assert.equal(dec.decode(concatBytes(out)), 'data: {"n":1}\n\ndata: {"tail":true}')
  })

  it("never calls firstByte when every event is filtered out", async () => {
    const { tap } = inspector(true, "data")
    const { hooks, ends, firstBytes } = recordingHooks()
    const out = await readAll(passthrough(sourceOf([enc.encode('data: 1\n\ndata: 2\n\n')]).reader, tap, hooks))
    assert.deepEqual(out, [])
    assert.equal(firstBytes(), 0)
    assert.deepEqual(ends, [{ kind: "complete" }])
  })
})

describe("passthrough end hook", () => {
  it("reports complete exactly once, after the last chunk", async () => {
    const { tap } = inspector(false)
    const { hooks, log } = recordingHooks()
    const stream = webStream(passthrough(sourceOf(cutAt(STREAM, [7, 30])).reader, tap, hooks))
    const reader = stream.getReader()
    let reads = 0
    for (;;) {
      const { done } = await reader.read()
      if (done) break
      reads++
      assert.ok(!log.includes("end:complete"), "not complete while chunks are still coming")
    }
    assert.equal(reads, 3)
    await tick()
    assert.deepEqual(log.filter((e) => e.startsWith("end")), ["end:complete"])
  })

  it("reports aborted and cancels the upstream when the consumer cancels", async () => {
    const source = sourceOf(cutAt(STREAM, [10, 20, 30]))
    const { tap } = inspector(false)
    const { hooks, ends } = recordingHooks()
    const reader = webStream(passthrough(source.reader, tap, hooks)).getReader()
    await reader.read()
    await reader.cancel("client went away")
    await tick()
    assert.deepEqual(ends, [{ kind: "aborted" }])
    assert.deepEqual(source.cancels, ["client went away"])
  })

  it("reports aborted and cancels the upstream when the consumer cancels before reading", async () => {
    const source = sourceOf([STREAM])
    const { tap, seen } = inspector(false)
    const { hooks, ends, firstBytes } = recordingHooks()
    await passthrough(source.reader, tap, hooks).cancel("gone")
    assert.deepEqual(ends, [{ kind: "aborted" }])
    assert.deepEqual(source.cancels, ["gone"])
    assert.equal(source.pulls(), 0)
    assert.equal(firstBytes(), 0)
    assert.deepEqual(seen, [])
  })

  it("reports aborted once when the consumer cancels while a read is waiting on the upstream", async () => {
    let upstreamCancelled = 0
    const upstream = new ReadableStream<Uint8Array>(
      {
        pull: () => new Promise<void>(() => undefined), // never produces
        cancel: () => {
          upstreamCancelled++
        }
      },
      { highWaterMark: 0 }
    )
    const { tap } = inspector(true)
    const { hooks, ends, firstBytes } = recordingHooks()
    const reader = webStream(passthrough(streamReader(upstream), tap, hooks)).getReader()
    const pending = reader.read()
    await tick()
    await reader.cancel()
    const result = await pending
    assert.equal(result.done, true)
    await tick()
    assert.deepEqual(ends, [{ kind: "aborted" }])
    assert.equal(upstreamCancelled, 1)
    assert.equal(firstBytes(), 0)
  })

  for (const filters of [false, true]) {
    it(`reports failed, sends the failure event and closes when the upstream errors (filters=${filters})`, async () => {
      const boom = new Error("connection reset")
      const chunks = [enc.encode(EVENTS[0]!), enc.encode(EVENTS[1]!), enc.encode(EVENTS[4]!)]
      const source = sourceOf(chunks, { failAfter: 2, error: boom })
      const { tap } = inspector(filters)
      const { hooks, ends } = recordingHooks()
      const out = await readAll(passthrough(source.reader, tap, hooks))
      assert.equal(out.length, 3)
      assert.equal(dec.decode(concatBytes(out.slice(0, 2))), EVENTS[0]! + EVENTS[1]!)
      assert.deepEqual(out[2], FAILURE)
      assert.equal(ends.length, 1)
      assert.equal(ends[0]!.kind, "failed")
      assert.equal((ends[0] as { error: unknown }).error, boom)
    })
  }

  it("does not report again when the consumer cancels after completion", async () => {
    const { tap } = inspector(false)
    const { hooks, ends } = recordingHooks()
    const reader = webStream(passthrough(sourceOf([STREAM]).reader, tap, hooks)).getReader()
    while (!(await reader.read()).done) { /* drain */ }
    await reader.cancel()
    assert.deepEqual(ends, [{ kind: "complete" }])
  })
})

describe("passthrough backpressure", () => {
  for (const upstreamHighWaterMark of [0, 1]) {
    it(`reads the upstream only as fast as a slow consumer (upstream highWaterMark ${upstreamHighWaterMark})`, async () => {
      const chunks = Array.from({ length: 20 }, (_, i) => enc.encode(`data: {"n":${i}}\n\n`))
      const source = sourceOf(chunks, { highWaterMark: upstreamHighWaterMark })
      const { tap } = inspector(false)
      const reader = webStream(passthrough(source.reader, tap, recordingHooks().hooks)).getReader()
      await tick()
      await tick()
      assert.ok(source.pulls() <= 1, `nothing read ahead before the consumer asks (pulls ${source.pulls()})`)
      let consumed = 0
      for (;;) {
        const { done } = await reader.read()
        if (done) break
        consumed++
        // A slow consumer: let every pending task run before the next read.
        for (let i = 0; i < 3; i++) await tick()
        assert.ok(source.pulls() <= consumed + 1, `pulls ${source.pulls()} after ${consumed} chunks read`)
        if (upstreamHighWaterMark === 0) assert.equal(source.pulls(), consumed)
      }
      assert.equal(consumed, 20)
    })
  }
})

describe("passthrough firstByte hook", () => {
  it("is called once, before the first chunk reaches the consumer, and not before it asks", async () => {
    const { tap } = inspector(false)
    const { hooks, log, firstBytes } = recordingHooks()
    const reader = webStream(passthrough(sourceOf(cutAt(STREAM, [5, 15, 25])).reader, tap, hooks)).getReader()
    await tick()
    assert.equal(firstBytes(), 0)
    const first = await reader.read()
    assert.equal(first.done, false)
    assert.equal(firstBytes(), 1)
    while (!(await reader.read()).done) { /* drain */ }
    assert.equal(firstBytes(), 1)
    assert.deepEqual(log, ["firstByte", "end:complete"])
  })

  it("an upstream failing before any byte sends only the failure event and reports failed", async () => {
    const { tap } = inspector(false)
    const { hooks, log } = recordingHooks()
    const out = await readAll(passthrough(sourceOf([], { failAfter: 0 }).reader, tap, hooks))
    assert.deepEqual(out, [FAILURE])
    assert.deepEqual(log.filter((e) => e.startsWith("end")), ["end:failed"])
  })
})

describe("passthrough terminal event", () => {
  /** Like `inspector`, and finished once it has seen `data: [DONE]` (as the usage taps are). */
  const finishing = (filters: boolean, drop?: string) => {
    let finished = false
    const tap: StreamInspector = {
      filters,
      event(event) {
        const text = dec.decode(event)
        if (text.includes("[DONE]")) finished = true
        return drop === undefined || !text.includes(drop)
      },
      get finished() {
        return finished
      }
    }
    return tap
  }
  /** Hooks whose settle waits until `settle` is called, with the refusal to give, if any. */
  const slowSettle = () => {
    const ends: Array<StreamEnd> = []
    let settle: (refusal?: Error) => void = () => {}
    const settled = new Promise<Error | undefined>((resolve) => (settle = resolve))
    const hooks: PassthroughHooks = {
      firstByte: () => {},
      end: async (end) => {
        ends.push(end)
        return (await settled) as never
      },
      failureEvent: FAILURE
    }
    return { hooks, ends, settle: (refusal?: Error) => settle(refusal) }
  }
  const BEFORE_DONE = EVENTS.slice(0, -1).join("")

  for (const filters of [false, true]) {
    it(`sends a one-chunk stream's bytes before its terminal event, and settles it on the next read (filters=${filters})`, async () => {
      const { hooks, ends, settle } = slowSettle()
      const reader = webStream(passthrough(sourceOf([STREAM]).reader, finishing(filters), hooks)).getReader()
      const first = await reader.read()
      assert.equal(dec.decode(first.value), BEFORE_DONE, "everything but the terminal event, at once")
      let terminal: string | undefined
      const next = reader.read().then((result) => (terminal = dec.decode(result.value)))
      await tick()
      assert.deepEqual(ends, [{ kind: "complete" }], "the read after those bytes settles the stream")
      assert.equal(terminal, undefined, "the terminal event waits for the settle")
      settle()
      await next
      assert.equal(terminal, "data: [DONE]\n\n")
      assert.equal((await reader.read()).done, true)
      assert.equal(ends.length, 1)
    })
  }

  it("sends the failure event in place of the terminal event when the settle is refused", async () => {
    const { hooks, settle } = slowSettle()
    const chunks = cutAt(STREAM, [20])
    const reader = webStream(passthrough(sourceOf(chunks).reader, finishing(false), hooks)).getReader()
    const out: Array<Uint8Array> = []
    out.push((await reader.read()).value!)
    out.push((await reader.read()).value!)
    settle(new Error("the store refused the record"))
    for (let read = await reader.read(); !read.done; read = await reader.read()) out.push(read.value)
    assert.equal(dec.decode(concatBytes(out)), BEFORE_DONE + dec.decode(FAILURE), "no [DONE]: the failure event instead")
  })

  it("holds from the chunk's start a terminal event that began in an earlier chunk", async () => {
    const { hooks, settle } = slowSettle()
    // Cut inside `data: [DONE]`: its head went out with the first chunk, unfinished.
    const cut = STREAM.length - 5
    const reader = webStream(passthrough(sourceOf(cutAt(STREAM, [cut])).reader, finishing(false), hooks)).getReader()
    assert.equal(dec.decode((await reader.read()).value), dec.decode(STREAM.subarray(0, cut)))
    let second: string | undefined
    const next = reader.read().then((result) => (second = dec.decode(result.value)))
    await tick()
    assert.equal(second, undefined)
    settle()
    await next
    assert.equal(second, dec.decode(STREAM.subarray(cut)))
  })
})
