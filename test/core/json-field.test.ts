import assert from "node:assert/strict"
import { describe, it } from "node:test"
import fc from "fast-check"
import { topLevelField } from "../../core/json-field.ts"
import { USAGE_KEY } from "../../core/sse/events.ts"

const enc = new TextEncoder()
const usageOf = (text: string) => topLevelField(enc.encode(text), USAGE_KEY)

/** What JSON.parse says the body's top-level `usage` is. */
const parsedUsage = (text: string): unknown => {
  const body = JSON.parse(text) as unknown
  return body !== null && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>).usage : undefined
}

// Values that tempt a scanner: the key's text in strings, quotes and backslashes, nested usages.
const tricky = fc.constantFrom(
  "usage", "\"usage\": {", "\\", "\\\"", "say \"usage\": 1", "}", "]", "{\"usage\":", "\\\\\"usage\\\\\":"
)
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.jsonValue({ maxDepth: 2 }),
    tricky,
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom("usage", "model", "data"), fc.string()), tie("value"), { maxKeys: 3 })
  )
})).value

describe("topLevelField", () => {
  it("reads what JSON.parse reads, for any JSON object body and any layout", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(fc.constantFrom("usage", "id", "choices"), fc.string()), value), { maxLength: 6 }),
        fc.constantFrom(undefined, 2, "\t"),
        (fields, indent) => {
          const text = JSON.stringify(Object.fromEntries(fields), null, indent)
          assert.deepEqual(usageOf(text), parsedUsage(text))
        }
      ),
      { numRuns: 2_000 }
    )
  })

  it("takes the top-level field when a nested one comes after it", () => {
    const text = '{"usage":{"prompt_tokens":3},"choices":[{"usage":{"prompt_tokens":99}}]}'
    assert.deepEqual(usageOf(text), { prompt_tokens: 3 })
  })

  it("reads a field far from the end, by parsing the whole body", () => {
    const text = JSON.stringify({ usage: { total_tokens: 5 }, note: "x".repeat(10_000), nested: { usage: 9 } })
    assert.deepEqual(usageOf(text), { total_tokens: 5 })
  })

  it("reads the last of duplicated fields, as JSON.parse does", () => {
    assert.deepEqual(usageOf('{"usage":1,"usage":{"total_tokens":2}}'), { total_tokens: 2 })
  })

  it("is undefined for a body that is not a JSON object, or has no such field", () => {
    assert.equal(usageOf("<html>bad gateway</html>"), undefined)
    assert.equal(usageOf('[{"usage":1}]'), undefined)
    assert.equal(usageOf('{"usage":'), undefined)
    assert.equal(usageOf('{"model":"x"}'), undefined)
    assert.equal(usageOf(""), undefined)
  })

  it("reads the usage at the end of a 3 MB embeddings answer", () => {
    const data = Array.from({ length: 100 }, (_, index) => ({ object: "embedding", index, embedding: Array.from({ length: 1536 }, (_, i) => (i % 7) / 7 - 0.5) }))
    const text = JSON.stringify({ object: "list", data, model: "text-embedding-3-small", usage: { prompt_tokens: 800, total_tokens: 800 } })
    assert.ok(text.length > 2_000_000)
    assert.deepEqual(usageOf(text), { prompt_tokens: 800, total_tokens: 800 })
  })
})
