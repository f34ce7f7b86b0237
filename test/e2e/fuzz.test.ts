import assert from "node:assert/strict"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { createAccount } from "../helpers/accounts.ts"
import { FUZZ_ROUTES, fuzzCase, nested } from "../helpers/fuzz-bodies.ts"
import { MockAnthropic } from "../helpers/mock-anthropic.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { ROOT, type RelayProcess, startRelay } from "../helpers/relay.ts"

/** Bodies per run: enough for `npm test` to stay within a minute; `RELAY_FUZZ_BODIES` for more. */
const BODIES = Number(process.env.RELAY_FUZZ_BODIES ?? 20_000)
const SEED = Number(process.env.RELAY_FUZZ_SEED ?? 1)
const CONCURRENCY = 16

interface Failure {
  readonly index: number
  readonly path: string
  readonly status: number
  readonly answer: string
}

describe("hostile bodies on every proxied route", () => {
  const openai = new MockOpenAI({ "sk-fuzz-openai": "ok" })
  const anthropic = new MockAnthropic({ "sk-fuzz-anthropic": "ok" })
  let relay: RelayProcess
  let key: string

  before(async () => {
    relay = await startRelay({
      config: join(ROOT, "test/fixtures/relay.fuzz-config.ts"),
      env: {
        OPENAI_API_KEY: "sk-fuzz-openai",
        OPENAI_BASE_URL: await openai.start(),
        ANTHROPIC_API_KEY: "sk-fuzz-anthropic",
        ANTHROPIC_BASE_URL: await anthropic.start()
      }
    })
    const created = await createAccount(relay, { name: "fuzz", credits: "1000" })
    key = created.key
    await relay.admin("PATCH", `/admin/accounts/${created.account.id}`, { rpm: 10_000_000, tpm: 1_000_000_000_000 })
  })

  after(async () => {
    await relay?.stop()
    await openai.stop()
    await anthropic.stop()
  })

  const send = (path: string, body: string) =>
    fetch(`${relay.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body })

  it(`answers ${BODIES} generated and mutated bodies with no 5xx`, { timeout: 600_000 }, async () => {
    const failures: Array<Failure> = []
    const statuses = new Map<number, number>()
    let next = 0
    const worker = async () => {
      while (next < BODIES) {
        const index = next++
        const { route, body } = fuzzCase(SEED, index)
        const response = await send(route.path, body)
        const answer = await response.text()
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        if (response.status >= 500) failures.push({ index, path: route.path, status: response.status, answer: answer.slice(0, 300) })
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    assert.deepEqual(failures.slice(0, 5), [], `seed ${SEED}: ${failures.length} server errors; statuses ${JSON.stringify([...statuses])}`)
    // The corpus reaches past the decoders: some bodies are served, most are refused.
    assert.ok((statuses.get(200) ?? 0) > BODIES / 50, JSON.stringify([...statuses]))
    assert.ok((statuses.get(400) ?? 0) > BODIES / 4, JSON.stringify([...statuses]))
    assert.doesNotMatch(relay.output(), /"level":50|Maximum call stack|RangeError/)
  })

  it("refuses a fractional output limit with a 400 naming the field, on every chat route", async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["/v1/messages", { model: "claude-sonnet-4-6", max_tokens: 10, max_completion_tokens: 0.5, messages: [{ role: "user", content: "hi" }] }, "max_completion_tokens"],
      ["/v1/messages/count_tokens", { model: "claude-sonnet-4-6", max_tokens: 0.5, messages: [{ role: "user", content: "hi" }] }, "max_tokens"],
      ["/v1/chat/completions", { model: "gpt-4o-mini", max_output_tokens: 2.5, messages: [{ role: "user", content: "hi" }] }, "max_output_tokens"]
    ]
    for (const [path, body, field] of cases) {
      const response = await send(path, JSON.stringify(body))
      assert.equal(response.status, 400, path)
      assert.match(await response.text(), new RegExp(field))
    }
  })

  it("refuses nesting deeper than the documented limit with a 400 in the surface's shape", async () => {
    for (const route of FUZZ_ROUTES.filter((r) => !r.path.startsWith("/byok"))) {
      const body = JSON.stringify({ ...route.seeds[0], metadata: "__DEEP__" }).replace("\"__DEEP__\"", nested(10_000, "array"))
      const response = await send(route.path, body)
      assert.equal(response.status, 400, route.path)
      const text = await response.text()
      assert.match(text, /nest/i, route.path)
      if (route.path.startsWith("/v1/messages")) assert.equal((JSON.parse(text) as { type: string }).type, "error")
      else assert.equal(typeof (JSON.parse(text) as { error: { message: string } }).error.message, "string")
    }
    // A deep tool schema (within the limit) still passes.
    const response = await send("/v1/chat/completions", JSON.stringify({
      model: "echo-1",
      messages: [{ role: "user", content: "hi" }],
      tools: [{ type: "function", function: { name: "deep", parameters: JSON.parse(nested(40, "object")) } }]
    }))
    assert.equal(response.status, 200)
  })
})
