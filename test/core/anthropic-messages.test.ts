import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { Cause, Effect, Exit, Result } from "effect"
import type { ModelEntry } from "../../core/catalog.ts"
import { RequestContext, type ResolvedRequest } from "../../core/context.ts"
import type { Endpoint, EndpointLeg, ResponseEnd } from "../../core/endpoint.ts"
import { InvalidRequest } from "../../core/errors.ts"
import { anthropicMessagesLeg, messages, openAIMessagesLeg } from "../../core/surfaces/anthropic-messages.ts"
import { countTokens, promptTextOfMessages } from "../../core/surfaces/count-tokens.ts"
import { anthropicChatLeg, chatCompletions } from "../../core/surfaces/openai-chat.ts"
import { readAnthropicStream, readOpenAIStream } from "./translate-helpers.ts"

const makeCtx = (route: string, body: Record<string, unknown>) => {
  const ctx = new RequestContext("req_1", "anthropic", route, new Request("http://x/"), false)
  ctx.body = body
  return ctx
}

const USER = [{ role: "user", content: "Hi" }]

const invalid = (endpoint: Endpoint, body: Record<string, unknown>, param: string) => {
  const error = endpoint.decode(makeCtx(endpoint.route, body), body)
  assert.ok(error instanceof InvalidRequest, `expected InvalidRequest for ${JSON.stringify(body)}`)
  assert.equal(error.param, param)
  assert.ok(error.message.startsWith(`${param}: `), error.message)
}

describe("messages.decode", () => {
  it("accepts a Messages request and sets model and stream", () => {
    const body = {
      model: "claude-sonnet-4-6",
      max_tokens: 1024,
      stream: true,
      system: [{ type: "text", text: "Be terse.", cache_control: { type: "ephemeral" } }],
      messages: [
        { role: "user", content: [{ type: "text", text: "hi" }, { type: "image", source: { type: "url", url: "https://x" } }] },
        { role: "assistant", content: [{ type: "tool_use", id: "t", name: "f", input: {} }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: "ok" }] }
      ],
      tools: [{ name: "f", input_schema: { type: "object" } }, { type: "web_search_20250305", name: "web_search" }],
      tool_choice: { type: "auto" },
      thinking: { type: "enabled", budget_tokens: 2048 }
    }
    const ctx = makeCtx("/messages", body)
    assert.equal(messages.decode(ctx, body), undefined)
    assert.equal(ctx.model, "claude-sonnet-4-6")
    assert.equal(ctx.stream, true)
    assert.equal(ctx.bodyChanged, false)
  })

  it("refuses a malformed request with a 400 naming the field", () => {
    invalid(messages, { model: "m", messages: USER }, "max_tokens")
    invalid(messages, { model: "m", max_tokens: 0, messages: USER }, "max_tokens")
    invalid(messages, { model: "m", max_tokens: 1.5, messages: USER }, "max_tokens")
    invalid(messages, { max_tokens: 10, messages: USER }, "model")
    invalid(messages, { model: "m", max_tokens: 10, messages: [] }, "messages")
    invalid(messages, { model: "m", max_tokens: 10, messages: [{ role: "tool", content: "x" }] }, "messages[0].role")
    invalid(messages, { model: "m", max_tokens: 10, messages: USER, thinking: { type: "enabled", budget_tokens: 0 } }, "thinking.budget_tokens")
    invalid(messages, { model: "m", max_tokens: 10, messages: USER, context_management: { edits: [{ keep: "all" }] } }, "context_management.edits[0].type")
    invalid(messages, { model: "m", max_tokens: 10, messages: [{ role: "user", content: 5 }] }, "messages[0].content")
    invalid(messages, { model: "m", max_tokens: 10, messages: USER, stream: "yes" }, "stream")
    invalid(messages, { model: "m", max_tokens: 10, messages: USER, system: [{ type: "image" }] }, "system[0].type")
    invalid(messages, { model: "m", max_tokens: 10, messages: USER, tools: [{ input_schema: {} }] }, "tools[0].name")
    invalid(messages, { model: "m", max_tokens: 10, messages: USER, tool_choice: { type: "required" } }, "tool_choice.type")
    invalid(messages, { model: "m", max_tokens: 10, messages: USER, stop_sequences: "END" }, "stop_sequences")
  })
})

