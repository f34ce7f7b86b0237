import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { InvalidRequest } from "../../core/errors.ts"
import type { MessagesRequest } from "../../core/surfaces/anthropic-schema.ts"
import type { ChatCompletionRequest } from "../../core/surfaces/openai-chat-schema.ts"
import { toOpenAIRequest } from "../../core/translate/anthropic-to-openai-request.ts"
import { DEFAULT_ANTHROPIC_MAX_TOKENS, toAnthropicRequest } from "../../core/translate/openai-to-anthropic-request.ts"
import type { TargetModel } from "../../core/translate/wire.ts"

type ChatBody = ChatCompletionRequest & Record<string, unknown>
type MessagesBody = MessagesRequest & Record<string, unknown>

const CLAUDE: TargetModel = { model: "claude-sonnet-4-5", maxOutputTokens: 64_000, reasoning: true }
const GPT: TargetModel = { model: "gpt-4o", maxOutputTokens: 16_384, reasoning: false }

const toClaude = (body: Record<string, unknown>, target: TargetModel = CLAUDE) => toAnthropicRequest(body as ChatBody, target)
const toGpt = (body: Record<string, unknown>, target: TargetModel = GPT) => toOpenAIRequest(body as MessagesBody, target)

const ok = <T>(value: T | InvalidRequest): T => {
  assert.ok(!(value instanceof InvalidRequest), value instanceof InvalidRequest ? value.message : "")
  return value as T
}

const refused = (value: unknown, param: string) => {
  assert.ok(value instanceof InvalidRequest, "expected a 400")
  assert.equal(value.param, param)
  assert.match(value.message, new RegExp(`^${param.replace(/[[\].]/g, "\\$&")}: `))
}

const USER = [{ role: "user", content: "hi" }]
const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather by city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    strict: true
  }
}

