import assert from "node:assert/strict"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import OpenAI from "openai"
import { createAccount } from "../helpers/accounts.ts"
import { MockAnthropic, TOOL_INPUT } from "../helpers/mock-anthropic.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { TOOL_ARGUMENTS } from "../helpers/mock-openai-responses.ts"
import { eventually, ROOT, type RelayProcess, startRelay } from "../helpers/relay.ts"

const CONFIG = join(ROOT, "test/fixtures/relay.responses-config.ts")
const OPENAI_KEY = "sk-responses-openai"
const ANTHROPIC_KEY = "sk-ant-responses"
const GEMINI_KEY = "sk-responses-gemini"
const OWN_ANTHROPIC_KEY = "sk-ant-own-responses"
const OWN_OPENAI_KEY = "sk-own-openai-responses"

const PATCH_TOOL = {
  type: "custom" as const,
  name: "apply_patch",
  description: "Applies a patch.",
  format: { type: "grammar" as const, syntax: "lark" as const, definition: "start: \"*** Begin Patch\" /(.|\\n)*/" }
}
const PATCH = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch"

const WEATHER_TOOL = {
  type: "function" as const,
  name: "get_weather",
  description: "Weather by city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
  strict: true
}

const ANSWER_FORMAT = {
  type: "json_schema" as const,
  name: "answer",
  schema: { type: "object", properties: { answer: { type: "string" } }, required: ["answer"], additionalProperties: false },
  strict: true
}

interface SseEvent {
  readonly event: string
  readonly data: Record<string, unknown> & { type: string; sequence_number: number }
}

/** A raw Responses stream's events, each with its `event:` line and its data. */
const eventsOf = async (response: Response): Promise<Array<SseEvent>> => {
  const text = await response.text()
  return text.split("\n\n").filter((block) => block.trim() !== "").map((block) => {
    const event = /^event: (.*)$/m.exec(block)?.[1] ?? ""
    const data = block.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n")
    return { event, data: JSON.parse(data) }
  })
}

/** Every event is named on its `event:` line as in its data, numbered from 0 without a gap. */
const assertGrammar = (events: ReadonlyArray<SseEvent>) => {
  events.forEach((event, i) => {
    assert.equal(event.event, event.data.type)
    assert.equal(event.data.sequence_number, i, `sequence_number of ${event.event}`)
  })
  assert.deepEqual(events.slice(0, 2).map((e) => e.event), ["response.created", "response.in_progress"])
}

const isNotFound = (error: unknown) => error instanceof OpenAI.APIError && error.status === 404

interface UsageRecord {
  readonly surface: string
  readonly model: string
  readonly provider: string
  readonly status: number
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly cached_tokens: number
  readonly cost: string
  readonly usage_source: string
}

const usageOf = async (relay: RelayProcess, key: string): Promise<Array<UsageRecord>> => {
  const answer = await fetch(`${relay.url}/v1/account/usage?limit=100`, { headers: { authorization: `Bearer ${key}` } })
  return ((await answer.json()) as { data: Array<UsageRecord> }).data
}

