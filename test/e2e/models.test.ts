import assert from "node:assert/strict"
import { after, before, describe, it } from "node:test"
import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { type RelayProcess, ROOT, startRelay } from "../helpers/relay.ts"

describe("GET /v1/models: the priced catalog", () => {
  let relay: RelayProcess
  let client: OpenAI

  before(async () => {
    relay = await startRelay({ config: `${ROOT}/relay.config.ts`, env: { OPENAI_API_KEY: "sk-unused" } })
    client = new OpenAI({ baseURL: relay.baseURL, apiKey: relay.firstRunKey, maxRetries: 0 })
  })

  after(async () => {
    await relay.stop()
  })

  it("lists the served models in OpenAI's shape with kind, limits and sell-side prices", async () => {
    const models = []
    for await (const model of client.models.list()) models.push(model as unknown as Record<string, unknown>)
    const ids = models.map((m) => m.id)
    for (const id of ["gpt-5.5", "gpt-4o-mini", "claude-sonnet-4-6", "gemini-2.5-flash", "text-embedding-3-small", "gpt-image-2", "echo-1"]) {
      assert.ok(ids.includes(id), id)
    }
    const sonnet = models.find((m) => m.id === "claude-sonnet-4-6")!
    assert.deepEqual(sonnet.pricing, { input: "3", cached_input: "0.3", cache_write: "3.75", output: "15" })
    const mini = models.find((m) => m.id === "gpt-4o-mini")!
    assert.deepEqual(
      { object: mini.object, owned_by: mini.owned_by, kind: mini.kind, context_window: mini.context_window, max_output_tokens: mini.max_output_tokens, pricing: mini.pricing },
      { object: "model", owned_by: "openai", kind: "chat", context_window: 128_000, max_output_tokens: 16_384, pricing: { input: "0.15", cached_input: "0.075", output: "0.6" } }
    )
    assert.equal(typeof mini.created, "number")
    const image = models.find((m) => m.id === "gpt-image-2")!
    assert.deepEqual(image.pricing, { input: "5", cached_input: "1.25", image_input: "8", image_cached_input: "2", image_output: "30" })
  })

  it("serves the Anthropic SDK the same catalog, in the fields it reads", async () => {
    const anthropic = new Anthropic({ baseURL: relay.url, apiKey: relay.firstRunKey!, maxRetries: 0 })
    const models = []
    for await (const model of anthropic.models.list()) models.push(model)
    const sonnet = models.find((m) => m.id === "claude-sonnet-4-6")!
    assert.equal(sonnet.type, "model")
    assert.equal(sonnet.display_name, "claude-sonnet-4-6")
    assert.match(sonnet.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
    assert.equal(new Set(models.map((m) => m.id)).size, models.length, "one page, no model twice")
    const one = await anthropic.models.retrieve("gpt-4o-mini")
    assert.equal(one.id, "gpt-4o-mini")
    assert.equal(one.type, "model")
  })

  it("answers one model, or 404 in OpenAI's shape", async () => {
    const model = await client.models.retrieve("text-embedding-3-small")
    assert.equal(model.id, "text-embedding-3-small")
    await assert.rejects(client.models.retrieve("no-such-model"), (error: unknown) => error instanceof OpenAI.NotFoundError)
  })

  it("needs a relay key, on /v1 and /byok/v1", async () => {
    assert.equal((await fetch(`${relay.baseURL}/models`)).status, 401)
    const byok = await fetch(`${relay.url}/byok/v1/models`, { headers: { authorization: `Bearer ${relay.firstRunKey}` } })
    assert.equal(byok.status, 200)
    assert.equal(((await byok.json()) as { object: string }).object, "list")
  })
})