describe("OpenAI request -> Anthropic request", () => {
  it("translates the recorded request (PROTOCOLS.md 1.1)", () => {
    const body = {
      model: "gpt-4o",
      max_completion_tokens: 1024,
      temperature: 0.2,
      n: 1,
      user: "u-123",
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: "developer", content: "Be terse." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBOR...", detail: "auto" } }
          ]
        },
        { role: "assistant", content: null, tool_calls: [{ id: "call_a1", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } }] },
        { role: "tool", tool_call_id: "call_a1", content: "18C clear" }
      ],
      tools: [WEATHER_TOOL],
      tool_choice: "auto"
    }
    assert.deepEqual(ok(toClaude(body)), {
      model: "claude-sonnet-4-5",
      max_tokens: 1024,
      system: [{ type: "text", text: "Be terse." }],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBOR..." } }
          ]
        },
        { role: "assistant", content: [{ type: "tool_use", id: "call_a1", name: "get_weather", input: { city: "Paris" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "call_a1", content: "18C clear" }] }
      ],
      temperature: 0.2,
      stream: true,
      tools: [{
        name: "get_weather",
        description: "Weather by city",
        input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        strict: true
      }],
      tool_choice: { type: "auto" },
      metadata: { user_id: "u-123" }
    })
  })

  it("hoists system and developer messages from any position into system, in order", () => {
    const out = ok(toClaude({
      model: "x",
      messages: [
        { role: "system", content: "first" },
        { role: "user", content: "hi" },
        { role: "assistant", content: "hello" },
        { role: "developer", content: [{ type: "text", text: "second" }] },
        { role: "user", content: "again" }
      ]
    }))
    assert.deepEqual(out.system, [{ type: "text", text: "first" }, { type: "text", text: "second" }])
    assert.deepEqual(out.messages, [
      { role: "user", content: [{ type: "text", text: "hi" }] },
      { role: "assistant", content: [{ type: "text", text: "hello" }] },
      { role: "user", content: [{ type: "text", text: "again" }] }
    ])
  })

  it("puts consecutive tool results in one user turn, first, followed by the user's text", () => {
    const out = ok(toClaude({
      model: "x",
      messages: [
        { role: "user", content: "weather and time?" },
        {
          role: "assistant",
          content: "Checking.",
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Rome\"}" } },
            { id: "call_2", type: "function", function: { name: "get_time", arguments: "" } }
          ]
        },
        { role: "tool", tool_call_id: "call_1", content: "sunny" },
        { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "noon" }] },
        { role: "user", content: "thanks" }
      ]
    }))
    assert.deepEqual(out.messages, [
      { role: "user", content: [{ type: "text", text: "weather and time?" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Rome" } },
          { type: "tool_use", id: "call_2", name: "get_time", input: {} }
        ]
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_1", content: "sunny" },
          { type: "tool_result", tool_use_id: "call_2", content: "noon" },
          { type: "text", text: "thanks" }
        ]
      }
    ])
  })

  it("skips messages left without content, merging the turns around them as Anthropic would", () => {
    const out = ok(toClaude({
      model: "x",
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: "hello" },
        { role: "user", content: "" },
        { role: "user", content: null },
        { role: "user", content: [{ type: "text", text: "" }] },
        { role: "assistant", content: "again" },
        { role: "assistant", content: null },
        { role: "user", content: "bye" }
      ]
    }))
    assert.deepEqual(out.messages, [
      { role: "user", content: [{ type: "text", text: "hi" }] },
      { role: "assistant", content: [{ type: "text", text: "hello" }, { type: "text", text: "again" }] },
      { role: "user", content: [{ type: "text", text: "bye" }] }
    ])
  })

  it("refuses a conversation with no user or assistant content, naming messages", () => {
    refused(toClaude({ model: "x", messages: [{ role: "system", content: "Be terse." }] }), "messages")
    refused(toClaude({ model: "x", messages: [{ role: "developer", content: "Be terse." }, { role: "user", content: "" }] }), "messages")
    refused(toClaude({ model: "x", messages: [{ role: "user", content: [{ type: "text", text: "" }] }, { role: "assistant", content: null }] }), "messages")
  })

  it("sends an https image as a URL source and a data URL as base64", () => {
    const out = ok(toClaude({
      model: "x",
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "high" } }] }]
    }))
    assert.deepEqual(out.messages, [{ role: "user", content: [{ type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } }] }])
    refused(toClaude({ model: "x", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "ftp://x" } }] }] }), "messages[0].content[0].image_url.url")
  })

  it("sets max_tokens from the request, capped; or the model's cap; or the default for an uncatalogued model", () => {
    assert.equal(ok(toClaude({ model: "x", messages: USER, max_tokens: 500 })).max_tokens, 500)
    assert.equal(ok(toClaude({ model: "x", messages: USER, max_tokens: 500, max_completion_tokens: 700 })).max_tokens, 700)
    assert.equal(ok(toClaude({ model: "x", messages: USER, max_completion_tokens: 100_000 })).max_tokens, 64_000)
    assert.equal(ok(toClaude({ model: "x", messages: USER })).max_tokens, 64_000)
    assert.equal(ok(toClaude({ model: "x", messages: USER }, { model: "claude-new", maxOutputTokens: undefined, reasoning: true })).max_tokens, DEFAULT_ANTHROPIC_MAX_TOKENS)
  })

  it("clamps temperature to Anthropic's 0-1, keeps top_p, and turns stop into stop_sequences", () => {
    const out = ok(toClaude({ model: "x", messages: USER, temperature: 1.7, top_p: 0.9, stop: "END" }))
    assert.equal(out.temperature, 1)
    assert.equal(out.top_p, 0.9)
    assert.deepEqual(out.stop_sequences, ["END"])
    assert.deepEqual(ok(toClaude({ model: "x", messages: USER, stop: ["a", "b"] })).stop_sequences, ["a", "b"])
    refused(toClaude({ model: "x", messages: USER, stop: [1] }), "stop")
  })

  it("maps tool_choice and parallel_tool_calls", () => {
    const choice = (tool_choice: unknown, extra: Record<string, unknown> = {}) =>
      ok(toClaude({ model: "x", messages: USER, tools: [WEATHER_TOOL], tool_choice, ...extra })).tool_choice
    assert.deepEqual(choice("auto"), { type: "auto" })
    assert.deepEqual(choice("required"), { type: "any" })
    assert.deepEqual(choice("none"), { type: "none" })
    assert.deepEqual(choice({ type: "function", function: { name: "get_weather" } }), { type: "tool", name: "get_weather" })
    assert.deepEqual(choice(undefined, { parallel_tool_calls: false }), { type: "auto", disable_parallel_tool_use: true })
    assert.deepEqual(choice("required", { parallel_tool_calls: false }), { type: "any", disable_parallel_tool_use: true })
    assert.deepEqual(choice("none", { parallel_tool_calls: false }), { type: "none" })
    refused(toClaude({ model: "x", messages: USER, tools: [WEATHER_TOOL], tool_choice: { type: "allowed_tools" } }), "tool_choice")
    assert.equal(ok(toClaude({ model: "x", messages: USER, tool_choice: "auto" })).tool_choice, undefined, "no tools, no choice")
  })

  it("gives a tool without parameters an empty object schema, and refuses other tool types", () => {
    const out = ok(toClaude({ model: "x", messages: USER, tools: [{ type: "function", function: { name: "ping" } }] }))
    assert.deepEqual(out.tools, [{ name: "ping", input_schema: { type: "object", properties: {} } }])
    const loose = ok(toClaude({ model: "x", messages: USER, tools: [{ type: "function", function: { name: "ping", strict: false } }, { type: "function", function: { name: "pong", strict: null } }] }))
    assert.deepEqual(loose.tools, [{ name: "ping", input_schema: { type: "object", properties: {} }, strict: false }, { name: "pong", input_schema: { type: "object", properties: {} } }])
    refused(toClaude({ model: "x", messages: USER, tools: [{ type: "custom", custom: { name: "x" } }] }), "tools[0]")
  })

  it("drops OpenAI-only parameters", () => {
    const out = ok(toClaude({
      model: "x",
      messages: USER,
      n: 1,
      seed: 7,
      logprobs: true,
      top_logprobs: 2,
      logit_bias: { "1": 2 },
      frequency_penalty: 0.5,
      presence_penalty: 0.5,
      response_format: { type: "json_object" },
      service_tier: "auto",
      store: true,
      stream_options: { include_usage: true }
    }))
    assert.deepEqual(Object.keys(out).sort(), ["max_tokens", "messages", "model"])
  })

  it("maps reasoning_effort to thinking: a budget below max_tokens, adaptive with effort where the model has it", () => {
    const budget = ok(toClaude({ model: "x", messages: USER, max_tokens: 10_000, reasoning_effort: "high", temperature: 0.2 }))
    assert.deepEqual(budget.thinking, { type: "enabled", budget_tokens: 9_999 })
    assert.equal(budget.temperature, undefined, "Claude refuses a temperature while thinking")
    assert.deepEqual(ok(toClaude({ model: "x", messages: USER, reasoning_effort: "low" })).thinking, { type: "enabled", budget_tokens: 2_048 })
    const adaptive = ok(toClaude(
      { model: "x", messages: USER, reasoning_effort: "medium", response_format: { type: "json_schema", json_schema: { name: "r", schema: { type: "object" } } } },
      { model: "claude-sonnet-4-6", maxOutputTokens: 64_000, reasoning: true }
    ))
    assert.deepEqual(adaptive.thinking, { type: "adaptive" })
    assert.deepEqual(adaptive.output_config, { effort: "medium", format: { type: "json_schema", schema: { type: "object" } } })
  })

  it("leaves thinking out where Claude would refuse it or cannot think", () => {
    for (const effort of ["none", "minimal"]) assert.equal(ok(toClaude({ model: "x", messages: USER, reasoning_effort: effort })).thinking, undefined)
    assert.equal(ok(toClaude({ model: "x", messages: USER, max_tokens: 1_000, reasoning_effort: "high" })).thinking, undefined, "no room for a budget")
    assert.equal(ok(toClaude({ model: "x", messages: USER, reasoning_effort: "high" }, { ...CLAUDE, reasoning: false })).thinking, undefined)
    const forced = ok(toClaude({ model: "x", messages: USER, tools: [WEATHER_TOOL], tool_choice: "required", reasoning_effort: "high" }))
    assert.equal(forced.thinking, undefined)
    const loop = ok(toClaude({
      model: "x",
      reasoning_effort: "high",
      messages: [
        ...USER,
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "c1", content: "sunny" }
      ]
    }))
    assert.equal(loop.thinking, undefined, "the turn's signed thinking cannot be sent back")
  })

  it("maps a JSON-schema response format to output_config", () => {
    const schema = { type: "object", properties: { a: { type: "string" } } }
    const out = ok(toClaude({ model: "x", messages: USER, response_format: { type: "json_schema", json_schema: { name: "r", schema } } }))
    assert.deepEqual(out.output_config, { format: { type: "json_schema", schema } })
  })

  it("sends a PDF data URL as a document and refuses other files", () => {
    const pdf = ok(toClaude({ model: "x", messages: [{ role: "user", content: [{ type: "file", file: { filename: "a.pdf", file_data: "data:application/pdf;base64,JVBER" } }] }] }))
    assert.deepEqual(pdf.messages, [{ role: "user", content: [{ type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBER" } }] }])
    refused(toClaude({ model: "x", messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-1" } }] }] }), "messages[0].content[0].file")
    refused(toClaude({ model: "x", messages: [{ role: "user", content: [{ type: "file", file: { file_data: "data:text/csv;base64,YQ==" } }] }] }), "messages[0].content[0].file")
  })

  it("refuses what a Claude model cannot take, naming the field", () => {
    refused(toClaude({ model: "x", messages: USER, n: 2 }), "n")
    refused(toClaude({ model: "x", messages: [{ role: "user", content: [{ type: "text", text: "x" }, { type: "input_audio", input_audio: { data: "", format: "wav" } }] }] }), "messages[0].content[1].type")
    refused(
      toClaude({ model: "x", messages: [{ role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{nope" } }] }] }),
      "messages[0].tool_calls[0].function.arguments"
    )
    refused(toClaude({ model: "x", messages: [{ role: "function", content: "x" }] }), "messages[0].role")
    refused(toClaude({ model: "x", messages: [{ role: "tool", content: "x" }] }), "messages[0].tool_call_id")
    refused(toClaude({ model: "x", messages: [{ role: "system", content: [{ type: "image_url", image_url: { url: "https://x" } }] }] }), "messages[0].content[0]")
  })
})

describe("Anthropic request -> OpenAI request", () => {
  it("translates the recorded request (PROTOCOLS.md 2.2)", () => {
    const body = {
      model: "claude-sonnet-4-5",
      max_tokens: 1024,
      stream: true,
      system: [{ type: "text", text: "Be terse.", cache_control: { type: "ephemeral" } }],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBOR..." } }
          ]
        },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_01B", name: "get_weather", input: { city: "Paris" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01B", content: "18C clear" }] }
      ],
      tools: [{
        name: "get_weather",
        description: "Weather by city",
        input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
      }],
      tool_choice: { type: "auto" },
      stop_sequences: ["END"],
      metadata: { user_id: "u-123" },
      thinking: { type: "enabled", budget_tokens: 2048 }
    }
    assert.deepEqual(ok(toGpt(body)), {
      model: "gpt-4o",
      messages: [
        { role: "system", content: "Be terse." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBOR..." } }
          ]
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "toolu_01B", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } }]
        },
        { role: "tool", tool_call_id: "toolu_01B", content: "18C clear" }
      ],
      max_completion_tokens: 1024,
      stop: ["END"],
      stream: true,
      stream_options: { include_usage: true },
      tools: [{
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather by city",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
        }
      }],
      tool_choice: "auto"
    })
  })

  it("keeps string content, joins system blocks, drops thinking blocks, and caps max_tokens", () => {
    const out = ok(toGpt({
      model: "x",
      max_tokens: 100_000,
      system: [{ type: "text", text: "one" }, { type: "text", text: "two" }],
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: [{ type: "thinking", thinking: "hmm", signature: "sig" }, { type: "text", text: "hello" }] },
        { role: "assistant", content: [{ type: "redacted_thinking", data: "x" }] },
        { role: "user", content: [{ type: "text", text: "more" }] }
      ]
    }))
    assert.deepEqual(out.messages, [
      { role: "system", content: "one\n\ntwo" },
      { role: "user", content: "hi" },
      { role: "assistant", content: "hello" },
      { role: "user", content: "more" }
    ])
    assert.equal(out.max_completion_tokens, 16_384)
    assert.equal(ok(toGpt({ model: "x", max_tokens: 100_000, messages: USER }, { model: "gpt-x", maxOutputTokens: undefined, reasoning: false })).max_completion_tokens, 100_000)
  })

  it("moves a tool result's images to a user message after the tool messages", () => {
    const out = ok(toGpt({
      model: "x",
      max_tokens: 10,
      messages: [{
        role: "user",
        content: [
          {
            type: "tool_result",
            tool_use_id: "toolu_1",
            content: [{ type: "text", text: "here" }, { type: "image", source: { type: "url", url: "https://example.com/a.png" } }]
          },
          { type: "tool_result", tool_use_id: "toolu_2", content: "plain", is_error: true },
          { type: "text", text: "look" }
        ]
      }]
    }))
    assert.deepEqual(out.messages, [
      { role: "tool", tool_call_id: "toolu_1", content: "here" },
      { role: "tool", tool_call_id: "toolu_2", content: "plain" },
      { role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }, { type: "text", text: "look" }] }
    ])
  })

  it("maps tool_choice, disable_parallel_tool_use and top_p; drops top_k; keeps four stop sequences", () => {
    const tools = [{ name: "f", input_schema: { type: "object" } }]
    const base = { model: "x", max_tokens: 10, messages: USER, tools }
    assert.equal(ok(toGpt({ ...base, tool_choice: { type: "any" } })).tool_choice, "required")
    assert.equal(ok(toGpt({ ...base, tool_choice: { type: "none" } })).tool_choice, "none")
    assert.deepEqual(ok(toGpt({ ...base, tool_choice: { type: "tool", name: "f" } })).tool_choice, { type: "function", function: { name: "f" } })
    const parallel = ok(toGpt({ ...base, tool_choice: { type: "auto", disable_parallel_tool_use: true } }))
    assert.equal(parallel.parallel_tool_calls, false)
    const sampled = ok(toGpt({ ...base, temperature: 0.5, top_p: 0.8, top_k: 40, stop_sequences: ["1", "2", "3", "4", "5"] }))
    assert.equal(sampled.temperature, 0.5)
    assert.equal(sampled.top_p, 0.8)
    assert.equal(sampled.top_k, undefined)
    assert.deepEqual(sampled.stop, ["1", "2", "3", "4"])
    refused(toGpt({ ...base, tool_choice: { type: "tool" } }), "tool_choice.name")
  })

  it("maps a JSON-schema output format to response_format and drops Anthropic-only parameters", () => {
    const schema = { type: "object", properties: { a: { type: "string" } } }
    const out = ok(toGpt({
      model: "x",
      max_tokens: 10,
      messages: USER,
      output_config: { effort: "high", format: { type: "json_schema", schema } },
      thinking: { type: "adaptive" },
      service_tier: "standard_only",
      cache_control: { type: "ephemeral" },
      context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
      metadata: { user_id: "{\"device_id\":\"d\"}" },
      top_k: 5
    }))
    assert.deepEqual(out, {
      model: "gpt-4o",
      messages: [{ role: "user", content: "hi" }],
      max_completion_tokens: 10,
      service_tier: "default",
      response_format: { type: "json_schema", json_schema: { name: "output", schema } }
    })
  })

  it("maps thinking and effort to reasoning_effort for a model that reasons", () => {
    const GPT5: TargetModel = { model: "gpt-5.5", maxOutputTokens: undefined, reasoning: true }
    const effort = (fields: Record<string, unknown>) => ok(toGpt({ model: "x", max_tokens: 32_000, messages: USER, ...fields }, GPT5)).reasoning_effort
    assert.equal(effort({ thinking: { type: "adaptive" }, output_config: { effort: "high" } }), "high")
    assert.equal(effort({ output_config: { effort: "max" } }), "xhigh")
    assert.equal(effort({ thinking: { type: "enabled", budget_tokens: 2_000 } }), "low")
    assert.equal(effort({ thinking: { type: "enabled", budget_tokens: 10_000 } }), "medium")
    assert.equal(effort({ thinking: { type: "enabled", budget_tokens: 20_000 } }), "high")
    assert.equal(effort({ thinking: { type: "adaptive" } }), undefined, "the model's own default")
    assert.equal(effort({ thinking: { type: "disabled" }, output_config: { effort: "low" } }), undefined)
  })

  it("puts a mid-conversation system message in its place; refuses what only Claude serves, naming the field", () => {
    const out = ok(toGpt({
      model: "x",
      max_tokens: 10,
      system: "Be terse.",
      messages: [
        ...USER,
        { role: "assistant", content: "Hello." },
        { role: "system", content: [{ type: "text", text: "Now answer in French.", cache_control: { type: "ephemeral" } }] },
        { role: "user", content: "again" }
      ]
    }))
    assert.deepEqual(out.messages, [
      { role: "system", content: "Be terse." },
      { role: "user", content: "hi" },
      { role: "assistant", content: "Hello." },
      { role: "system", content: "Now answer in French." },
      { role: "user", content: "again" }
    ])
    refused(toGpt({ model: "x", max_tokens: 10, messages: [{ role: "system", content: [{ type: "image" }] }, ...USER] }), "messages[0].content[0].type")
    refused(toGpt({ model: "x", max_tokens: 10, messages: USER, context_management: { edits: [{ type: "clear_tool_uses_20250919" }] } }), "context_management.edits[0].type")
    refused(toGpt({ model: "x", max_tokens: 10, messages: USER, service_tier: "priority" }), "service_tier")
    refused(toGpt({ model: "x", max_tokens: 10, messages: USER, container: "c1" }), "container")
  })

  it("keeps a final assistant message (Claude's prefill) as an assistant message", () => {
    const out = ok(toGpt({ model: "x", max_tokens: 10, messages: [...USER, { role: "assistant", content: "The answer is" }] }))
    assert.deepEqual(out.messages, [{ role: "user", content: "hi" }, { role: "assistant", content: "The answer is" }])
  })

  it("turns a plain-text document into a text part", () => {
    const out = ok(toGpt({ model: "x", max_tokens: 10, messages: [{ role: "user", content: [{ type: "document", source: { type: "text", media_type: "text/plain", data: "notes" } }] }] }))
    assert.deepEqual(out.messages, [{ role: "user", content: "notes" }])
  })

  it("keeps a tool's strict flag", () => {
    const out = ok(toGpt({
      model: "x",
      max_tokens: 10,
      messages: USER,
      tools: [{ name: "f", input_schema: { type: "object" }, strict: true }, { name: "g", input_schema: { type: "object" }, strict: false }, { name: "h", input_schema: { type: "object" } }]
    }))
    assert.deepEqual(out.tools, [
      { type: "function", function: { name: "f", parameters: { type: "object" }, strict: true } },
      { type: "function", function: { name: "g", parameters: { type: "object" }, strict: false } },
      { type: "function", function: { name: "h", parameters: { type: "object" } } }
    ])
  })

  it("does not offer Anthropic's server tools to another model", () => {
    const out = ok(toGpt({
      model: "x",
      max_tokens: 10,
      messages: USER,
      tools: [{ name: "web_search", type: "web_search_20250305" }, { name: "f", type: "custom", input_schema: { type: "object" } }]
    }))
    assert.deepEqual(out.tools, [{ type: "function", function: { name: "f", parameters: { type: "object" } } }])
    const only = ok(toGpt({ model: "x", max_tokens: 10, messages: USER, tools: [{ name: "bash", type: "bash_20250124" }], tool_choice: { type: "auto" } }))
    assert.equal(only.tools, undefined)
    assert.equal(only.tool_choice, undefined, "no tools left, no choice")
  })

  it("turns base64 PDFs into file parts and refuses what cannot cross, naming the field", () => {
    const pdf = ok(toGpt({
      model: "x",
      max_tokens: 10,
      messages: [{ role: "user", content: [{ type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBER" } }] }]
    }))
    assert.deepEqual(pdf.messages, [{ role: "user", content: [{ type: "file", file: { filename: "document.pdf", file_data: "data:application/pdf;base64,JVBER" } }] }])
    refused(toGpt({ model: "x", max_tokens: 10, messages: [{ role: "user", content: [{ type: "image", source: { type: "file", file_id: "f" } }] }] }), "messages[0].content[0].source")
    refused(toGpt({ model: "x", max_tokens: 10, messages: [{ role: "user", content: [{ type: "search_result" }] }] }), "messages[0].content[0].type")
  })
})
