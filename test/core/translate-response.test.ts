import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { errorBody } from "../../core/surfaces/errors.ts"
import { UpstreamRejected } from "../../core/errors.ts"
import { toChatCompletion } from "../../core/translate/anthropic-to-openai-response.ts"
import { anthropicErrorType, openAIErrorType } from "../../core/translate/error-types.ts"
import { toAnthropicMessage } from "../../core/translate/openai-to-anthropic-response.ts"
import { fromAnthropicUsage } from "../../core/usage.ts"

/** PROTOCOLS.md 2.3. */
const CLAUDE_MESSAGE = {
  id: "msg_01A",
  type: "message",
  role: "assistant",
  model: "claude-sonnet-4-5",
  content: [
    { type: "thinking", thinking: "…", signature: "EqQB…" },
    { type: "text", text: "Checking.", citations: null },
    { type: "tool_use", id: "toolu_01C", name: "get_weather", input: { city: "Rome" } }
  ],
  stop_reason: "tool_use",
  stop_sequence: null,
  stop_details: null,
  usage: {
    input_tokens: 40,
    cache_creation_input_tokens: 10,
    cache_read_input_tokens: 412,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    output_tokens: 58,
    service_tier: "standard"
  }
}

/** PROTOCOLS.md 1.2, with text beside the tool call. */
const GPT_COMPLETION = {
  id: "chatcmpl-9x",
  object: "chat.completion",
  created: 1730000000,
  model: "gpt-4o-2024-08-06",
  choices: [{
    index: 0,
    finish_reason: "tool_calls",
    logprobs: null,
    message: {
      role: "assistant",
      content: "Looking.",
      refusal: null,
      annotations: [],
      tool_calls: [{ id: "call_b2", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Rome\"}" } }]
    }
  }],
  usage: {
    prompt_tokens: 120,
    completion_tokens: 25,
    total_tokens: 145,
    prompt_tokens_details: { cached_tokens: 64, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 }
  },
  service_tier: "default",
  system_fingerprint: "fp_x"
}

describe("Anthropic message -> chat completion", () => {
  it("translates the recorded message: text, tool call, finish reason, usage with cache, the client's model name", () => {
    const { body, usage } = toChatCompletion(CLAUDE_MESSAGE, "my-claude")
    assert.equal(body.id, "msg_01A")
    assert.equal(body.object, "chat.completion")
    assert.equal(body.model, "my-claude")
    assert.ok(Number.isInteger(body.created))
    assert.deepEqual(body.choices, [{
      index: 0,
      message: {
        role: "assistant",
        content: "Checking.",
        refusal: null,
        tool_calls: [{ id: "toolu_01C", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Rome\"}" } }],
        reasoning_content: "…"
      },
      finish_reason: "tool_calls",
      logprobs: null
    }])
    assert.deepEqual(body.usage, {
      prompt_tokens: 462,
      completion_tokens: 58,
      total_tokens: 520,
      prompt_tokens_details: { cached_tokens: 412, cache_write_tokens: 10 },
      completion_tokens_details: { reasoning_tokens: 0 }
    })
    assert.deepEqual(usage, { promptTokens: 462, completionTokens: 58, cachedTokens: 412, cacheWriteTokens: 10, imageInputTokens: 0, imageOutputTokens: 0, source: "upstream" })
  })

  it("has null content without text, and a refusal's explanation as refusal", () => {
    const { body } = toChatCompletion({
      id: "m",
      content: [],
      stop_reason: "refusal",
      stop_details: { type: "refusal", category: "cyber", explanation: "Not allowed." },
      usage: { input_tokens: 1, output_tokens: 0 }
    }, "c")
    assert.equal(body.choices[0]!.message.content, null)
    assert.equal(body.choices[0]!.message.refusal, "Not allowed.")
    assert.equal(body.choices[0]!.finish_reason, "content_filter")
    assert.equal(body.choices[0]!.message.tool_calls, undefined)
  })
})

