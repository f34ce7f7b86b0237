import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { Effect } from "effect"
import type { ModelEntry } from "../../core/catalog.ts"
import { RequestContext } from "../../core/context.ts"
import type { ResponseEnd } from "../../core/endpoint.ts"
import { InvalidRequest } from "../../core/errors.ts"
import { chatCompletions, openAIChatLeg } from "../../core/surfaces/openai-chat.ts"

const makeCtx = (body: Record<string, unknown> = {}) => {
  const ctx = new RequestContext("req_1", "openai", "/chat/completions", new Request("http://x/"), false)
  ctx.body = body
  ctx.rawBody = new TextEncoder().encode(JSON.stringify(body))
  return ctx
}

/** The body the relay sends upstream, parsed. */
const sent = (ctx: RequestContext) => {
  const body = ctx.upstreamBody()
  return JSON.parse(typeof body === "string" ? body : new TextDecoder().decode(body)) as Record<string, unknown>
}

const USER = [{ role: "user", content: "Hi" }]

describe("chatCompletions.decode", () => {
  it("accepts a valid body and sets model and stream", () => {
    const body = { model: "gpt-4o", messages: USER, stream: true, temperature: 0.2, extra_field: { kept: true } }
    const ctx = makeCtx(body)
    assert.equal(chatCompletions.decode(ctx, body), undefined)
    assert.equal(ctx.model, "gpt-4o")
    assert.equal(ctx.stream, true)
    assert.equal(ctx.upstreamBody(), ctx.rawBody, "the client's own bytes go upstream")
  })

  it("treats a missing or null stream as not streaming", () => {
    for (const stream of [undefined, null, false]) {
      const body = { model: "gpt-4o", messages: USER, ...(stream === undefined ? {} : { stream }) }
      const ctx = makeCtx(body)
      assert.equal(chatCompletions.decode(ctx, body), undefined)
      assert.equal(ctx.stream, false)
    }
  })

  it("accepts content parts, tool calls and tool messages", () => {
    const body = {
      model: "gpt-4o",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: [{ type: "text", text: "hi" }, { type: "image_url", image_url: { url: "data:" } }] },
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "c1", content: "42" }
      ],
      tools: [{ type: "function", function: { name: "f" } }]
    }
    assert.equal(chatCompletions.decode(makeCtx(body), body), undefined)
  })

  const invalid = (body: Record<string, unknown>) => {
    const error = chatCompletions.decode(makeCtx(body), body)
    assert.ok(error instanceof InvalidRequest, `expected InvalidRequest, got ${String(error)}`)
    return error
  }

  it("a missing model is an error at param model", () => {
    const error = invalid({ messages: USER })
    assert.equal(error.param, "model")
    assert.equal(error.status, 400)
    assert.match(error.message, /^model: /)
  })

  it("an empty model is an error at param model", () => {
    assert.equal(invalid({ model: "", messages: USER }).param, "model")
  })

  it("a role of the wrong type is an error at messages[0].role", () => {
    assert.equal(invalid({ model: "gpt-4o", messages: [{ role: 5, content: "x" }] }).param, "messages[0].role")
  })

  it("an unknown role is an error at its index", () => {
    assert.equal(invalid({ model: "gpt-4o", messages: [...USER, { role: "robot", content: "x" }] }).param, "messages[1].role")
  })

  it("max_tokens 0 is an error at max_tokens", () => {
    assert.equal(invalid({ model: "gpt-4o", messages: USER, max_tokens: 0 }).param, "max_tokens")
  })

  it("a fractional max_tokens is an error at max_tokens", () => {
    assert.equal(invalid({ model: "gpt-4o", messages: USER, max_tokens: 1.5 }).param, "max_tokens")
  })

  it("stream must be a boolean", () => {
    assert.equal(invalid({ model: "gpt-4o", messages: USER, stream: "yes" }).param, "stream")
  })

  it("an empty messages array is an error at messages", () => {
    assert.equal(invalid({ model: "gpt-4o", messages: [] }).param, "messages")
  })
})

const entry = (fields: Partial<ModelEntry> = {}): ModelEntry => ({ id: "fast", provider: "openai", ...fields })

/** A context as the pipeline hands it to prepare: decoded, with a target. */
const prepared = (body: Record<string, unknown>, target: { upstreamModel?: string; entry?: ModelEntry } = {}) => {
  const ctx = makeCtx(body)
  assert.equal(chatCompletions.decode(ctx, body), undefined)
  const resolved = Object.assign(ctx, {
    target: {
      id: ctx.model,
      provider: "openai",
      upstreamModel: target.upstreamModel ?? ctx.model,
      entry: target.entry
    }
  })
  openAIChatLeg.prepare(resolved)
  return resolved
}

