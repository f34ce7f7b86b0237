import assert from "node:assert/strict"
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type AddressInfo, createServer, type Server } from "node:net"
import { after, before, describe, it } from "node:test"
import OpenAI from "openai"
import { createAccount } from "../helpers/accounts.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { type RelayProcess, ROOT, runRelayToExit, startRelay } from "../helpers/relay.ts"

const SHIPPED_CONFIG = join(ROOT, "relay.config.ts")
const METERED_CONFIG = join(ROOT, "test/fixtures/relay.metered-config.ts")

describe("first run with the shipped config", () => {
  it("creates its data directory and a default account, prints its key once, and answers the README's request with no provider key", async () => {
    const home = mkdtempSync(join(tmpdir(), "relay-first-run-"))
    const dataDir = join(home, "data")
    try {
      const first = await startRelay({ config: SHIPPED_CONFIG, dataDir, env: { OPENAI_API_KEY: undefined } })
      assert.equal(statSync(dataDir).mode & 0o777, 0o700, "the data directory is the operator's alone")
      const key = first.firstRunKey
      assert.match(key ?? "", /^sk-rr-[0-9A-Za-z]{40}$/)
      assert.equal(first.output().split(key!).length - 1, 1, "the key is printed exactly once")

      const response = await fetch(`${first.baseURL}/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "Hello!" }] })
      })
      assert.equal(response.status, 200)
      const body = (await response.json()) as { choices: Array<{ message: { content: string } }>; usage: { completion_tokens: number } }
      assert.equal(body.choices[0]?.message.content, "Hello!")
      assert.ok(body.usage.completion_tokens > 0)

      const client = new OpenAI({ baseURL: first.baseURL, apiKey: key, maxRetries: 0 })
      const stream = await client.chat.completions.create({ model: "echo-1", stream: true, messages: [{ role: "user", content: "stream me please" }] })
      let text = ""
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
      assert.equal(text, "stream me please")

      const health = await fetch(`${first.url}/healthz`)
      assert.deepEqual(await health.json(), { status: "ok" })
      assert.equal(await first.stop(), 0)

      const second = await startRelay({ config: SHIPPED_CONFIG, dataDir, env: { OPENAI_API_KEY: undefined } })
      assert.equal(second.firstRunKey, undefined, "a second start prints no key")
      const reused = await fetch(`${second.baseURL}/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "again" }] })
      })
      assert.equal(reused.status, 200, "the key survives a restart")
      assert.equal(await second.stop("SIGINT"), 0)
      // What an operator's log collector gets: JSON records only, no runtime's own warnings.
      for (const line of second.output().split("\n").filter(Boolean)) {
        assert.doesNotThrow(() => JSON.parse(line), `not a log record: ${line}`)
      }
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })

  it("serves gpt models through OPENAI_API_KEY and OPENAI_BASE_URL", async () => {
    const mock = new MockOpenAI({ "sk-env-a": "fail500", "sk-env-b": "ok" })
    const upstream = await mock.start()
    const relay = await startRelay({ config: SHIPPED_CONFIG, env: { OPENAI_API_KEY: "sk-env-a, sk-env-b", OPENAI_BASE_URL: upstream } })
    try {
      const accounts = (await (await relay.admin("GET", "/admin/accounts")).json()) as { data: Array<{ id: string }> }
      assert.equal((await relay.admin("POST", `/admin/accounts/${accounts.data[0]!.id}/credits`, { amount: "1.00" })).status, 200)
      const client = new OpenAI({ baseURL: relay.baseURL, apiKey: relay.firstRunKey, maxRetries: 0 })
      const reply = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "pool" }] })
      assert.equal(reply.choices[0]?.message.content, "pool")
      assert.deepEqual(
        mock.chats.map((r) => r.headers.authorization).sort(),
        ["Bearer sk-env-a", "Bearer sk-env-b"],
        "a comma-separated variable is a pool of two keys"
      )
    } finally {
      await relay.stop()
      await mock.stop()
    }
  })
})

