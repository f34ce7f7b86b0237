import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { appendTopLevel, editTopLevel } from "../../core/json-edit.ts"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const edit = (text: string, edits: Record<string, unknown>) => {
  const out = editTopLevel(encoder.encode(text), new Map(Object.entries(edits)))
  return out === undefined ? undefined : decoder.decode(out)
}

describe("editTopLevel", () => {
  it("rewrites only the fields it is given, keeping every other member as written", () => {
    const text = `{ "model" : "fast", "seed": 9223372036854775807, "messages": [{"role":"user","content":"caf\\u00e9 {\\"}"}],\n "n":1 }`
    assert.equal(
      edit(text, { model: "gpt-4o-mini" }),
      `{"model" : "gpt-4o-mini","seed": 9223372036854775807,"messages": [{"role":"user","content":"caf\\u00e9 {\\"}"}],"n":1}`
    )
  })

  it("adds a field that is not there, and removes one set to undefined", () => {
    assert.equal(edit(`{"a":1,"b":{"c":2}}`, { stream_options: { include_usage: true }, a: undefined }), `{"b":{"c":2},"stream_options":{"include_usage":true}}`)
    assert.equal(edit(`{}`, { model: "m" }), `{"model":"m"}`)
    assert.equal(edit(` { } `, { gone: undefined }), `{}`)
  })

  it("leaves a nested field of the same name alone", () => {
    assert.equal(edit(`{"tools":[{"model":"x"}],"model":"y"}`, { model: "z" }), `{"tools":[{"model":"x"}],"model":"z"}`)
  })

  it("reads a key written with escapes as the key it is, and sets every copy of a duplicated one", () => {
    assert.equal(edit(`{"\\u006dodel":"a","x":true,"model":"b"}`, { model: "c" }), `{"\\u006dodel":"c","x":true,"model":"c"}`)
  })

  it("keeps strings with brackets, colons and escaped backslashes intact", () => {
    const text = `{"stop":["}\\\\", "\\"]:,"],"max_tokens":50000}`
    assert.deepEqual(JSON.parse(edit(text, { max_tokens: 4096 })!), { stop: ["}\\", "\"]:,"], max_tokens: 4096 })
  })

  it("answers undefined for text that is not an object", () => {
    assert.equal(edit(`[1,2]`, { a: 1 }), undefined)
    assert.equal(edit(`{"a":`, { a: 1 }), undefined)
  })
})

describe("appendTopLevel", () => {
  const append = (text: string, fields: Record<string, unknown>) => {
    const out = appendTopLevel(encoder.encode(text), new Map(Object.entries(fields)))
    return out === undefined ? undefined : decoder.decode(out)
  }

  it("adds fields at the end of the object, leaving every byte before them as written", () => {
    assert.equal(
      append(`{"seed": 9223372036854775807, "n":1}\n`, { stream_options: { include_usage: true }, x: "y" }),
      `{"seed": 9223372036854775807, "n":1,"stream_options":{"include_usage":true},"x":"y"}\n`
    )
  })

  it("adds to an empty object without a leading comma", () => {
    assert.equal(append(`{ }`, { a: 1 }), `{ "a":1}`)
    assert.equal(append(`{}`, { a: 1, b: 2 }), `{"a":1,"b":2}`)
  })

  it("answers undefined for text that does not end an object", () => {
    assert.equal(append(`[1]`, { a: 1 }), undefined)
  })
})