describe("openAIChatLeg.prepare", () => {
  it("leaves a plain non-streaming request unchanged", () => {
    const ctx = prepared({ model: "gpt-4o", messages: USER, max_tokens: 100 }, { entry: entry({ id: "gpt-4o", maxOutputTokens: 1000 }) })
    assert.equal(ctx.upstreamBody(), ctx.rawBody, "the client's own bytes go upstream")
    assert.equal(ctx.body.max_tokens, 100)
    assert.equal(ctx.body.stream_options, undefined)
  })

  it("rewrites an alias to the upstream model name", () => {
    const ctx = prepared({ model: "fast", messages: USER }, { upstreamModel: "gpt-4o-mini", entry: entry({ upstream: "gpt-4o-mini" }) })
    assert.equal(ctx.body.model, "gpt-4o-mini")
    assert.equal(ctx.model, "fast", "the client's name is kept for the response")
    assert.deepEqual(sent(ctx), ctx.body)
  })

  it("clamps max_tokens and max_completion_tokens to the entry's maxOutputTokens", () => {
    const ctx = prepared(
      { model: "fast", messages: USER, max_tokens: 50_000, max_completion_tokens: 9_000 },
      { entry: entry({ maxOutputTokens: 4_096 }) }
    )
    assert.equal(ctx.body.max_tokens, 4_096)
    assert.equal(ctx.body.max_completion_tokens, 4_096)
    assert.deepEqual(sent(ctx), ctx.body)
  })

  it("keeps a max_tokens at or below the cap", () => {
    const ctx = prepared({ model: "fast", messages: USER, max_tokens: 4_096 }, { entry: entry({ maxOutputTokens: 4_096 }) })
    assert.equal(ctx.body.max_tokens, 4_096)
    assert.equal(ctx.upstreamBody(), ctx.rawBody, "the client's own bytes go upstream")
  })

  it("does not clamp an uncatalogued model", () => {
    const ctx = prepared({ model: "gpt-9", messages: USER, max_tokens: 1_000_000 })
    assert.equal(ctx.body.max_tokens, 1_000_000)
    assert.equal(ctx.upstreamBody(), ctx.rawBody, "the client's own bytes go upstream")
  })

  it("asks for stream usage when the client did not", () => {
    const ctx = prepared({ model: "gpt-4o", messages: USER, stream: true })
    assert.deepEqual(ctx.body.stream_options, { include_usage: true })
    assert.deepEqual(sent(ctx), ctx.body)
  })

  it("keeps the client's other stream_options fields", () => {
    const ctx = prepared({ model: "gpt-4o", messages: USER, stream: true, stream_options: { include_obfuscation: false } })
    assert.deepEqual(ctx.body.stream_options, { include_obfuscation: false, include_usage: true })
  })

  it("overrides include_usage false and replaces stream_options null", () => {
    assert.deepEqual(
      prepared({ model: "gpt-4o", messages: USER, stream: true, stream_options: { include_usage: false } }).body.stream_options,
      { include_usage: true }
    )
    assert.deepEqual(prepared({ model: "gpt-4o", messages: USER, stream: true, stream_options: null }).body.stream_options, {
      include_usage: true
    })
  })

  it("leaves a stream that already asks for usage unchanged", () => {
    const stream_options = { include_usage: true }
    const ctx = prepared({ model: "gpt-4o", messages: USER, stream: true, stream_options })
    assert.equal(ctx.upstreamBody(), ctx.rawBody, "the client's own bytes go upstream")
    assert.equal(ctx.body.stream_options, stream_options)
  })
})

describe("openAIChatLeg.respond (streaming)", () => {
  const sse = (events: ReadonlyArray<unknown>) =>
    events.map((e) => `data: ${typeof e === "string" ? e : JSON.stringify(e)}\n\n`).join("")
  const content = { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o", choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }], usage: null }
  const usage = { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o", choices: [], usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } }

  const run = async (body: Record<string, unknown>) => {
    const ctx = prepared(body)
    const ends: Array<ResponseEnd> = []
    const upstream = new Response(sse([content, usage, "[DONE]"]), { status: 200, headers: { "content-type": "text/event-stream" } })
    const { response, streaming } = await Effect.runPromise(openAIChatLeg.respond(ctx, upstream, async (_, end) => void ends.push(end)))
    const text = await response.text()
    return { ctx, ends, text, streaming, response }
  }

  it("hides the usage chunk the relay asked for, and settles with the upstream usage", async () => {
    const { ctx, ends, text, streaming, response } = await run({ model: "gpt-4o", messages: USER, stream: true })
    assert.equal(streaming, true)
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8")
    assert.equal(text, sse([content, "[DONE]"]))
    assert.deepEqual(ends, [{ status: 200, aborted: false }])
    assert.equal(ctx.usage?.promptTokens, 12)
    assert.equal(ctx.usage?.source, "upstream")
    assert.ok(ctx.ttfbMs !== undefined)
  })

  it("forwards the usage chunk to a client that asked for it", async () => {
    const { text } = await run({ model: "gpt-4o", messages: USER, stream: true, stream_options: { include_usage: true } })
    assert.equal(text, sse([content, usage, "[DONE]"]))
  })
})