describe("chat completion -> Anthropic message", () => {
  it("translates the recorded completion: blocks, stop reason, usage split into cached and uncached", () => {
    const { body, usage } = toAnthropicMessage(GPT_COMPLETION, "my-gpt")
    assert.deepEqual(body, {
      id: "chatcmpl-9x",
      type: "message",
      role: "assistant",
      model: "my-gpt",
      content: [
        { type: "text", text: "Looking." },
        { type: "tool_use", id: "call_b2", name: "get_weather", input: { city: "Rome" } }
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: { input_tokens: 56, cache_creation_input_tokens: 0, cache_read_input_tokens: 64, output_tokens: 25, output_tokens_details: { thinking_tokens: 0 } }
    })
    assert.equal(usage?.promptTokens, 120)
    assert.equal(usage?.cachedTokens, 64)
  })

  it("puts reasoning_content (DeepSeek, vLLM) or reasoning (Ollama) first, as a thinking block", () => {
    for (const field of ["reasoning_content", "reasoning"]) {
      const completion = { id: "c", choices: [{ index: 0, message: { content: "42", [field]: "Add them." }, finish_reason: "stop" }] }
      assert.deepEqual(toAnthropicMessage(completion, "m").body.content, [
        { type: "thinking", thinking: "Add them.", signature: "" },
        { type: "text", text: "42" }
      ])
    }
  })

  it("translates the first choice only", () => {
    const two = { id: "c", choices: [{ index: 0, message: { content: "first" }, finish_reason: "stop" }, { index: 1, message: { content: "second" }, finish_reason: "stop" }] }
    assert.deepEqual(toAnthropicMessage(two, "m").body.content, [{ type: "text", text: "first" }])
  })

  it("maps finish reasons; a refusal is a text block with stop reason refusal; bad arguments become {}", () => {
    const completion = (message: Record<string, unknown>, finish_reason: string) => ({ id: "c", choices: [{ index: 0, message, finish_reason }] })
    const stop = (finish: string) => toAnthropicMessage(completion({ content: "x" }, finish), "m").body.stop_reason
    assert.equal(stop("stop"), "end_turn")
    assert.equal(stop("length"), "max_tokens")
    assert.equal(stop("content_filter"), "refusal")
    const refusal = toAnthropicMessage(completion({ content: null, refusal: "No." }, "stop"), "m").body
    assert.equal(refusal.stop_reason, "refusal")
    assert.deepEqual(refusal.content, [{ type: "text", text: "No." }])
    const bad = toAnthropicMessage(completion({ content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "[1," } }] }, "tool_calls"), "m")
    assert.deepEqual(bad.body.content, [{ type: "tool_use", id: "c1", name: "f", input: {} }])
    assert.equal(bad.usage, undefined, "no usage reported, none invented")
    assert.deepEqual(bad.body.usage, { input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 })
  })
})

describe("usage and errors across protocols", () => {
  it("fromAnthropicUsage counts cache reads and writes in the prompt", () => {
    assert.deepEqual(fromAnthropicUsage({ input_tokens: 5, cache_creation_input_tokens: 7, cache_read_input_tokens: 11, output_tokens: 3 }), {
      promptTokens: 23,
      completionTokens: 3,
      cachedTokens: 11,
      cacheWriteTokens: 7,
      imageInputTokens: 0,
      imageOutputTokens: 0,
      source: "upstream"
    })
    assert.equal(fromAnthropicUsage({ input_tokens: 5, cache_read_input_tokens: null, output_tokens: 1 })?.promptTokens, 5)
    assert.equal(fromAnthropicUsage(null), undefined)
  })

  it("carries Anthropic's thinking tokens as OpenAI's reasoning tokens (0 when unreported), and back only when reported", () => {
    const thought = toChatCompletion({ ...CLAUDE_MESSAGE, usage: { ...CLAUDE_MESSAGE.usage, output_tokens_details: { thinking_tokens: 30 } } }, "c")
    assert.deepEqual(thought.body.usage?.completion_tokens_details, { reasoning_tokens: 30 })
    assert.equal(thought.usage?.reasoningTokens, 30)
    assert.equal(toChatCompletion(CLAUDE_MESSAGE, "c").usage?.reasoningTokens, undefined, "none reported, none invented in the relay's usage")

    const usage = (completion_tokens_details?: unknown) =>
      toAnthropicMessage({ ...GPT_COMPLETION, usage: { prompt_tokens: 120, completion_tokens: 25, total_tokens: 145, completion_tokens_details } }, "g").body.usage
    assert.deepEqual(usage({ reasoning_tokens: 16 }).output_tokens_details, { thinking_tokens: 16 })
    assert.equal(usage(undefined).output_tokens_details, undefined)
    assert.equal(usage({ audio_tokens: 0 }).output_tokens_details, undefined)
  })

  it("names error types in the other protocol's words", () => {
    assert.equal(openAIErrorType("authentication_error"), "invalid_request_error")
    assert.equal(openAIErrorType("not_found_error"), "invalid_request_error")
    assert.equal(openAIErrorType("overloaded_error"), "server_error")
    assert.equal(openAIErrorType("billing_error"), "insufficient_quota")
    assert.equal(openAIErrorType("invalid_request_error"), "invalid_request_error")
    assert.equal(openAIErrorType("rate_limit_error"), "rate_limit_error")
    assert.equal(anthropicErrorType("server_error"), "api_error")
    assert.equal(anthropicErrorType("insufficient_quota"), "billing_error")
    assert.equal(anthropicErrorType("tokens"), "rate_limit_error")
    assert.equal(anthropicErrorType("invalid_request_error"), "invalid_request_error")
  })

  it("an Anthropic upstream's rejection reaches an OpenAI caller with an OpenAI type, and its status", () => {
    const error = new UpstreamRejected({ message: "model: not found", upstreamStatus: 404, upstreamType: "not_found_error" })
    assert.deepEqual(errorBody("openai", error), {
      error: { message: "model: not found", type: "invalid_request_error", param: null, code: "upstream_rejected" }
    })
    assert.deepEqual(errorBody("anthropic", error), {
      type: "error",
      error: { type: "not_found_error", message: "model: not found (upstream_rejected)" }
    })
  })
})
