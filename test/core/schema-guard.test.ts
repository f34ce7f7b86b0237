import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { Result, Schema } from "effect"
import { parseJsonObject } from "../../core/body.ts"
import { CountTokensRequest, MessagesRequest } from "../../core/surfaces/anthropic-schema.ts"
import { ChatCompletionRequest } from "../../core/surfaces/openai-chat-schema.ts"
import { ResponsesRequest } from "../../core/surfaces/responses.ts"
import { compileGuard } from "../../core/surfaces/schema-guard.ts"
import { fuzzCase, FUZZ_ROUTES } from "../helpers/fuzz-bodies.ts"

/** The request schemas whose decoding the pipeline skips for a body their guard accepts. */
const SCHEMAS = { ChatCompletionRequest, MessagesRequest, CountTokensRequest, ResponsesRequest }

/**
 * Bodies of every proxied route, valid and broken as the fuzz test breaks them, as the relay
 * reads them: what it refuses before any schema looks (not JSON, nested too deep) left out.
 */
const corpus = (() => {
  const bodies: Array<unknown> = FUZZ_ROUTES.flatMap((route) => route.seeds)
  const utf8 = new TextEncoder()
  for (let index = 0; index < 6_000; index++) {
    const body = parseJsonObject(utf8.encode(fuzzCase(7, index).body))
    if (!(body instanceof Error)) bodies.push(body)
  }
  return bodies
})()

/** A request the size agents send: a long history of tool calls, a large system prompt and tools. */
const agentRequest = () => {
  const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i % 97}`).join(" ")
  const messages = Array.from({ length: 60 }, (_, i) => [
    { role: "user", content: [{ type: "tool_result", tool_use_id: `tu_${i}`, content: words(80) }, { type: "text", text: words(20) }] },
    { role: "assistant", content: [{ type: "text", text: words(30) }, { type: "tool_use", id: `tu_${i + 1}`, name: "read", input: { path: "/a/b" } }] }
  ]).flat()
  const tools = Array.from({ length: 20 }, (_, i) => ({ name: `tool_${i}`, description: words(60), input_schema: { type: "object", properties: { path: { type: "string" } } } }))
  return { model: "claude-sonnet-4-6", max_tokens: 8192, stream: true, system: [{ type: "text", text: words(1500) }], tools, messages }
}

describe("request schemas' guards", () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    it(`${name}: accepts exactly what its decoding accepts, over the fuzz corpus`, () => {
      const guard = compileGuard(schema)
      assert.ok(guard !== undefined, "the schema is made of what the guard reads")
      const decode = Schema.decodeUnknownResult(schema as Schema.Codec<unknown, unknown>)
      let accepted = 0
      for (const body of corpus) {
        const decoded = Result.isSuccess(decode(body))
        if (guard(body) !== decoded) assert.fail(`decoding ${decoded ? "accepts" : "refuses"} what the guard does not: ${JSON.stringify(body).slice(0, 300)}`)
        if (decoded) accepted++
      }
      // Both answers occur often enough for the comparison to mean something.
      assert.ok(accepted >= 50 && corpus.length - accepted >= 50, `${accepted} accepted of ${corpus.length}`)
    })
  }

  it("accepts an agent's long request, as decoding does, and refuses it with one field broken deep inside", () => {
    const guard = compileGuard(MessagesRequest)!
    const decode = Schema.decodeUnknownResult(MessagesRequest)
    const body = agentRequest()
    assert.equal(guard(body), true)
    assert.ok(Result.isSuccess(decode(body)))
    const broken = structuredClone(body)
    ;(broken.messages[97]!.content[0] as Record<string, unknown>).type = 7
    assert.equal(guard(broken), false)
    assert.ok(Result.isFailure(decode(broken)))
  })

  it("is not made for a schema it cannot answer for: a transformation, a tuple, a union of exactly one", () => {
    assert.equal(compileGuard(Schema.Struct({ model: Schema.String, n: Schema.NumberFromString })), undefined)
    assert.equal(compileGuard(Schema.Struct({ model: Schema.String, pair: Schema.Tuple([Schema.String, Schema.Number]) })), undefined)
    assert.equal(compileGuard(Schema.Struct({ model: Schema.String, one: Schema.Union([Schema.String, Schema.NonEmptyString], { mode: "oneOf" }) })), undefined)
  })
})
