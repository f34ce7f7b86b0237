import assert from "node:assert/strict"
import { after, before, describe, it } from "node:test"
import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { clientPackage } from "../helpers/clients.ts"
import { MockAnthropic } from "../helpers/mock-anthropic.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { type RelayProcess, startRelay } from "../helpers/relay.ts"

type OpenAIZodHelpers = typeof import("../clients/node_modules/openai/helpers/zod")
type OpenAI7 = typeof import("../clients/node_modules/openai")
type Zod = typeof import("../clients/node_modules/zod")

const ANTHROPIC_KEY = "sk-ant-mock-shared-1"
const OPENAI_KEY = "sk-mock-shared-1"

type Messages = Anthropic.MessageCreateParamsNonStreaming["messages"]

/** A conversation with an instruction in its middle (Anthropic's mid-conversation system message). */
const WITH_SYSTEM_MESSAGE = [
  { role: "user", content: "hello" },
  { role: "assistant", content: "Hi." },
  { role: "system", content: [{ type: "text", text: "From now on, answer in French.", cache_control: { type: "ephemeral" } }] },
  { role: "user", content: "say it back" }
] as unknown as Messages

describe("thinking, effort and system messages across the protocols", () => {
  const anthropicMock = new MockAnthropic({ [ANTHROPIC_KEY]: "ok" })
  const openaiMock = new MockOpenAI({ [OPENAI_KEY]: "ok" })
  let relay: RelayProcess
  let anthropic: Anthropic
  let openai: OpenAI

  before(async () => {
    const [anthropicUrl, openaiUrl] = await Promise.all([anthropicMock.start(), openaiMock.start()])
    relay = await startRelay({ env: { ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: anthropicUrl, OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: openaiUrl } })
    anthropic = new Anthropic({ baseURL: relay.url, apiKey: relay.firstRunKey!, maxRetries: 0 })
    openai = new OpenAI({ baseURL: relay.baseURL, apiKey: relay.firstRunKey!, maxRetries: 0 })
  })

  after(async () => {
    await relay.stop()
    await Promise.all([anthropicMock.stop(), openaiMock.stop()])
  })

  describe("Anthropic Messages clients", () => {
    it("a mid-conversation system message reaches Claude as sent", async () => {
      const message = await anthropic.messages.create({ model: "claude-sonnet-4-6", max_tokens: 64, messages: WITH_SYSTEM_MESSAGE })
      assert.deepEqual(message.content, [{ type: "text", text: "say it back" }])
      assert.deepEqual(anthropicMock.messages.at(-1)!.body.messages, WITH_SYSTEM_MESSAGE)
    })

    it("a mid-conversation system message reaches a GPT model as a system message in its place", async () => {
      const message = await anthropic.messages.create({ model: "gpt-4o-mini", max_tokens: 64, system: "Be terse.", messages: WITH_SYSTEM_MESSAGE })
      assert.deepEqual(message.content, [{ type: "text", text: "say it back" }])
      assert.deepEqual(openaiMock.chats.at(-1)!.body.messages, [
        { role: "system", content: "Be terse." },
        { role: "user", content: "hello" },
        { role: "assistant", content: "Hi." },
        { role: "system", content: "From now on, answer in French." },
        { role: "user", content: "say it back" }
      ])
    })

    it("thinking and effort reach a GPT reasoning model as reasoning_effort, and a model without reasoning as nothing", async () => {
      const ask = (model: string, fields: Record<string, unknown>) =>
        anthropic.messages.create({ model, max_tokens: 4_000, messages: [{ role: "user", content: "think" }], ...fields } as Anthropic.MessageCreateParamsNonStreaming)
      await ask("gpt-5.5", { thinking: { type: "adaptive" }, output_config: { effort: "high" } })
      assert.equal(openaiMock.chats.at(-1)!.body.reasoning_effort, "high")
      await ask("gpt-5.5", { thinking: { type: "enabled", budget_tokens: 2_048 } })
      assert.equal(openaiMock.chats.at(-1)!.body.reasoning_effort, "low")
      // gpt-4o-mini refuses reasoning_effort (as OpenAI does): the request succeeds without it.
      const plain = await ask("gpt-4o-mini", { thinking: { type: "enabled", budget_tokens: 2_048 }, output_config: { effort: "low" } })
      assert.equal(plain.stop_reason, "end_turn")
      assert.equal(openaiMock.chats.at(-1)!.body.reasoning_effort, undefined)
    })

    it("Claude Code's other fields reach a GPT model handled: cache_control, metadata, context edits of thinking, service tier", async () => {
      const message = await anthropic.messages.create({
        model: "gpt-4o-mini",
        max_tokens: 64,
        system: [{ type: "text", text: "Be terse.", cache_control: { type: "ephemeral" } }],
        messages: [{ role: "user", content: [{ type: "text", text: "cached hello", cache_control: { type: "ephemeral", ttl: "1h" } }] }],
        metadata: { user_id: JSON.stringify({ device_id: "d1", session_id: "s1" }) },
        service_tier: "standard_only",
        tools: [{ type: "web_search_20250305", name: "web_search" }],
        context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] }
      } as Anthropic.MessageCreateParamsNonStreaming)
      assert.deepEqual(message.content, [{ type: "text", text: "cached hello" }])
      const sent = openaiMock.chats.at(-1)!.body
      assert.equal(sent.service_tier, "default")
      assert.equal(sent.tools, undefined, "server tools run only at Anthropic")
    })

    it("refuses with a 400 naming the field what only Claude serves", async () => {
      const refused = await anthropic.messages.create({
        model: "gpt-4o-mini",
        max_tokens: 64,
        messages: [{ role: "user", content: "hi" }],
        context_management: { edits: [{ type: "clear_tool_uses_20250919" }] }
      } as Anthropic.MessageCreateParamsNonStreaming).then(() => undefined, (error: unknown) => error)
      assert.ok(refused instanceof Anthropic.BadRequestError)
      assert.match(refused.message, /context_management\.edits\[0\]\.type/)
    })

    it("a reasoning_content server's reasoning streams as a thinking block, and goes back to no upstream", async () => {
      const stream = anthropic.messages.stream({ model: "mock-reasoner", max_tokens: 256, messages: [{ role: "user", content: "ponder this" }] })
      const thinkingDeltas: Array<string> = []
      stream.on("thinking", (delta) => thinkingDeltas.push(delta))
      const message = await stream.finalMessage()
      assert.deepEqual(thinkingDeltas.join(""), "Let me think.")
      assert.equal(message.content[0]!.type, "thinking")
      assert.equal((message.content[0] as Anthropic.ThinkingBlock).thinking, "Let me think.")
      assert.deepEqual(message.content[1], { type: "text", text: "ponder this" })

      // The next turn sends the thinking back, as Anthropic clients must: accepted, and not forwarded
      // (the reasoner refuses its reasoning_content sent back, as DeepSeek's does).
      const next = await anthropic.messages.create({
        model: "mock-reasoner",
        max_tokens: 256,
        messages: [
          { role: "user", content: "ponder this" },
          { role: "assistant", content: message.content as unknown as Anthropic.ContentBlockParam[] },
          { role: "user", content: "and now?" }
        ]
      })
      assert.equal((next.content[0] as Anthropic.ThinkingBlock).thinking, "Let me think.", "whole answers carry it too")
      assert.deepEqual(openaiMock.chats.at(-1)!.body.messages, [
        { role: "user", content: "ponder this" },
        { role: "assistant", content: "ponder this" },
        { role: "user", content: "and now?" }
      ])
    })
  })

  describe("OpenAI Chat Completions clients on Claude", () => {
    it("reasoning_effort becomes adaptive thinking at that effort where the model has it", async () => {
      await openai.chat.completions.create({ model: "claude-sonnet-4-6", reasoning_effort: "medium", messages: [{ role: "user", content: "think" }] })
      const sent = anthropicMock.messages.at(-1)!.body
      assert.deepEqual(sent.thinking, { type: "adaptive" })
      assert.deepEqual(sent.output_config, { effort: "medium" })
    })

    it("thinking comes back as reasoning_content, whole and streamed", async () => {
      // house-claude is Claude Haiku 4.5: thinking within a budget, which the mock always uses.
      const completion = await openai.chat.completions.create({ model: "house-claude", reasoning_effort: "low", messages: [{ role: "user", content: "think" }] })
      assert.deepEqual(anthropicMock.messages.at(-1)!.body.thinking, { type: "enabled", budget_tokens: 1_499 })
      const message = completion.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string }
      assert.equal(message.reasoning_content, "Let me think.")
      assert.equal(message.content, "think")

      const stream = await openai.chat.completions.create({ model: "house-claude", reasoning_effort: "low", stream: true, messages: [{ role: "user", content: "think" }] })
      let reasoning = ""
      let content = ""
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined
        reasoning += delta?.reasoning_content ?? ""
        content += delta?.content ?? ""
      }
      assert.equal(reasoning, "Let me think.")
      assert.equal(content, "think")
    })

    it("chat.completions.parse returns the parsed object from Claude's structured output", async () => {
      const { default: OpenAIClient } = { default: clientPackage("openai") as OpenAI7 }
      const { zodResponseFormat } = clientPackage("openai/helpers/zod") as OpenAIZodHelpers
      const { z } = clientPackage("zod") as Zod
      const client = new OpenAIClient.OpenAI({ baseURL: relay.baseURL, apiKey: relay.firstRunKey!, maxRetries: 0 })
      const Answer = z.object({ city: z.string(), degrees: z.number() })
      const completion = await client.chat.completions.parse({
        model: "claude-sonnet-4-6",
        messages: [{ role: "user", content: "Weather in Paris?" }],
        response_format: zodResponseFormat(Answer, "answer")
      })
      assert.deepEqual(completion.choices[0]!.message.parsed, { city: "sample", degrees: 7 })
      assert.equal((anthropicMock.messages.at(-1)!.body.output_config as { format: { type: string } }).format.type, "json_schema")
    })
  })
})
