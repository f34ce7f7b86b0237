import assert from "node:assert/strict"
import { describe, it } from "node:test"
import fc from "fast-check"
import { asciiPattern, eventData, includesAscii, indexOfAscii, lastIndexOfAscii, SseEventSplitter } from "../../core/sse/events.ts"

const enc = new TextEncoder()
const dec = new TextDecoder()

/** Runs `chunks` through a fresh splitter; returns the decoded events and what is left pending. */
const split = (chunks: ReadonlyArray<Uint8Array>) => {
  const splitter = new SseEventSplitter()
  const events: Array<string> = []
  for (const chunk of chunks) splitter.push(chunk, (event) => events.push(dec.decode(event)))
  const pending = splitter.pending
  return { events, pending: pending === undefined ? undefined : dec.decode(pending) }
}

// A stream mixing LF and CRLF terminators, a comment, multi-byte UTF-8 (é, emoji), multi-line
// data and [DONE].
const EVENTS = [
  ": keep-alive comment\n\n",
  "data: {\"text\":\"café é\"}\n\n",
  "event: message\r\ndata: {\"text\":\"rocket 🚀 and 👩‍🚀\"}\r\n\r\n",
  "data: line one\ndata: line two ü\n\n",
  "data: {\"x\":1}\r\n\r\n",
  "data: [DONE]\n\n"
]
const STREAM = enc.encode(EVENTS.join(""))