describe("POST /v1/responses with the openai SDK", () => {
  const openai = new MockOpenAI({ [OPENAI_KEY]: "ok", [OWN_OPENAI_KEY]: "ok" })
  const gemini = new MockOpenAI({ [GEMINI_KEY]: "ok" })
  const anthropic = new MockAnthropic({ [ANTHROPIC_KEY]: "ok", [OWN_ANTHROPIC_KEY]: "ok" })
  let relay: RelayProcess
  let client: OpenAI
  let key: string

  const post = (body: Record<string, unknown>, as = key) =>
    fetch(`${relay.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${as}`, "content-type": "application/json" },
      body: JSON.stringify(body)
    })

  before(async () => {
    const [openaiUrl, geminiUrl, anthropicUrl] = await Promise.all([openai.start(), gemini.start(), anthropic.start()])
    relay = await startRelay({
      config: CONFIG,
      env: {
        OPENAI_API_KEY: OPENAI_KEY,
        OPENAI_BASE_URL: openaiUrl,
        GEMINI_API_KEY: GEMINI_KEY,
        GEMINI_BASE_URL: geminiUrl,
        ANTHROPIC_API_KEY: ANTHROPIC_KEY,
        ANTHROPIC_BASE_URL: anthropicUrl
      }
    })
    key = (await createAccount(relay, { name: "responses", credits: "50" })).key
    client = new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 })
  })

  after(async () => {
    await relay.stop()
    await Promise.all([openai.stop(), gemini.stop(), anthropic.stop()])
  })

  describe("on a GPT model (passed through to OpenAI)", () => {
    it("sends the request byte for byte, answers OpenAI's response, records usage from it", async () => {
      const params = { model: "gpt-4o-mini", input: "hello there", instructions: "Be terse.", max_output_tokens: 300, metadata: { run: "a" } }
      const response = await client.responses.create(params)
      assert.equal(response.output_text, "hello there")
      assert.equal(response.status, "completed")
      assert.equal(openai.responses.at(-1)!.raw, JSON.stringify(params))
      assert.equal(openai.responses.at(-1)!.headers.authorization, `Bearer ${OPENAI_KEY}`)
      assert.deepEqual(response.usage?.output_tokens_details, { reasoning_tokens: 2 })
      await eventually(async () => {
        const [record] = await usageOf(relay, key)
        assert.deepEqual(
          { surface: record!.surface, model: record!.model, provider: record!.provider, status: record!.status },
          { surface: "responses", model: "gpt-4o-mini", provider: "openai", status: 200 }
        )
        // 20 + 1 input item in, 4 of them cached; 2 words + 2 reasoning tokens out, billed as output.
        assert.deepEqual([record!.prompt_tokens, record!.cached_tokens, record!.completion_tokens], [21, 4, 4])
        assert.equal(record!.usage_source, "upstream")
      })
    })

    it("streams OpenAI's events as sent, usage taken from response.completed", async () => {
      const stream = client.responses.stream({ model: "gpt-4o-mini", input: "stream me please" })
      const deltas: Array<string> = []
      stream.on("response.output_text.delta", (event) => deltas.push(event.delta))
      const final = await stream.finalResponse()
      assert.equal(deltas.join(""), "stream me please")
      assert.equal(final.output_text, "stream me please")
      assert.equal(openai.responses.at(-1)!.body.stream, true)
      await eventually(async () => {
        const [record] = await usageOf(relay, key)
        assert.deepEqual([record!.surface, record!.prompt_tokens, record!.completion_tokens], ["responses", 21, 5])
      })
    })

    it("runs a function tool round trip, and structured output", async () => {
      const first = await client.responses.create({ model: "mock-tools", input: "weather in Paris?", tools: [WEATHER_TOOL], store: false })
      const call = first.output.find((item) => item.type === "function_call")
      assert.ok(call && call.type === "function_call")
      assert.deepEqual([call.name, call.arguments], ["get_weather", TOOL_ARGUMENTS])
      const second = await client.responses.create({
        model: "mock-tools",
        tools: [WEATHER_TOOL],
        store: false,
        input: [{ role: "user", content: "weather in Paris?" }, call, { type: "function_call_output", call_id: call.call_id, output: "18C clear" }]
      })
      assert.equal(second.output_text, "tool said: 18C clear")
      const structured = await client.responses.create({ model: "gpt-4o-mini", input: "forty-two", text: { format: ANSWER_FORMAT } })
      assert.deepEqual(JSON.parse(structured.output_text), { answer: "sample" })
      assert.deepEqual((openai.responses.at(-1)!.body.text as { format: unknown }).format, ANSWER_FORMAT)
    })

    it("ends a stream OpenAI breaks off with response.failed, numbered after what was sent", async () => {
      const events = await eventsOf(await post({ model: "mock-cut", input: "one two three", stream: true }))
      assertGrammar(events)
      assert.deepEqual(events.map((e) => e.event).slice(-2), ["response.output_text.delta", "response.failed"])
      const failed = events.at(-1)!.data.response as { id: string; status: string; error: { code: string } }
      assert.deepEqual([failed.id, failed.status, failed.error.code], [(events[0]!.data.response as { id: string }).id, "failed", "server_error"])
    })

    it("continues with previous_response_id at OpenAI; GET, input_items and DELETE reach OpenAI for the owner only", async () => {
      const first = await client.responses.create({ model: "gpt-4o-mini", input: "first turn" })
      const second = await client.responses.create({ model: "gpt-4o-mini", input: "second turn", previous_response_id: first.id })
      assert.equal(second.output_text, "second turn (after 2 earlier items)")
      assert.equal(openai.responses.at(-1)!.body.previous_response_id, first.id)

      const read = await client.responses.retrieve(second.id)
      assert.equal(read.id, second.id)
      assert.equal(read.output_text, "second turn (after 2 earlier items)")
      const items = await client.responses.inputItems.list(second.id)
      assert.equal(items.data.length, 3)

      const stranger = (await createAccount(relay, { name: "stranger", credits: "1" })).key
      const strangers = new OpenAI({ baseURL: relay.baseURL, apiKey: stranger, maxRetries: 0 })
      await assert.rejects(strangers.responses.retrieve(second.id), isNotFound)
      await assert.rejects(strangers.responses.delete(second.id), isNotFound)
      const refused = await post({ model: "gpt-4o-mini", input: "steal", previous_response_id: first.id }, stranger)
      assert.equal(refused.status, 404)

      await client.responses.delete(second.id)
      await assert.rejects(client.responses.retrieve(second.id), isNotFound)
    })
  })

  describe("on a Claude model (translated to and from Anthropic Messages)", () => {
    it("answers text with Claude's usage, the request translated", async () => {
      const response = await client.responses.create({
        model: "claude-sonnet-4-6",
        instructions: "Be terse.",
        input: [
          { role: "developer", content: "Answer in English." },
          { role: "user", content: [{ type: "input_text", text: "say it back" }] }
        ],
        max_output_tokens: 500,
        temperature: 0.5,
        store: false,
        prompt_cache_key: "thread-1",
        include: ["reasoning.encrypted_content"]
      })
      assert.equal(response.object, "response")
      assert.equal(response.model, "claude-sonnet-4-6")
      assert.equal(response.status, "completed")
      assert.equal(response.output_text, "say it back")
      assert.match(response.id, /^resp_/)
      // Anthropic: 11 uncached input tokens, 5 written to the cache, 40 read from it.
      assert.deepEqual(response.usage, {
        input_tokens: 56,
        input_tokens_details: { cached_tokens: 40 },
        output_tokens: 3,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 59
      })
      assert.deepEqual(anthropic.messages.at(-1)!.body, {
        model: "claude-sonnet-4-6",
        max_tokens: 500,
        messages: [{ role: "user", content: [{ type: "text", text: "say it back" }] }],
        system: [{ type: "text", text: "Be terse." }, { type: "text", text: "Answer in English." }],
        temperature: 0.5,
        cache_control: { type: "ephemeral" }
      })
      await eventually(async () => {
        const [record] = await usageOf(relay, key)
        assert.deepEqual(
          [record!.surface, record!.provider, record!.prompt_tokens, record!.cached_tokens, record!.completion_tokens],
          ["responses", "anthropic", 56, 40, 3]
        )
      })
    })

    it("streams the full event grammar in order, numbered, ending in response.completed", async () => {
      const events = await eventsOf(await post({ model: "claude-sonnet-4-6", input: "one two three", stream: true }))
      assertGrammar(events)
      assert.deepEqual(events.map((e) => e.event), [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed"
      ])
      const completed = events.at(-1)!.data.response as { status: string; output: Array<{ content: Array<{ text: string }> }>; usage: { output_tokens: number } }
      assert.equal(completed.status, "completed")
      assert.equal(completed.output[0]!.content[0]!.text, "one two three")
      assert.equal(completed.usage.output_tokens, 3)
    })

    it("streams Claude's thinking as reasoning summary events before the text", async () => {
      const events = await eventsOf(await post({ model: "claude-thinking-1", input: "ponder", reasoning: { effort: "low", summary: "auto" }, stream: true, store: false }))
      assertGrammar(events)
      assert.deepEqual(events.map((e) => e.event).slice(2, 10), [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added"
      ])
      const reasoning = events[7]!.data.item as { type: string; summary: Array<{ text: string }>; encrypted_content: string }
      assert.deepEqual([reasoning.type, reasoning.summary[0]!.text], ["reasoning", "Let me think."])
      assert.match(reasoning.encrypted_content, /^rr-thinking:/)
    })

    it("runs a function tool round trip, streamed with the SDK", async () => {
      const stream = client.responses.stream({ model: "claude-tools-1", input: "weather?", tools: [WEATHER_TOOL], parallel_tool_calls: false, tool_choice: "auto" })
      const argumentDeltas: Array<string> = []
      stream.on("response.function_call_arguments.delta", (event) => argumentDeltas.push(event.delta))
      const first = await stream.finalResponse()
      const call = first.output.find((item) => item.type === "function_call")
      assert.ok(call && call.type === "function_call")
      assert.equal(call.name, "get_weather")
      assert.deepEqual(JSON.parse(call.arguments), TOOL_INPUT)
      assert.ok(argumentDeltas.length > 1, "the arguments arrive in fragments")
      assert.deepEqual(anthropic.messages.at(-1)!.body.tool_choice, { type: "auto", disable_parallel_tool_use: true })

      const second = await client.responses.create({
        model: "claude-tools-1",
        tools: [WEATHER_TOOL],
        input: [{ type: "function_call_output", call_id: call.call_id, output: "18C clear" }],
        previous_response_id: first.id
      })
      assert.equal(second.output_text, "tool said: 18C clear")
      const sent = anthropic.messages.at(-1)!.body.messages as Array<{ role: string; content: Array<{ type: string }> }>
      assert.deepEqual(sent.map((m) => m.role), ["user", "assistant", "user"])
    })

    it("keeps a translated response for previous_response_id, GET, input_items and DELETE, for its account only", async () => {
      const first = await client.responses.create({ model: "claude-sonnet-4-6", input: "remember this" })
      const second = await client.responses.create({ model: "claude-sonnet-4-6", input: "and this", previous_response_id: first.id })
      assert.equal(second.previous_response_id, first.id)
      assert.deepEqual(anthropic.messages.at(-1)!.body.messages, [
        { role: "user", content: [{ type: "text", text: "remember this" }] },
        { role: "assistant", content: [{ type: "text", text: "remember this" }] },
        { role: "user", content: [{ type: "text", text: "and this" }] }
      ])
      const read = await client.responses.retrieve(second.id)
      assert.equal(read.output_text, "and this")
      const items = await client.responses.inputItems.list(second.id, { order: "asc" })
      assert.equal(items.data.length, 3)

      const stranger = (await createAccount(relay, { name: "stranger-2", credits: "1" })).key
      const strangers = new OpenAI({ baseURL: relay.baseURL, apiKey: stranger, maxRetries: 0 })
      await assert.rejects(strangers.responses.retrieve(second.id), isNotFound)
      const refused = await post({ model: "claude-sonnet-4-6", input: "steal", previous_response_id: first.id }, stranger)
      assert.equal(refused.status, 404)
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "not_found")

      const raw = await fetch(`${relay.url}/v1/responses/${second.id}`, { headers: { authorization: `Bearer ${key}` } })
      assert.equal(raw.headers.get("x-ratelimit-limit"), "60", "a proxied answer carries the caller's rate-limit state")
      const missing = await fetch(`${relay.url}/v1/responses/resp_nope`, { headers: { authorization: `Bearer ${key}` } })
      assert.equal(missing.status, 404)
      assert.equal(missing.headers.get("x-ratelimit-limit"), "60")
      const deleted = await fetch(`${relay.url}/v1/responses/${second.id}`, { method: "DELETE", headers: { authorization: `Bearer ${key}` } })
      assert.deepEqual(await deleted.json(), { id: second.id, object: "response", deleted: true })
      await assert.rejects(client.responses.retrieve(second.id), isNotFound)
    })

    it("continues a Claude response on a GPT model: OpenAI gets the turns, not Claude's thinking", async () => {
      const first = await client.responses.create({ model: "claude-thinking-1", input: "think first", reasoning: { effort: "low" }, max_output_tokens: 1_800 })
      assert.ok(first.output.some((item) => item.type === "reasoning"))
      const second = await client.responses.create({ model: "gpt-4o-mini", input: "now you", previous_response_id: first.id })
      assert.equal(second.output_text, "now you")
      const sent = openai.responses.at(-1)!.body as { input: Array<{ type?: string; role?: string }>; previous_response_id?: unknown }
      assert.equal(sent.previous_response_id, undefined)
      assert.deepEqual(sent.input.map((item) => item.type ?? item.role), ["message", "message", "message"])
    })

    it("maps reasoning to Claude's thinking and back, its signed block carried in encrypted_content", async () => {
      const first = await client.responses.create({
        model: "claude-thinking-1",
        input: "think",
        reasoning: { effort: "low", summary: "auto" },
        max_output_tokens: 1_800,
        include: ["reasoning.encrypted_content"],
        store: false
      })
      assert.deepEqual(anthropic.messages.at(-1)!.body.thinking, { type: "enabled", budget_tokens: 1_799 })
      const reasoning = first.output.find((item) => item.type === "reasoning")
      assert.ok(reasoning && reasoning.type === "reasoning")
      assert.deepEqual(reasoning.summary, [{ type: "summary_text", text: "Let me think." }])
      assert.ok(reasoning.encrypted_content)
      assert.equal(first.output_text, "think")
      await client.responses.create({ model: "claude-thinking-1", input: [{ role: "user", content: "think" }, ...(first.output as Array<OpenAI.Responses.ResponseInputItem>), { role: "user", content: "again" }], store: false })
      const turns = anthropic.messages.at(-1)!.body.messages as Array<{ role: string; content: Array<Record<string, unknown>> }>
      assert.deepEqual(turns[1]!.content, [
        { type: "thinking", thinking: "Let me think.", signature: "sig-mock" },
        { type: "text", text: "think" }
      ])
    })

    it("carries images and PDFs to Claude", async () => {
      const pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
      await client.responses.create({
        model: "claude-sonnet-4-6",
        store: false,
        input: [{
          role: "user",
          content: [
            { type: "input_text", text: "what is this?" },
            { type: "input_image", image_url: `data:image/png;base64,${pixel}`, detail: "auto" },
            { type: "input_image", image_url: "https://example.com/cat.jpg", detail: "low" },
            { type: "input_file", filename: "a.pdf", file_data: "data:application/pdf;base64,JVBERi0=" }
          ]
        }]
      })
      assert.deepEqual((anthropic.messages.at(-1)!.body.messages as Array<{ content: unknown }>)[0]!.content, [
        { type: "text", text: "what is this?" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: pixel } },
        { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
        { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } }
      ])
      const refused = await post({ model: "claude-sonnet-4-6", input: [{ role: "user", content: [{ type: "input_image", file_id: "file-1" }] }] })
      assert.equal(refused.status, 400)
      assert.equal(((await refused.json()) as { error: { param: string } }).error.param, "input[0].content[0].image_url")
    })

    it("answers structured output as Claude's json_schema format", async () => {
      const response = await client.responses.create({ model: "claude-sonnet-4-6", input: "answer in JSON", text: { format: ANSWER_FORMAT } })
      assert.deepEqual(JSON.parse(response.output_text), { answer: "sample" })
      assert.deepEqual(anthropic.messages.at(-1)!.body.output_config, { format: { type: "json_schema", schema: ANSWER_FORMAT.schema } })
    })

    it("says incomplete at max_output_tokens, refuses a built-in tool by name, and fails a cut stream with response.failed", async () => {
      const cut = await client.responses.create({ model: "claude-max", input: "long answer" })
      assert.equal(cut.status, "incomplete")
      assert.deepEqual(cut.incomplete_details, { reason: "max_output_tokens" })

      const refused = await post({ model: "claude-sonnet-4-6", input: "search", tools: [{ type: "web_search" }], tool_choice: "required" })
      assert.equal(refused.status, 400)
      const body = (await refused.json()) as { error: { message: string; param: string } }
      assert.equal(body.error.param, "tools[0].type")
      assert.match(body.error.message, /web_search/)
      // Offered with tools left optional (as Codex offers web search), it is dropped instead.
      const optional = await client.responses.create({ model: "claude-sonnet-4-6", input: "no search needed", tools: [{ type: "web_search" }, WEATHER_TOOL] })
      assert.equal(optional.output_text, "no search needed")
      assert.deepEqual((anthropic.messages.at(-1)!.body.tools as Array<{ name: string }>).map((tool) => tool.name), ["get_weather"])

      const events = await eventsOf(await post({ model: "claude-cut", input: "one two three four", stream: true }))
      assertGrammar(events)
      assert.equal(events.at(-1)!.event, "response.failed")
      assert.equal((events.at(-1)!.data.response as { status: string }).status, "failed")

      // Claude's own mid-stream error event becomes response.failed with its message.
      const overloaded = await eventsOf(await post({ model: "claude-overloaded", input: "x", stream: true }))
      assertGrammar(overloaded)
      assert.deepEqual((overloaded.at(-1)!.data.response as { error: unknown }).error, { code: "server_is_overloaded", message: "Overloaded" })
    })
  })

  describe("through the same pipeline as every surface", () => {
    it("runs a custom tool (Codex's apply_patch) on Claude, streamed, and takes its output back", async () => {
      const body = { model: "claude-sonnet-4-6", input: `patch it <call tool="apply_patch">${JSON.stringify({ input: PATCH })}</call>`, tools: [PATCH_TOOL], stream: true, store: false }
      const events = await eventsOf(await post(body))
      assertGrammar(events)
      assert.ok(events.some((e) => e.event === "response.custom_tool_call_input.done" && e.data.input === PATCH))
      const tool = (anthropic.messages.at(-1)!.body.tools as Array<{ name: string; description: string; input_schema: { required: Array<string> } }>)[0]!
      assert.equal(tool.name, "apply_patch")
      assert.match(tool.description, /lark grammar:\nstart: "\*\*\* Begin Patch"/)
      assert.deepEqual(tool.input_schema.required, ["input"])
      const item = (events.at(-1)!.data.response as { output: Array<Record<string, unknown>> }).output.find((o) => o.type === "custom_tool_call")!
      assert.equal(item.input, PATCH)
      const next = await client.responses.create({
        model: "claude-sonnet-4-6",
        tools: [PATCH_TOOL],
        store: false,
        input: [
          { role: "user", content: "patch it" },
          { type: "custom_tool_call", call_id: String(item.call_id), name: "apply_patch", input: PATCH },
          { type: "custom_tool_call_output", call_id: String(item.call_id), output: "Done!" }
        ]
      })
      assert.equal(next.output_text, "tool said: Done!")
      const turns = anthropic.messages.at(-1)!.body.messages as Array<{ content: Array<Record<string, unknown>> }>
      assert.deepEqual(turns[1]!.content[0], { type: "tool_use", id: item.call_id, name: "apply_patch", input: { input: PATCH } })
    })

    it("serves an alias, answers errors in OpenAI's shape, and reserves max_output_tokens against the TPM limit", async () => {
      const aliased = await client.responses.create({ model: "house-responses", input: "alias", store: false })
      assert.equal(aliased.model, "house-responses")
      assert.equal(anthropic.messages.at(-1)!.body.model, "claude-tools-1")
      // Passed through to OpenAI, the answer names the model as the client asked for it too.
      const whole = await client.responses.create({ model: "house-gpt", input: "alias", store: false })
      assert.equal(whole.model, "house-gpt")
      assert.equal(openai.responses.at(-1)!.body.model, "gpt-4o-mini")
      const streamed = await eventsOf(await post({ model: "house-gpt", input: "alias", stream: true, store: false }))
      assert.deepEqual([...new Set(streamed.flatMap((e) => e.data.response === undefined ? [] : [(e.data.response as { model: string }).model]))], ["house-gpt"])

      const unknown = await post({ model: "no-such-model", input: "x" })
      assert.equal(unknown.status, 404)
      assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, "model_not_found")
      const malformed = await post({ model: "claude-sonnet-4-6", input: 42 })
      assert.equal(malformed.status, 400)
      assert.equal(((await malformed.json()) as { error: { param: string } }).error.param, "input")
      const noKey = await fetch(`${relay.url}/v1/responses`, { method: "POST", body: "{}" })
      assert.equal(noKey.status, 401)
      assert.equal(((await noKey.json()) as { error: { code: string } }).error.code, "invalid_api_key")

      const { account, key: tight } = await createAccount(relay, { name: "tight", credits: "5" })
      await relay.admin("PATCH", `/admin/accounts/${account.id}`, { tpm: 1_000 })
      const before = anthropic.messages.length
      const over = await post({ model: "claude-sonnet-4-6", input: "small prompt", max_output_tokens: 1_500 }, tight)
      assert.equal(over.status, 429)
      assert.equal(anthropic.messages.length, before, "nothing was sent upstream")
      const under = await post({ model: "claude-sonnet-4-6", input: "small prompt", max_output_tokens: 100 }, tight)
      assert.equal(under.status, 200)
    })

    it("serves /byok/v1/responses with the caller's own key, uncharged", async () => {
      const { key: own } = await createAccount(relay, { name: "byok-responses" })
      const missing = await fetch(`${relay.url}/byok/v1/responses`, {
        method: "POST",
        headers: { authorization: `Bearer ${own}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "claude-sonnet-4-6", input: "mine" })
      })
      assert.equal(missing.status, 403)
      assert.equal(((await missing.json()) as { error: { code: string } }).error.code, "byok_credential_missing")
      const stored = await fetch(`${relay.baseURL}/account/byok/anthropic`, {
        method: "PUT",
        headers: { authorization: `Bearer ${own}`, "content-type": "application/json" },
        body: JSON.stringify({ api_key: OWN_ANTHROPIC_KEY })
      })
      assert.equal(stored.status, 200)
      const byok = new OpenAI({ baseURL: `${relay.url}/byok/v1`, apiKey: own, maxRetries: 0 })
      const response = await byok.responses.create({ model: "claude-sonnet-4-6", input: "mine" })
      assert.equal(response.output_text, "mine")
      assert.equal(anthropic.messages.at(-1)!.headers["x-api-key"], OWN_ANTHROPIC_KEY)
      const read = await byok.responses.retrieve(response.id)
      assert.equal(read.id, response.id)
      await eventually(async () => {
        const [record] = await usageOf(relay, own)
        assert.deepEqual([record!.surface, record!.cost], ["responses", "0.000000000"])
      })

      // A response OpenAI keeps, made with the caller's own OpenAI key, is read and deleted with it.
      await fetch(`${relay.baseURL}/account/byok/openai`, {
        method: "PUT",
        headers: { authorization: `Bearer ${own}`, "content-type": "application/json" },
        body: JSON.stringify({ api_key: OWN_OPENAI_KEY })
      })
      const atOpenAI = await byok.responses.create({ model: "gpt-4o-mini", input: "kept at openai" })
      assert.equal(openai.responses.at(-1)!.headers.authorization, `Bearer ${OWN_OPENAI_KEY}`)
      const reread = await byok.responses.retrieve(atOpenAI.id)
      assert.equal(reread.output_text, "kept at openai")
      assert.equal(openai.requests.at(-1)!.path, `/v1/responses/${atOpenAI.id}`)
      assert.equal(openai.requests.at(-1)!.headers.authorization, `Bearer ${OWN_OPENAI_KEY}`)
      await byok.responses.delete(atOpenAI.id)
      assert.deepEqual([openai.requests.at(-1)!.path, openai.requests.at(-1)!.headers.authorization], [`/v1/responses/${atOpenAI.id}`, `Bearer ${OWN_OPENAI_KEY}`])
    })
  })

  describe("on a chat-completions upstream (Gemini)", () => {
    it("translates text, tools and the stream", async () => {
      const text = await client.responses.create({ model: "gemini-2.5-flash", input: "hi gemini", instructions: "Be brief.", max_output_tokens: 64 })
      assert.equal(text.output_text, "hi gemini")
      assert.deepEqual(gemini.chats.at(-1)!.body, {
        model: "gemini-2.5-flash",
        messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "hi gemini" }],
        max_completion_tokens: 64
      })
      const events = await eventsOf(await post({ model: "gemini-2.5-flash", input: "streamed words", stream: true }))
      assertGrammar(events)
      assert.equal(events.at(-1)!.event, "response.completed")
      assert.deepEqual(events.filter((e) => e.event === "response.output_text.delta").map((e) => e.data.delta), ["streamed ", "words"])
    })

    it("asks only a model that reasons for an effort, and shows its reasoning_content as a reasoning summary", async () => {
      // The mock refuses reasoning_effort for a model that does not reason, as OpenAI does.
      const plain = await client.responses.create({ model: "gemini-2.5-flash", input: "no effort", reasoning: { effort: "low" }, store: false })
      assert.equal(plain.output_text, "no effort")
      assert.equal(gemini.chats.at(-1)!.body.reasoning_effort, undefined)

      const whole = await client.responses.create({ model: "gemini-reasoner", input: "think aloud", reasoning: { effort: "low", summary: "auto" }, store: false })
      assert.equal(gemini.chats.at(-1)!.body.reasoning_effort, "low")
      assert.deepEqual(whole.output.map((item) => item.type), ["reasoning", "message"])
      assert.deepEqual((whole.output[0] as { summary: unknown }).summary, [{ type: "summary_text", text: "Let me think." }])
      assert.equal(whole.output_text, "think aloud")

      const events = await eventsOf(await post({ model: "gemini-reasoner", input: "think aloud", reasoning: { summary: "detailed" }, stream: true, store: false }))
      assertGrammar(events)
      const summary = events.filter((e) => e.event === "response.reasoning_summary_text.delta").map((e) => e.data.delta).join("")
      assert.equal(summary, "Let me think.")
      assert.ok(events.findIndex((e) => e.event === "response.reasoning_summary_text.done") < events.findIndex((e) => e.event === "response.output_text.delta"))
    })
  })
})

describe("POST /v1/responses on a relay that keeps no responses", () => {
  const openai = new MockOpenAI({ [OPENAI_KEY]: "ok" })
  let relay: RelayProcess

  before(async () => {
    relay = await startRelay({ config: join(ROOT, "config/rocketairoom.config.ts"), env: { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: await openai.start() } })
  })

  after(async () => {
    await relay.stop()
    await openai.stop()
  })

  it("serves its models, and refuses previous_response_id, which it could not check the owner of", async () => {
    const { key } = await createAccount(relay, { name: "no-store", credits: "5" })
    const client = new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 })
    const first = await client.responses.create({ model: "rocket-1", input: "hello rocket" })
    assert.equal(first.output_text, "hello rocket")
    assert.equal(openai.responses.at(-1)!.body.model, "gpt-4o-mini")
    const before = openai.responses.length
    await assert.rejects(
      client.responses.create({ model: "rocket-1", input: "again", previous_response_id: first.id }),
      (error: unknown) => error instanceof OpenAI.APIError && error.status === 400 && (error.error as { param?: string }).param === "previous_response_id"
    )
    assert.equal(openai.responses.length, before, "nothing was sent upstream")
    const read = await fetch(`${relay.url}/v1/responses/${first.id}`, { headers: { authorization: `Bearer ${key}` } })
    assert.equal(read.status, 404)
  })
})