describe("one relay per data directory", () => {
  it("a second relay on a directory a running relay serves refuses to start and says why; once the first stops, it starts on the same store", async () => {
    const own = "sk-user-own-key-5151"
    const mock = new MockOpenAI({ "sk-shared-000": "ok", [own]: "ok" })
    const env = { OPENAI_API_KEY: "sk-shared-000", OPENAI_BASE_URL: await mock.start() }
    const dataDir = mkdtempSync(join(tmpdir(), "relay-twins-"))
    const a = await startRelay({ config: METERED_CONFIG, dataDir, env })
    try {
      // Two relays on one store would admit against the same balance and limits twice.
      await assert.rejects(startRelay({ config: METERED_CONFIG, dataDir, env }), (error: Error) => {
        assert.match(error.message, /exited with 1 before listening/)
        assert.match(error.message, /another relay is serving from the store .*relay\.db/)
        assert.doesNotMatch(error.message, /\n\s+at /, "a message, not a stack trace")
        return true
      })
      const { key } = await createAccount(a, { name: "twin-byok", credits: "1.00" })
      const put = await fetch(`${a.baseURL}/account/byok/openai`, {
        method: "PUT",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ api_key: own })
      })
      assert.equal(put.status, 200)
      assert.equal(await a.stop(), 0)

      // The lock goes with its process: the next relay on the directory starts, on the same store.
      const b = await startRelay({ config: METERED_CONFIG, dataDir, env })
      try {
        assert.equal(b.firstRunKey, undefined, "the store already has its default account")
        const client = new OpenAI({ baseURL: `${b.url}/byok/v1`, apiKey: key, maxRetries: 0 })
        const reply = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "sealed by the other" }] })
        assert.equal(reply.choices[0]?.message.content, "sealed by the other")
        assert.equal(mock.chats.at(-1)!.headers.authorization, `Bearer ${own}`, "the credential one relay sealed opens in the next")
      } finally {
        await b.stop()
      }
    } finally {
      await a.stop()
      await mock.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it("a relay killed outright leaves no lock behind", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "relay-killed-"))
    try {
      const a = await startRelay({ dataDir })
      await a.stop("SIGKILL")
      const b = await startRelay({ dataDir })
      assert.equal((await fetch(`${b.url}/healthz`)).status, 200)
      assert.equal(await b.stop(), 0)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

/**
 * Runs `during` against a relay with one slow stream open (mock-slow: 100 chunks 30 ms apart),
 * its first chunk read; stops both processes afterwards.
 */
const withOpenStream = async (during: (relay: RelayProcess, rest: AsyncIterator<OpenAI.ChatCompletionChunk>) => Promise<void>) => {
  const mock = new MockOpenAI({ "sk-drain": "ok" })
  const upstream = await mock.start()
  const relay = await startRelay({ env: { OPENAI_API_KEY: "sk-drain", OPENAI_BASE_URL: upstream } })
  try {
    const client = new OpenAI({ baseURL: relay.baseURL, apiKey: relay.firstRunKey, maxRetries: 0 })
    const stream = await client.chat.completions.create({ model: "mock-slow", stream: true, messages: [{ role: "user", content: "drain" }] })
    const iterator = stream[Symbol.asyncIterator]()
    await iterator.next()
    await during(relay, iterator)
  } finally {
    await relay.stop()
    await mock.stop()
  }
}

describe("graceful shutdown", () => {
  it("lets an in-flight stream finish on SIGTERM, refuses new connections, then exits 0", () =>
    withOpenStream(async (relay, iterator) => {
      const exit = relay.stop("SIGTERM")
      await new Promise((resolve) => setTimeout(resolve, 200))
      await assert.rejects(fetch(`${relay.url}/healthz`), "no new connections while draining")
      let chunks = 1
      let finish: string | null | undefined
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        chunks++
        finish = next.value.choices[0]?.finish_reason ?? finish
      }
      assert.equal(finish, "stop", "the stream ran to its end")
      assert.equal(chunks, 102)
      assert.equal(await exit, 0)
      assert.match(relay.output(), /"msg":"stopped"/)
    }))

  for (const [first, second, code] of [["SIGTERM", "SIGINT", 130], ["SIGINT", "SIGTERM", 143]] as const) {
    it(`${second} after ${first} ends the process at once, without waiting for the stream`, () =>
      withOpenStream(async (relay, iterator) => {
        const exited = new Promise<number | null>((resolve) => relay.child.once("exit", resolve))
        relay.child.kill(first)
        await new Promise((resolve) => setTimeout(resolve, 200))
        relay.child.kill(second)
        assert.equal(await exited, code)
        // The stream had three seconds left: it was cut, not waited for.
        await assert.rejects(async () => {
          for (let next = await iterator.next(); !next.done; next = await iterator.next());
        })
      }))
  }
})

describe("a log reader that falls behind", () => {
  it("never stops the relay: while nobody reads its output, requests are answered, and every line arrives once it is read again", { timeout: 120_000 }, async () => {
    const relay = await startRelay({ config: SHIPPED_CONFIG, env: { OPENAI_API_KEY: undefined } })
    const lines = () => relay.output().split('"msg":"request"').length - 1
    try {
      const before = lines()
      // Nobody reads the relay's stdout now: the pipe fills, and a relay that waits for it to
      // take its next line answers nothing more.
      relay.child.stdout!.pause()
      // Each answer logs a line (an admin request's, which no rate limit refuses): these fill
      // the pipe several times over.
      const REQUESTS = 4_000
      const ask = async () => {
        const response = await relay.admin("GET", "/admin/accounts")
        await response.arrayBuffer()
        return response.status
      }
      const statuses: Array<number> = []
      for (let sent = 0; sent < REQUESTS; sent += 50) statuses.push(...(await Promise.all(Array.from({ length: 50 }, ask))))
      assert.deepEqual(new Set(statuses), new Set([200]))
      assert.equal((await fetch(`${relay.url}/healthz`)).status, 200)
      relay.child.stdout!.resume()
      for (let waited = 0; lines() - before < REQUESTS && waited < 30_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50))
      assert.equal(lines() - before, REQUESTS, "each request's line arrives, none lost")
    } finally {
      relay.child.stdout!.resume()
      await relay.stop()
    }
  })
})

