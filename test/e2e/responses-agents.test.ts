import assert from "node:assert/strict"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { createAccount } from "../helpers/accounts.ts"
import { clientPackage } from "../helpers/clients.ts"
import { MockAnthropic } from "../helpers/mock-anthropic.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { eventually, ROOT, type RelayProcess, startRelay } from "../helpers/relay.ts"

type Agents = typeof import("../clients/node_modules/@openai/agents")
type OpenAIModule = typeof import("../clients/node_modules/openai")
type Zod = typeof import("../clients/node_modules/zod")

const CONFIG = join(ROOT, "test/fixtures/relay.responses-config.ts")
const OPENAI_KEY = "sk-agents-openai"
const ANTHROPIC_KEY = "sk-ant-agents"

/**
 * The OpenAI Agents SDK for JavaScript with its default model provider (the Responses API)
 * pointed at the relay: an agent with one function tool runs it and answers from its result.
 */
describe("the OpenAI Agents SDK through /v1/responses", () => {
  const openai = new MockOpenAI({ [OPENAI_KEY]: "ok" })
  const anthropic = new MockAnthropic({ [ANTHROPIC_KEY]: "ok" })
  let relay: RelayProcess
  let agents: Agents
  let z: Zod["z"]
  let key: string

  before(async () => {
    const [openaiUrl, anthropicUrl] = await Promise.all([openai.start(), anthropic.start()])
    relay = await startRelay({
      config: CONFIG,
      env: { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: openaiUrl, ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: anthropicUrl }
    })
    key = (await createAccount(relay, { name: "agents", credits: "10" })).key
    agents = clientPackage("@openai/agents") as Agents
    z = (clientPackage("zod") as Zod).z
    const { default: OpenAI } = clientPackage("openai") as OpenAIModule
    // Nothing leaves this machine: no traces exported to OpenAI.
    agents.setTracingDisabled(true)
    // The type names the SDK's own install of openai, which this one is (test/clients is a link).
    const client = new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 }) as unknown as Parameters<Agents["setDefaultOpenAIClient"]>[0]
    agents.setDefaultOpenAIClient(client)
  })

  after(async () => {
    await relay.stop()
    await Promise.all([openai.stop(), anthropic.stop()])
  })

  const weatherAgent = (model: string, calls: Array<string>) =>
    new agents.Agent({
      name: "Weather",
      instructions: "Answer with the weather the tool gives.",
      model,
      tools: [
        agents.tool({
          name: "get_weather",
          description: "The weather in a city",
          parameters: z.object({ city: z.string() }),
          execute: ({ city }) => {
            calls.push(city)
            return `18C clear in ${city}`
          }
        })
      ]
    })

  for (const [model, upstream] of [["gpt-4o-mini", "openai"], ["claude-sonnet-4-6", "anthropic"]] as const) {
    it(`runs an agent with a function tool on ${model}`, async () => {
      const calls: Array<string> = []
      const result = await agents.run(weatherAgent(model, calls), "Weather? <call tool=\"get_weather\">{\"city\":\"Paris\"}</call>")
      assert.deepEqual(calls, ["Paris"])
      assert.equal(result.finalOutput, "tool said: 18C clear in Paris")
      if (upstream === "openai") {
        assert.equal(openai.responses.length >= 2, true)
        assert.equal(openai.responses.at(-1)!.body.model, "gpt-4o-mini")
      } else {
        const sent = anthropic.messages.at(-1)!.body
        assert.deepEqual((sent.system as Array<{ text: string }>)[0]!.text, "Answer with the weather the tool gives.")
        assert.deepEqual((sent.tools as Array<{ name: string }>).map((tool) => tool.name), ["get_weather"])
      }
      // Each turn of the agent is a request of its own, recorded and charged on the Responses surface.
      await eventually(async () => {
        const usage = await fetch(`${relay.url}/v1/account/usage`, { headers: { authorization: `Bearer ${key}` } })
        const records = ((await usage.json()) as { data: Array<{ surface: string; model: string; cost: string }> }).data
        const turns = records.filter((record) => record.model === model)
        assert.equal(turns.length, 2)
        assert.ok(turns.every((record) => record.surface === "responses" && record.cost !== "0.000000000"), "both turns are charged on the responses surface")
      })
    })
  }
})