describe("SseEventSplitter", () => {
  it("splits a single chunk into whole events, terminators included", () => {
    const { events, pending } = split([STREAM])
    assert.deepEqual(events, EVENTS)
    assert.equal(pending, undefined)
  })

  it("yields the same events for a split at every byte position", () => {
    for (let cut = 0; cut <= STREAM.length; cut++) {
      const { events, pending } = split([STREAM.subarray(0, cut), STREAM.subarray(cut)])
      assert.deepEqual(events, EVENTS, `cut at byte ${cut}`)
      assert.equal(pending, undefined, `cut at byte ${cut}`)
    }
  })

  it("yields the same events for every pair of split positions", () => {
    for (let a = 0; a <= STREAM.length; a += 1) {
      for (let b = a; b <= STREAM.length; b += 3) {
        const { events } = split([STREAM.subarray(0, a), STREAM.subarray(a, b), STREAM.subarray(b)])
        assert.deepEqual(events, EVENTS, `cuts at ${a} and ${b}`)
      }
    }
  })

  it("yields the same events when fed one byte at a time", () => {
    const chunks = Array.from(STREAM, (byte) => Uint8Array.of(byte))
    assert.deepEqual(split(chunks).events, EVENTS)
  })

  it("handles every split inside the \\r\\n\\r\\n terminator", () => {
    const text = "data: a\r\n\r\ndata: b\r\n\r\n"
    const bytes = enc.encode(text)
    const first = text.indexOf("\r\n\r\n")
    for (let cut = first; cut <= first + 4; cut++) {
      const { events } = split([bytes.subarray(0, cut), bytes.subarray(cut)])
      assert.deepEqual(events, ["data: a\r\n\r\n", "data: b\r\n\r\n"], `cut at ${cut}`)
    }
    // And every byte of the terminator in a chunk of its own.
    const pieces = [bytes.subarray(0, first), ...Array.from(bytes.subarray(first, first + 4), (b) => Uint8Array.of(b)), bytes.subarray(first + 4)]
    assert.deepEqual(split(pieces).events, ["data: a\r\n\r\n", "data: b\r\n\r\n"])
  })

  it("keeps multi-byte characters whole when split inside them", () => {
    const text = "data: 🚀\n\n"
    const bytes = enc.encode(text)
    const emojiStart = enc.encode("data: ").length
    for (let cut = emojiStart + 1; cut < emojiStart + 4; cut++) {
      const { events } = split([bytes.subarray(0, cut), bytes.subarray(cut)])
      assert.deepEqual(events, [text])
    }
  })

  it("hands out complete events as views of the incoming chunk, not copies", () => {
    const splitter = new SseEventSplitter()
    const chunk = enc.encode("data: a\n\ndata: b\n\n")
    const got: Array<Uint8Array> = []
    splitter.push(chunk, (event) => got.push(event))
    assert.equal(got.length, 2)
    for (const event of got) assert.equal(event.buffer, chunk.buffer)
    assert.equal(got[0]!.byteOffset, 0)
    assert.equal(got[1]!.byteOffset, "data: a\n\n".length)
  })

  it("carries an unterminated event as pending until its terminator arrives", () => {
    const splitter = new SseEventSplitter()
    const events: Array<string> = []
    const push = (text: string) => splitter.push(enc.encode(text), (event) => events.push(dec.decode(event)))
    assert.equal(splitter.pending, undefined)
    push("data: one\n\ndata: tw")
    assert.deepEqual(events, ["data: one\n\n"])
    assert.equal(dec.decode(splitter.pending!), "data: tw")
    push("o\n")
    assert.deepEqual(events, ["data: one\n\n"])
    assert.equal(dec.decode(splitter.pending!), "data: two\n")
    push("\n")
    assert.deepEqual(events, ["data: one\n\n", "data: two\n\n"])
    assert.equal(splitter.pending, undefined)
  })

  it("pending is a copy that later chunks do not change", () => {
    const splitter = new SseEventSplitter()
    const chunk = enc.encode("data: x")
    splitter.push(chunk, () => assert.fail("no event expected"))
    chunk.fill(0)
    assert.equal(dec.decode(splitter.pending!), "data: x")
  })

  // Lines may also end with a lone CR (WHATWG HTML, event stream interpretation), and a stream
  // may mix all three endings; this one shows a lone CR from its first event.
  const CR_EVENTS = [
    "data: {\"cr\":\"only 🚀\"}\r\r",
    ...EVENTS.slice(0, -1),
    "event: message\rdata: one\rdata: two\r\r",
    ": comment\r\r",
    "data: {\"line\":\"cr\"}\r\r\n",
    "data: {\"line\":\"lf\"}\n\r",
    "data: [DONE]\r\r"
  ]
  const CR_STREAM = enc.encode(CR_EVENTS.join(""))

  // The last event's CR could yet be the first half of a CRLF: it waits, pending, for the end.
  const CR_SPLIT = { events: CR_EVENTS.slice(0, -1), pending: CR_EVENTS.at(-1) }

  it("ends lines at a lone CR too, for a split at every byte position and byte by byte", () => {
    assert.deepEqual(split([CR_STREAM]), CR_SPLIT)
    for (let cut = 0; cut <= CR_STREAM.length; cut++) {
      assert.deepEqual(split([CR_STREAM.subarray(0, cut), CR_STREAM.subarray(cut)]), CR_SPLIT, `cut at ${cut}`)
    }
    assert.deepEqual(split(Array.from(CR_STREAM, (byte) => Uint8Array.of(byte))), CR_SPLIT)
  })

  it("ends lines at a lone CR for every pair of split positions", () => {
    for (let a = 0; a <= CR_STREAM.length; a += 2) {
      for (let b = a; b <= CR_STREAM.length; b += 5) {
        const cuts = [CR_STREAM.subarray(0, a), CR_STREAM.subarray(a, b), CR_STREAM.subarray(b)]
        assert.deepEqual(split(cuts), CR_SPLIT, `cuts at ${a} and ${b}`)
      }
    }
  })

  it("ends lines at a lone CR once a stream that began with LFs turns to them", () => {
    const chunks = ["data: a\n\n", "data: b\r\r", "data: c\r\rdata: d\n\n"].map((text) => enc.encode(text))
    assert.deepEqual(split(chunks).events, ["data: a\n\n", "data: b\r\r", "data: c\r\r", "data: d\n\n"])
  })

  it("waits for the byte after a blank line's CR, which may be its LF", () => {
    const splitter = new SseEventSplitter()
    const events: Array<string> = []
    const push = (text: string) => splitter.push(enc.encode(text), (event) => events.push(dec.decode(event)))
    push("data: a\r\r")
    assert.deepEqual(events, [])
    assert.equal(dec.decode(splitter.pending!), "data: a\r\r")
    push("data: b\r\r\n")
    assert.deepEqual(events, ["data: a\r\r", "data: b\r\r\n"])
    assert.equal(splitter.pending, undefined)
  })

  it("copies a long event's bytes a bounded number of times, however many chunks it spans", () => {
    // The work is counted, not timed: a time limit would be flaky on a busy machine and blind
    // to a slowdown it tolerates. The splitter copies bytes only with Uint8Array's set and
    // slice (concatChunks included), so those two are wrapped for the length of the pushes.
    const piece = enc.encode("x".repeat(1024))
    const chunks = [enc.encode("data: "), ...Array.from({ length: 500 }, () => piece), enc.encode("\n"), enc.encode("\n")]
    const total = chunks.reduce((n, chunk) => n + chunk.length, 0)
    const { set, slice } = Uint8Array.prototype
    let copied = 0
    Uint8Array.prototype.set = function (this: Uint8Array, source: ArrayLike<number>, offset?: number) {
      copied += source.length
      return set.call(this, source, offset)
    }
    Uint8Array.prototype.slice = function (this: Uint8Array, start?: number, end?: number) {
      const out = slice.call(this, start, end)
      copied += out.length
      return out
    }
    const events: Array<Uint8Array> = []
    const splitter = new SseEventSplitter()
    try {
      for (const chunk of chunks) splitter.push(chunk, (event) => events.push(event))
    } finally {
      Uint8Array.prototype.set = set
      Uint8Array.prototype.slice = slice
    }
    assert.equal(events.length, 1)
    assert.equal(dec.decode(events[0]), `data: ${"x".repeat(500 * 1024)}\n\n`)
    // Once out of its chunk, once into the event; joining at every chunk copied ~500 times the event.
    assert.ok(copied <= 2 * total, `${copied} bytes copied for an event of ${total}`)
  })

  it("does not call onEvent for an empty chunk", () => {
    const splitter = new SseEventSplitter()
    let calls = 0
    splitter.push(new Uint8Array(), () => calls++)
    assert.equal(calls, 0)
    assert.equal(splitter.pending, undefined)
  })

  it("a single newline between data lines is not a boundary", () => {
    const { events, pending } = split([enc.encode("data: a\ndata: b\n")])
    assert.deepEqual(events, [])
    assert.equal(pending, "data: a\ndata: b\n")
  })
})