describe("countTokens", () => {
  it("takes a Messages request without max_tokens, and names bad fields", () => {
    const body = { model: "m", messages: USER }
    const ctx = makeCtx("/messages/count_tokens", body)
    assert.equal(countTokens.decode(ctx, body), undefined)
    assert.equal(ctx.model, "m")
    invalid(countTokens, { model: "m", messages: [{ role: "bot", content: "x" }] }, "messages[0].role")
  })

  it("answers from the relay's estimate when no leg fits, counting system, messages, tool traffic and tools", async () => {
    const body = {
      model: "gpt-4o",
      system: "s".repeat(40),
      messages: [
        { role: "user", content: "u".repeat(40) },
        { role: "assistant", content: [{ type: "tool_use", id: "t", name: "f", input: { a: 1 } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: [{ type: "text", text: "r".repeat(8) }] }, { type: "image", source: {} }] }
      ],
      tools: [{ name: "f" }]
    }
    const text = promptTextOfMessages(body as never)
    assert.ok(text.includes("s".repeat(40)) && text.includes("u".repeat(40)) && text.includes("f {\"a\":1}") && text.includes("r".repeat(8)) && text.includes("[{\"name\":\"f\"}]"))
    const ctx = makeCtx("/messages/count_tokens", body)
    ctx.responseHeaders.set("x-request-id", "req_1")
    const response = countTokens.fallback!(ctx)
    assert.equal(response.status, 200)
    assert.equal(response.headers.get("x-request-id"), "req_1")
    assert.deepEqual(await response.json(), { input_tokens: Math.ceil(text.length / 4) })
  })
})

const entry = (fields: Partial<ModelEntry> = {}): ModelEntry => ({ id: "fast", provider: "anthropic", ...fields })

const prepared = (
  endpoint: Endpoint,
  leg: EndpointLeg,
  body: Record<string, unknown>,
  target: { upstreamModel?: string; entry?: ModelEntry } = {}
) => {
  const ctx = makeCtx(endpoint.route, body)
  assert.equal(endpoint.decode(ctx, body), undefined)
  const resolved = Object.assign(ctx, { target: { id: ctx.model, provider: "p", upstreamModel: target.upstreamModel ?? ctx.model, entry: target.entry } })
  const refused = leg.prepare(resolved)
  return { ctx: resolved, refused }
}

const respond = async (leg: EndpointLeg, ctx: ResolvedRequest, upstream: Response) => {
  const ends: Array<ResponseEnd> = []
  const exit = await Effect.runPromiseExit(leg.respond(ctx, upstream, async (_, end) => void ends.push(end)))
  return { exit, ends }
}

const succeeded = <A>(exit: Exit.Exit<A, unknown>): A => {
  assert.ok(Exit.isSuccess(exit), "expected success")
  return exit.value
}

