import assert from "node:assert/strict"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { createAccount } from "../helpers/accounts.ts"
import { clientPackage } from "../helpers/clients.ts"
import { MockAnthropic } from "../helpers/mock-anthropic.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { ROOT, type RelayProcess, startRelay } from "../helpers/relay.ts"

type AiSdk = typeof import("../clients/node_modules/ai")
type AiSdkOpenAI = typeof import("../clients/node_modules/@ai-sdk/openai")
type LangChainOpenAI = typeof import("../clients/node_modules/@langchain/openai")

const CONFIG = join(ROOT, "test/fixtures/relay.responses-config.ts")
const OPENAI_KEY = "sk-sdks-openai"
const ANTHROPIC_KEY = "sk-ant-sdks"

/**
 * SDKs whose default OpenAI model speaks the Responses API: the Vercel AI SDK's `openai(model)`
 * and LangChain's ChatOpenAI with `useResponsesApi`, on a GPT and on a Claude model.
 */
describe("SDKs that default to the Responses API", () => {
  const openai = new MockOpenAI({ [OPENAI_KEY]: "ok" })
  const anthropic = new MockAnthropic({ [ANTHROPIC_KEY]: "ok" })
  let relay: RelayProcess
  let key: string

  before(async () => {
    const [openaiUrl, anthropicUrl] = await Promise.all([openai.start(), anthropic.start()])
    relay = await startRelay({
      config: CONFIG,
      env: { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: openaiUrl, ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: anthropicUrl }
    })
    key = (await createAccount(relay, { name: "sdks", credits: "10" })).key
  })

  after(async () => {
    await relay.stop()
    await Promise.all([openai.stop(), anthropic.stop()])
  })

  for (const model of ["gpt-4o-mini", "claude-sonnet-4-6"]) {
    it(`the Vercel AI SDK's openai(model) generates and streams text on ${model}`, async () => {
      const { generateText, streamText } = clientPackage("ai") as AiSdk
      const { createOpenAI } = clientPackage("@ai-sdk/openai") as AiSdkOpenAI
      const provider = createOpenAI({ baseURL: relay.baseURL, apiKey: key })
      const before = openai.responses.length + anthropic.messages.length
      const generated = await generateText({ model: provider(model), prompt: "hello from the ai sdk" })
      assert.equal(generated.text, "hello from the ai sdk")
      assert.ok(generated.usage.inputTokens! > 0)
      let streamed = ""
      for await (const delta of streamText({ model: provider(model), prompt: "streamed from the ai sdk" }).textStream) streamed += delta
      assert.equal(streamed, "streamed from the ai sdk")
      assert.equal(openai.responses.length + anthropic.messages.length, before + 2, "both went to the upstream")
    })

    it(`LangChain's ChatOpenAI with useResponsesApi answers on ${model}`, async () => {
      const { ChatOpenAI } = clientPackage("@langchain/openai") as LangChainOpenAI
      const chat = new ChatOpenAI({ model, apiKey: key, useResponsesApi: true, maxRetries: 0, configuration: { baseURL: relay.baseURL } })
      const answer = await chat.invoke("hello from langchain")
      assert.equal(answer.text, "hello from langchain")
      assert.ok((answer.usage_metadata?.input_tokens ?? 0) > 0)
    })
  }
})
