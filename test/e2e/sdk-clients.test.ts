import assert from "node:assert/strict"
import { after, before, describe, it } from "node:test"
import { clientPackage } from "../helpers/clients.ts"
import { MockAnthropic } from "../helpers/mock-anthropic.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { type RelayProcess, startRelay } from "../helpers/relay.ts"

type AI = typeof import("../clients/node_modules/ai")
type AISdkOpenAI = typeof import("../clients/node_modules/@ai-sdk/openai")
type AISdkAnthropic = typeof import("../clients/node_modules/@ai-sdk/anthropic")
type LangChainOpenAI = typeof import("../clients/node_modules/@langchain/openai")
type LangChainAnthropic = typeof import("../clients/node_modules/@langchain/anthropic")
type LangChainMessages = typeof import("../clients/node_modules/@langchain/core/messages")
type Zod = typeof import("../clients/node_modules/zod")

const ai = clientPackage("ai") as AI
const { createOpenAI } = clientPackage("@ai-sdk/openai") as AISdkOpenAI
const { createAnthropic } = clientPackage("@ai-sdk/anthropic") as AISdkAnthropic
const { ChatOpenAI } = clientPackage("@langchain/openai") as LangChainOpenAI
const { ChatAnthropic } = clientPackage("@langchain/anthropic") as LangChainAnthropic
const { HumanMessage, ToolMessage } = clientPackage("@langchain/core/messages") as LangChainMessages
const { z } = clientPackage("zod") as Zod

const ANTHROPIC_KEY = "sk-ant-mock-shared-1"
const OPENAI_KEY = "sk-mock-shared-1"

/** Each client's protocol against each model family: native (same protocol) and crossed (translated). */
const MODELS = [
  { family: "GPT", model: "gpt-4o-mini" },
  { family: "Claude", model: "claude-sonnet-4-6" }
] as const

const CITY = z.object({ name: z.string(), population: z.number(), coastal: z.boolean() })
/** What the mocks answer for CITY (scripted-answers.ts `sampleOf`). */
const SAMPLE_CITY = { name: "sample", population: 7, coastal: true }

const weatherPrompt = `What is the weather in Paris? <call tool="get_weather">${JSON.stringify({ city: "Paris" })}</call>`

describe("the Vercel AI SDK and LangChain JS through the relay, native and crossed", () => {
  const anthropic = new MockAnthropic({ [ANTHROPIC_KEY]: "ok" })
  const openai = new MockOpenAI({ [OPENAI_KEY]: "ok" })
  let relay: RelayProcess
  let key: string

  before(async () => {
    const [anthropicUrl, openaiUrl] = await Promise.all([anthropic.start(), openai.start()])
    relay = await startRelay({ env: { ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: anthropicUrl, OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: openaiUrl } })
    key = relay.firstRunKey!
  })

  after(async () => {
    await relay.stop()
    await Promise.all([anthropic.stop(), openai.stop()])
  })

  const aiSdkClients = () => ({
    // `.chat`: Chat Completions (the provider's default is the Responses API).
    "AI SDK openai": (model: string) => createOpenAI({ baseURL: relay.baseURL, apiKey: key }).chat(model),
    "AI SDK anthropic": (model: string) => createAnthropic({ baseURL: relay.baseURL, apiKey: key })(model)
  })

  for (const client of ["AI SDK openai", "AI SDK anthropic"] as const) {
    for (const { family, model } of MODELS) {
      it(`${client} on a ${family} model: a tool loop to the end, streamed`, async () => {
        const seen: Array<unknown> = []
        const result = ai.streamText({
          model: aiSdkClients()[client](model),
          prompt: weatherPrompt,
          maxRetries: 0,
          tools: {
            get_weather: ai.tool({
              description: "Weather by city",
              inputSchema: z.object({ city: z.string() }),
              execute: async (input: { city: string }) => {
                seen.push(input)
                return "sunny-17"
              }
            })
          },
          stopWhen: ai.stepCountIs(3)
        })
        const text = await result.text
        assert.deepEqual(seen, [{ city: "Paris" }], "the tool ran with the model's arguments")
        assert.match(text, /tool said: .*sunny-17/)
        assert.equal((await result.steps).length, 2)
      })

      it(`${client} on a ${family} model: structured output parsed into the schema`, async () => {
        const { output } = await ai.generateText({
          model: aiSdkClients()[client](model),
          prompt: "Describe a city.",
          maxRetries: 0,
          output: ai.Output.object({ schema: CITY })
        })
        assert.deepEqual(output, SAMPLE_CITY)
      })
    }
  }

  const langChainClients = () => ({
    "LangChain ChatOpenAI": (model: string) => new ChatOpenAI({ model, apiKey: key, configuration: { baseURL: relay.baseURL }, maxRetries: 0 }),
    "LangChain ChatAnthropic": (model: string) => new ChatAnthropic({ model, apiKey: key, anthropicApiUrl: relay.url, maxRetries: 0 })
  })

  for (const client of ["LangChain ChatOpenAI", "LangChain ChatAnthropic"] as const) {
    for (const { family, model } of MODELS) {
      it(`${client} on a ${family} model: a tool call and its result, back to an answer`, async () => {
        const chat = langChainClients()[client](model)
        const weather = { name: "get_weather", description: "Weather by city", schema: z.object({ city: z.string() }) }
        const withTools = chat.bindTools([weather])
        const question = new HumanMessage(weatherPrompt)
        const call = await withTools.invoke([question])
        assert.equal(call.tool_calls?.[0]?.name, "get_weather")
        assert.deepEqual(call.tool_calls?.[0]?.args, { city: "Paris" })
        const answer = await withTools.invoke([question, call, new ToolMessage({ content: "sunny-17", tool_call_id: call.tool_calls![0]!.id! })])
        assert.match(String(answer.text), /tool said: .*sunny-17/)
      })

      it(`${client} on a ${family} model: structured output parsed into the schema`, async () => {
        const structured = langChainClients()[client](model).withStructuredOutput(CITY)
        assert.deepEqual(await structured.invoke("Describe a city."), SAMPLE_CITY)
      })
    }
  }
})