const event = (data: Record<string, unknown>) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`
const CLAUDE_STREAM = [
  event({ type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", model: "claude-x", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 9, cache_read_input_tokens: 3, output_tokens: 1 } } }),
  event({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
  event({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hello" } }),
  event({ type: "content_block_stop", index: 0 }),
  event({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 2 } }),
  event({ type: "message_stop" })
].join("")

/** An upstream's stream, labelled as one. */
const eventStream = (body: string) => new Response(body, { headers: { "content-type": "text/event-stream" } })

describe("anthropicMessagesLeg (same protocol: passthrough)", () => {
  it("rewrites an alias and clamps max_tokens to the cap, and otherwise leaves the client's bytes alone", () => {
    const { ctx } = prepared(messages, anthropicMessagesLeg, { model: "fast", max_tokens: 32_000, messages: USER }, {
      upstreamModel: "claude-haiku-4-5",
      entry: entry({ maxOutputTokens: 8_192 })
    })
    assert.equal(ctx.body.model, "claude-haiku-4-5")
    assert.equal(ctx.body.max_tokens, 8_192)
    const untouched = prepared(messages, anthropicMessagesLeg, { model: "claude-x", max_tokens: 100, messages: USER }, { entry: entry({ maxOutputTokens: 8_192 }) })
    assert.equal(untouched.ctx.upstreamBody(), untouched.ctx.rawBody, "the client's own bytes go upstream")
    assert.equal(anthropicMessagesLeg.path, "/v1/messages")
  })

  it("streams the upstream's bytes unchanged and settles with their usage", async () => {
    const { ctx } = prepared(messages, anthropicMessagesLeg, { model: "claude-x", max_tokens: 100, stream: true, messages: USER })
    const { exit, ends } = await respond(anthropicMessagesLeg, ctx, eventStream(CLAUDE_STREAM))
    const { response, streaming } = succeeded(exit)
    assert.equal(streaming, true)
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8")
    assert.equal(await response.text(), CLAUDE_STREAM)
    assert.deepEqual(ends, [{ status: 200, aborted: false }])
    assert.equal(ctx.usage?.promptTokens, 12)
    assert.equal(ctx.usage?.completionTokens, 2)
    assert.equal(ctx.usage?.source, "upstream")
  })

  it("answers whole, with the upstream's content type and usage, when the upstream answers a stream request with JSON", async () => {
    const raw = `{"id":"msg_1","type":"message","content":[],"usage":{"input_tokens":4,"output_tokens":1}}`
    const { ctx } = prepared(messages, anthropicMessagesLeg, { model: "claude-x", max_tokens: 100, stream: true, messages: USER })
    const { exit, ends } = await respond(anthropicMessagesLeg, ctx, new Response(raw, { headers: { "content-type": "application/json" } }))
    const { response, streaming } = succeeded(exit)
    assert.equal(streaming, false)
    assert.equal(response.headers.get("content-type"), "application/json")
    assert.equal(await response.text(), raw)
    assert.deepEqual(ends, [], "settled as a whole answer is, not by a stream's end")
    assert.equal(ctx.usage?.promptTokens, 4)
    assert.equal(ctx.usage?.source, "upstream")
  })

  it("passes a whole message through as sent, reading its usage", async () => {
    const raw = `{"id":"msg_1", "type":"message","content":[],"usage":{"input_tokens":4,"cache_creation_input_tokens":2,"output_tokens":1}}`
    const { ctx } = prepared(messages, anthropicMessagesLeg, { model: "claude-x", max_tokens: 100, messages: USER })
    const { exit } = await respond(anthropicMessagesLeg, ctx, new Response(raw, { headers: { "content-type": "application/json" } }))
    assert.equal(await succeeded(exit).response.text(), raw)
    assert.equal(ctx.usage?.promptTokens, 6)
    assert.equal(ctx.usage?.cacheWriteTokens, 2)
  })
})

describe("openAIMessagesLeg (Anthropic caller, OpenAI upstream)", () => {
  it("replaces the body with its chat-completions translation, or refuses what cannot cross", () => {
    const { ctx, refused } = prepared(messages, openAIMessagesLeg, { model: "fast", max_tokens: 50_000, stream: true, messages: USER }, {
      upstreamModel: "gpt-4o-mini",
      entry: entry({ maxOutputTokens: 16_384 })
    })
    assert.equal(refused, undefined)
    assert.equal(ctx.bodyChanged, true)
    assert.deepEqual(ctx.body, {
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hi" }],
      max_completion_tokens: 16_384,
      stream: true,
      stream_options: { include_usage: true }
    })
    assert.equal(openAIMessagesLeg.path, "/chat/completions")
    const image = prepared(messages, openAIMessagesLeg, { model: "gpt-4o", max_tokens: 10, messages: [{ role: "user", content: [{ type: "image", source: { type: "file", file_id: "f" } }] }] })
    assert.ok(image.refused instanceof InvalidRequest)
    assert.equal(image.refused.param, "messages[0].content[0].source")
  })

  it("translates a whole completion into a message named as the client asked", async () => {
    const { ctx } = prepared(messages, openAIMessagesLeg, { model: "fast", max_tokens: 50, messages: USER }, { upstreamModel: "gpt-4o-mini" })
    const completion = { id: "chatcmpl-1", choices: [{ index: 0, message: { role: "assistant", content: "Hey" }, finish_reason: "stop" }], usage: { prompt_tokens: 8, completion_tokens: 1, total_tokens: 9 } }
    const { exit } = await respond(openAIMessagesLeg, ctx, Response.json(completion))
    const body = (await succeeded(exit).response.json()) as Record<string, unknown>
    assert.equal(body.model, "fast")
    assert.deepEqual(body.content, [{ type: "text", text: "Hey" }])
    assert.equal(ctx.usage?.promptTokens, 8)
  })

  it("fails with a 502 when the upstream's body is not JSON", async () => {
    const { ctx } = prepared(messages, openAIMessagesLeg, { model: "gpt-4o", max_tokens: 50, messages: USER })
    const { exit } = await respond(openAIMessagesLeg, ctx, new Response("<html>"))
    assert.ok(Exit.isFailure(exit))
    const error = Cause.findError(exit.cause)
    assert.ok(Result.isSuccess(error))
    assert.equal((error.success as { status: number }).status, 502)
  })
})

describe("anthropicChatLeg (OpenAI caller, Anthropic upstream)", () => {
  const chat = (extra: Record<string, unknown>) => prepared(chatCompletions, anthropicChatLeg, { model: "claude-x", messages: USER, stream: true, ...extra }, { entry: entry({ maxOutputTokens: 2_000 }) })

  it("sends the Anthropic translation, max_tokens from the model's cap", () => {
    const { ctx } = chat({})
    assert.deepEqual(ctx.body, { model: "claude-x", max_tokens: 2_000, messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }], stream: true })
    assert.equal(anthropicChatLeg.path, "/v1/messages")
    assert.ok(chat({ n: 3 }).refused instanceof InvalidRequest)
  })

  it("streams chunks with the usage chunk only for a client that asked for it", async () => {
    for (const include_usage of [false, true]) {
      const { ctx } = chat({ stream_options: { include_usage } })
      const { exit, ends } = await respond(anthropicChatLeg, ctx, eventStream(CLAUDE_STREAM))
      const read = readOpenAIStream(await succeeded(exit).response.text())
      assert.equal(read.content, "Hello")
      assert.equal(read.finish, "stop")
      assert.equal(read.usage === undefined, !include_usage)
      assert.deepEqual(ends, [{ status: 200, aborted: false }])
      assert.equal(ctx.usage?.promptTokens, 12)
      assert.equal(ctx.usage?.cachedTokens, 3)
    }
  })

  it("translates a whole message when the upstream answers a stream request with JSON", async () => {
    const { ctx } = chat({})
    const message = { id: "msg_1", type: "message", role: "assistant", model: "claude-x", content: [{ type: "text", text: "Hello" }], stop_reason: "end_turn", usage: { input_tokens: 9, output_tokens: 2 } }
    const { exit } = await respond(anthropicChatLeg, ctx, Response.json(message))
    const { response, streaming } = succeeded(exit)
    assert.equal(streaming, false)
    assert.equal(response.headers.get("content-type"), "application/json")
    const body = (await response.json()) as { object: string; choices: Array<{ message: { content: string } }> }
    assert.equal(body.object, "chat.completion")
    assert.equal(body.choices[0]!.message.content, "Hello")
    assert.equal(ctx.usage?.promptTokens, 9)
  })

  it("echoes the client's model name in every chunk", async () => {
    const { ctx } = chat({})
    ctx.model = "my-alias"
    const { exit } = await respond(anthropicChatLeg, ctx, eventStream(CLAUDE_STREAM))
    const text = await succeeded(exit).response.text()
    assert.ok(!text.includes("claude-x"))
    assert.match(text, /"model":"my-alias"/)
  })
})

describe("openAIMessagesLeg streaming", () => {
  it("streams Anthropic events from OpenAI chunks", async () => {
    const { ctx } = prepared(messages, openAIMessagesLeg, { model: "gpt-4o", max_tokens: 50, stream: true, messages: USER })
    const sse = [
      `data: {"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n`,
      `data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Yo"},"finish_reason":"stop"}]}\n\n`,
      `data: {"id":"c1","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":1,"total_tokens":8}}\n\n`,
      "data: [DONE]\n\n"
    ].join("")
    const { exit, ends } = await respond(openAIMessagesLeg, ctx, eventStream(sse))
    const { message, stopped } = readAnthropicStream(await succeeded(exit).response.text())
    assert.equal(stopped, true)
    assert.deepEqual(message!.content, [{ type: "text", text: "Yo" }])
    assert.equal(message!.usage.input_tokens, 7)
    assert.deepEqual(ends, [{ status: 200, aborted: false }])
    assert.equal(ctx.usage?.source, "upstream")
  })
})