describe("includesAscii", () => {
  const has = (text: string, pattern: string) => includesAscii(enc.encode(text), asciiPattern(pattern))

  it("finds a pattern at the start, middle and end", () => {
    assert.equal(has('"usage":{"a":1}', '"usage":{'), true)
    assert.equal(has('x "usage":{ y', '"usage":{'), true)
    assert.equal(has('abc"usage":{', '"usage":{'), true)
  })

  it("reports absence, a truncated pattern, and a pattern longer than the bytes", () => {
    assert.equal(has('"usage":null', '"usage":{'), false)
    assert.equal(has('"usage":', '"usage":{'), false)
    assert.equal(has("da", "data:"), false)
    assert.equal(has("", "data:"), false)
  })

  it("finds a pattern searched by a byte other than its first, and not before `from`", () => {
    const usage = asciiPattern('"usage"')
    assert.notEqual(usage.anchor, 0, "searched by a rarer byte than the quote")
    const bytes = enc.encode('{"a":"g","usage":null,"usage":{}}')
    assert.equal(indexOfAscii(bytes, usage), 9)
    assert.equal(indexOfAscii(bytes, usage, 10), 22)
    assert.equal(indexOfAscii(bytes, usage, 23), -1)
    assert.equal(indexOfAscii(enc.encode('"usag'), usage), -1)
  })

  it("agrees with a plain search on any bytes, pattern and start", () => {
    const naive = (bytes: Uint8Array, pattern: Uint8Array, from: number) => {
      outer: for (let i = from; i + pattern.length <= bytes.length; i++) {
        for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer
        return i
      }
      return -1
    }
    // A small alphabet, so that partial matches and repeats are common.
    const text = (max: number) => fc.string({ unit: fc.constantFrom("a", "g", '"', ":", "u", " ", "\n"), maxLength: max })
    fc.assert(fc.property(text(60), text(5).filter((p) => p.length > 0), fc.nat(70), (haystack, needle, from) => {
      assert.equal(indexOfAscii(enc.encode(haystack), asciiPattern(needle), from), naive(enc.encode(haystack), enc.encode(needle), from))
    }), { numRuns: 2_000 })
  })

  it("finds the last place of a pattern as a plain search from the end does", () => {
    const text = (max: number) => fc.string({ unit: fc.constantFrom("a", "g", '"', ":", "u", " ", "\n"), maxLength: max })
    fc.assert(fc.property(text(60), text(5).filter((p) => p.length > 0), (haystack, needle) => {
      assert.equal(lastIndexOfAscii(enc.encode(haystack), asciiPattern(needle)), haystack.lastIndexOf(needle))
    }), { numRuns: 2_000 })
  })

  it("handles a partial match followed by the full one", () => {
    assert.equal(has("dadata:", "data:"), true)
    assert.equal(has("datdata: x", "data:"), true)
  })
})

describe("eventData", () => {
  const data = (text: string) => eventData(enc.encode(text))

  it("returns the payload of a data line, with or without the space after the colon", () => {
    assert.equal(data('data: {"a":1}\n\n'), '{"a":1}')
    assert.equal(data('data:{"a":1}\n\n'), '{"a":1}')
  })

  it("drops only one leading space", () => {
    assert.equal(data("data:  two\n\n"), " two")
  })

  it("returns undefined for [DONE]", () => {
    assert.equal(data("data: [DONE]\n\n"), undefined)
    assert.equal(data("data: [DONE]\r\n\r\n"), undefined)
  })

  it("returns undefined for comments and events without data", () => {
    assert.equal(data(": ping\n\n"), undefined)
    assert.equal(data("event: ping\n\n"), undefined)
  })

  it("joins multi-line data with newlines, ignoring other fields", () => {
    assert.equal(data("event: x\ndata: one\n: note\ndata: two\nid: 7\n\n"), "one\ntwo")
    assert.equal(data("data: one\r\ndata: two\r\n\r\n"), "one\ntwo")
  })

  it("reads lines ended by a lone CR", () => {
    assert.equal(data("event: x\rdata: one\r: note\rdata: two\r\r"), "one\ntwo")
    assert.equal(data("data: [DONE]\r\r"), undefined)
  })

  it("decodes multi-byte UTF-8", () => {
    assert.equal(data('data: {"t":"é🚀"}\n\n'), '{"t":"é🚀"}')
  })

  it("keeps an empty data value", () => {
    assert.equal(data("data:\n\n"), "")
  })
})