describe("a relay that cannot start stops with a message naming what failed", () => {
  const cases: Array<[string, string, RegExp]> = [
    ["a model with a negative cap", `models: [{ id: "m", provider: "echo", maxOutputTokens: -5 }], plugins: [keys(), echo()]`, /models\[0\]\.maxOutputTokens/],
    ["a value that is not a plugin", `plugins: [keys(), "openai"]`, /plugins\[1\]/],
    ["a port out of range", `server: { port: 70000 }, plugins: [keys(), echo()]`, /server\.port/],
    ["no plugins", `plugins: []`, /plugins/],
    ["a default tier that is not a tier", `defaultTier: "gold", plugins: [keys(), echo()]`, /defaultTier/],
    ["a plugin option of the wrong type", `plugins: [keys(), openai({ keys: "sk-a,sk-b" }), echo()]`, /plugins\[1\] \(openai\): its setup failed/],
    [
      "a limiter whose default tier is not one of its tiers",
      `plugins: [keys(), limiter({ tiers: { solo: { rpm: 1, tpm: 1 } }, defaultTier: "gold" }), echo()]`,
      /plugins\[1\] \(limiter\): its setup failed: defaultTier: expected one of its tiers \(solo\)/
    ],
    [
      "a limiter tier that is not a whole number of requests",
      `plugins: [keys(), limiter({ tiers: { solo: { rpm: -1, tpm: 1 } } }), echo()]`,
      /plugins\[1\] \(limiter\): its setup failed: tiers\.solo\.rpm: expected a whole number from 0, got -1/
    ],
    [
      "two plugins that provide the same service",
      `plugins: [keys(), { ...keys(), name: "more-keys" }, echo()]`,
      /plugins "keys" and "more-keys" both provide relay\/AccountDirectory/
    ]
  ]
  for (const [name, body, expected] of cases) {
    it(name, async () => {
      const dir = mkdtempSync(join(tmpdir(), "relay-config-"))
      const file = join(dir, "relay.config.ts")
      writeFileSync(file, `export default ({ echo, keys, limiter, openai }) => ({ ${body} })\n`)
      try {
        const { code, output } = await runRelayToExit({ RELAY_CONFIG: file })
        assert.equal(code, 1)
        assert.match(output, expected)
        assert.match(output, /config is invalid/)
        assert.ok(!/\n\s+at /.test(output), "a message, not a stack trace")
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  }

  // Past the config, each start-up step that fails names itself; none prints a stack trace.
  const environments: Array<[string, () => Record<string, string>, RegExp]> = [
    ["an unknown LOG_LEVEL", () => ({ LOG_LEVEL: "verbose" }), /LOG_LEVEL must be one of trace, debug, info/],
    ["a store in a directory that does not exist", () => ({ RELAY_CONFIG: storeConfig("/nonexistent/dir/relay.db") }), /the store \/nonexistent\/dir\/relay\.db could not be opened/],
    ["a host that does not resolve", () => ({ HOST: "no such host" }), /could not listen on no such host:0/],
    ["a port already in use", () => ({ HOST: "127.0.0.1", PORT: String(busyPort) }), /could not listen on 127\.0\.0\.1:\d+/]
  ]
  let busy: Server | undefined
  let busyPort = 0
  const configs = mkdtempSync(join(tmpdir(), "relay-startup-"))
  const storeConfig = (path: string) => {
    const file = join(configs, "store.config.ts")
    writeFileSync(file, `export default ({ echo, keys }) => ({ store: { path: ${JSON.stringify(path)} }, plugins: [keys(), echo()] })\n`)
    return file
  }
  before(async () => {
    busy = createServer()
    await new Promise<void>((listening) => busy!.listen(0, "127.0.0.1", listening))
    busyPort = (busy.address() as AddressInfo).port
  })
  after(() => {
    busy?.close()
    rmSync(configs, { recursive: true, force: true })
  })
  for (const [name, env, expected] of environments) {
    it(name, async () => {
      const { code, output } = await runRelayToExit(env())
      assert.equal(code, 1)
      assert.match(output, expected)
      assert.ok(!/\n\s+at /.test(output), "a message, not a stack trace")
    })
  }

  it("a missing config file", async () => {
    const { code, output } = await runRelayToExit({ RELAY_CONFIG: "/nonexistent/relay.config.ts" })
    assert.equal(code, 1)
    assert.match(output, /could not be loaded/)
  })
})
