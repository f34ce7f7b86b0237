import assert from "node:assert/strict"
import { rmSync, statSync } from "node:fs"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import Database from "better-sqlite3"
import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { type AccountView, chat, createAccount } from "../helpers/accounts.ts"
import { MockAnthropic } from "../helpers/mock-anthropic.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { ROOT, type RelayProcess, startRelay } from "../helpers/relay.ts"

const METERED_CONFIG = join(ROOT, "test/fixtures/relay.metered-config.ts")
const SHARED = "sk-shared-pool-key-000"
const OWN = "sk-user-own-key-4242"
const OWN_ANTHROPIC = "sk-ant-user-own-7777"

const putCredential = (relay: RelayProcess, key: string, provider: string, apiKey: string) =>
  fetch(`${relay.baseURL}/account/byok/${provider}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ api_key: apiKey })
  })

describe("BYOK: /byok/v1 with the caller's own stored credentials", () => {
  const mock = new MockOpenAI({ [SHARED]: "ok", [OWN]: "ok" })
  const claude = new MockAnthropic({ "sk-ant-shared-000": "ok", [OWN_ANTHROPIC]: "ok" })
  let relay: RelayProcess
  const bodies: Array<string> = []
  const read = async (response: Response) => {
    const text = await response.text()
    bodies.push(text)
    return text
  }

  before(async () => {
    const upstream = await mock.start()
    const anthropicUpstream = await claude.start()
    relay = await startRelay({
      config: METERED_CONFIG,
      env: { OPENAI_API_KEY: SHARED, OPENAI_BASE_URL: upstream, ANTHROPIC_API_KEY: "sk-ant-shared-000", ANTHROPIC_BASE_URL: anthropicUpstream }
    })
  })

  after(async () => {
    await relay.stop()
    await mock.stop()
    await claude.stop()
  })

  it("stores a credential and shows only a hint of it", async () => {
    const { key } = await createAccount(relay, { name: "byok-store" })
    const put = await putCredential(relay, key, "openai", OWN)
    assert.equal(put.status, 200)
    const stored = JSON.parse(await read(put)) as { provider: string; key_hint: string; created_at: string }
    assert.equal(stored.provider, "openai")
    assert.equal(stored.key_hint, "...4242")
    const listed = await fetch(`${relay.baseURL}/account/byok`, { headers: { authorization: `Bearer ${key}` } })
    const list = JSON.parse(await read(listed)) as { data: Array<{ provider: string; key_hint: string }> }
    assert.deepEqual(list.data.map((c) => [c.provider, c.key_hint]), [["openai", "...4242"]])
    const db = new Database(join(relay.dataDir, "relay.db"), { readonly: true })
    const rows = db.prepare("SELECT * FROM byok_credentials").all()
    db.close()
    assert.ok(!JSON.stringify(rows).includes(OWN), "sealed at rest")
    assert.ok(!Buffer.from(JSON.stringify(rows)).includes(Buffer.from(OWN)))
  })

  it("rejects unknown providers and malformed keys with 400", async () => {
    const { key } = await createAccount(relay, { name: "byok-bad" })
    const unknown = await putCredential(relay, key, "nope", OWN)
    assert.equal(unknown.status, 400)
    assert.match(await read(unknown), /unknown provider/)
    const echoProvider = await putCredential(relay, key, "echo", OWN)
    assert.equal(echoProvider.status, 400, "the offline provider takes no key")
    const spaced = await putCredential(relay, key, "openai", "has spaces in it")
    assert.equal(spaced.status, 400)
    assert.equal(JSON.parse(await read(spaced)).error.param, "api_key")
  })

  it("sends exactly the stored key upstream, never the shared one, and charges no tokens", async () => {
    const { account, key } = await createAccount(relay, { name: "byok-use", credits: "1.00" })
    await putCredential(relay, key, "openai", OWN)
    const client = new OpenAI({ baseURL: `${relay.url}/byok/v1`, apiKey: key, maxRetries: 0 })
    const { data, response } = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "my own key" }] })
      .withResponse()
    assert.equal(data.choices[0]?.message.content, "my own key")
    assert.equal(mock.chats.at(-1)!.headers.authorization, `Bearer ${OWN}`)
    assert.equal(response.headers.get("x-ratelimit-limit"), "60", "BYOK traffic counts toward the limits")

    const stream = await client.chat.completions.create({ model: "gpt-4.1-nano", stream: true, messages: [{ role: "user", content: "uncatalogued ok" }] })
    let text = ""
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
    assert.equal(text, "uncatalogued ok", "an uncatalogued model is routed by its name on BYOK")
    assert.equal(mock.chats.at(-1)!.headers.authorization, `Bearer ${OWN}`)

    await new Promise((resolve) => setTimeout(resolve, 100))
    const me = (await (await fetch(`${relay.baseURL}/account`, { headers: { authorization: `Bearer ${key}` } })).json()) as AccountView
    assert.equal(me.balance, "1.000000000", "no token charges on BYOK")
    const usage = (await (await relay.admin("GET", `/admin/accounts/${account.id}/usage`)).json()) as { data: Array<{ byok: boolean; cost: string }> }
    assert.equal(usage.data.length, 2)
    assert.ok(usage.data.every((r) => r.byok && r.cost === "0.000000000"))
  })

  it("serves Anthropic SDK clients on /byok with the stored Anthropic key, for Claude and for GPT models", async () => {
    const { key } = await createAccount(relay, { name: "byok-anthropic" })
    assert.equal((await putCredential(relay, key, "anthropic", OWN_ANTHROPIC)).status, 200)
    const client = new Anthropic({ baseURL: `${relay.url}/byok`, apiKey: key, maxRetries: 0 })
    const reply = await client.messages.create({ model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content: "bring my own" }] })
    assert.equal(reply.content[0]?.type === "text" ? reply.content[0].text : "", "bring my own")
    assert.equal(claude.messages.at(-1)!.headers["x-api-key"], OWN_ANTHROPIC)

    const streamed = await client.messages.stream({ model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content: "streamed own" }] }).finalMessage()
    assert.equal(streamed.content[0]?.type === "text" ? streamed.content[0].text : "", "streamed own")
    assert.equal(claude.messages.at(-1)!.headers["x-api-key"], OWN_ANTHROPIC)

    // A GPT model on the Messages surface uses the caller's OpenAI key, which this account lacks.
    const before = mock.requests.length
    await assert.rejects(
      client.messages.create({ model: "gpt-4o-mini", max_tokens: 100, messages: [{ role: "user", content: "no openai key" }] }),
      (error: unknown) => error instanceof Anthropic.PermissionDeniedError && /byok_credential_missing/.test(error.message)
    )
    assert.equal(mock.requests.length, before)
    await putCredential(relay, key, "openai", OWN)
    const translated = await client.messages.create({ model: "gpt-4o-mini", max_tokens: 100, messages: [{ role: "user", content: "gpt via messages" }] })
    assert.equal(translated.content[0]?.type === "text" ? translated.content[0].text : "", "gpt via messages")
    assert.equal(mock.chats.at(-1)!.headers.authorization, `Bearer ${OWN}`)
    assert.ok(!JSON.stringify(claude.messages.map((m) => m.headers)).includes(SHARED))
  })

  it("answers 403 byok_credential_missing without a credential, sending nothing upstream", async () => {
    const { key } = await createAccount(relay, { name: "byok-missing", credits: "1.00" })
    const before = mock.requests.length
    const answer = await chat(relay, key, { model: "gpt-4o-mini" }, "/byok/v1/chat/completions")
    assert.equal(answer.status, 403)
    const body = JSON.parse(await read(answer)) as { error: { code: string; type: string } }
    assert.equal(body.error.code, "byok_credential_missing")
    assert.equal(mock.requests.length, before, "the shared pool is never used")

    await putCredential(relay, key, "openai", OWN)
    assert.equal((await chat(relay, key, { model: "gpt-4o-mini" }, "/byok/v1/chat/completions")).status, 200)
    const deleted = await fetch(`${relay.baseURL}/account/byok/openai`, { method: "DELETE", headers: { authorization: `Bearer ${key}` } })
    assert.equal(deleted.status, 204)
    const after = mock.requests.length
    assert.equal((await chat(relay, key, { model: "gpt-4o-mini" }, "/byok/v1/chat/completions")).status, 403, "a deleted key is dropped at once")
    assert.equal(mock.requests.length, after)
  })

  it("reports an upstream 401 as the caller's own key being rejected, without echoing it", async () => {
    const { key } = await createAccount(relay, { name: "byok-rejected" })
    const wrong = "sk-user-wrong-key-9999"
    await putCredential(relay, key, "openai", wrong)
    const answer = await chat(relay, key, { model: "gpt-4o-mini" }, "/byok/v1/chat/completions")
    assert.equal(answer.status, 401)
    const text = await read(answer)
    assert.match(text, /rejected your stored credential/)
    assert.ok(!text.includes(wrong))
    assert.equal(mock.requests.filter((r) => r.headers.authorization === `Bearer ${wrong}`).length, 1, "not retried on another key")
  })

  it("fails cleanly when a sealed credential was tampered with", async () => {
    const { account, key } = await createAccount(relay, { name: "byok-tampered" })
    await putCredential(relay, key, "openai", OWN)
    const db = new Database(join(relay.dataDir, "relay.db"))
    const row = db.prepare("SELECT ciphertext FROM byok_credentials WHERE account_id = ?").get(account.id) as { ciphertext: Buffer }
    row.ciphertext[0] = row.ciphertext[0]! ^ 0xff
    db.prepare("UPDATE byok_credentials SET ciphertext = ? WHERE account_id = ?").run(row.ciphertext, account.id)
    db.close()
    const answer = await chat(relay, key, { model: "gpt-4o-mini" }, "/byok/v1/chat/completions")
    assert.equal(answer.status, 500)
    assert.match(await read(answer), /could not be decrypted/)
    assert.equal((await fetch(`${relay.url}/healthz`)).status, 200, "the relay is still up")
    await putCredential(relay, key, "openai", OWN)
    assert.equal((await chat(relay, key, { model: "gpt-4o-mini" }, "/byok/v1/chat/completions")).status, 200)
  })

  it("keeps every credential usable across a master-key rotation", async () => {
    const { key } = await createAccount(relay, { name: "byok-rotation" })
    await putCredential(relay, key, "openai", OWN)
    const keyFile = join(relay.dataDir, "master.key")
    assert.equal(statSync(keyFile).mode & 0o777, 0o600)
    const rotated = await relay.admin("POST", "/admin/vault/rotate")
    assert.equal(rotated.status, 200)
    const result = (await rotated.json()) as { key_id: string; generated: boolean; resealed: number }
    assert.equal(result.generated, true)
    assert.ok(result.resealed >= 1)
    const db = new Database(join(relay.dataDir, "relay.db"), { readonly: true })
    const ids = db.prepare("SELECT DISTINCT key_id FROM byok_credentials").all() as Array<{ key_id: string }>
    db.close()
    assert.deepEqual(ids.map((r) => r.key_id), [result.key_id])
    assert.equal((await chat(relay, key, { model: "gpt-4o-mini" }, "/byok/v1/chat/completions")).status, 200)
  })

  it("never lets a stored key out: not in any response, not in the relay's output", () => {
    for (const body of bodies) assert.ok(!body.includes(OWN) && !body.includes(OWN_ANTHROPIC))
    const output = relay.output()
    assert.ok(!output.includes(OWN))
    assert.ok(!output.includes(OWN_ANTHROPIC))
    assert.ok(!output.includes("sk-user-wrong-key-9999"))
  })
})

describe("BYOK with master keys from the environment", () => {
  it("opens credentials sealed under a previous key and re-seals them under the current one", async () => {
    const mock = new MockOpenAI({ [OWN]: "ok" })
    const upstream = await mock.start()
    const first = "a".repeat(64)
    const second = Buffer.alloc(32, 9).toString("base64")
    const env = { OPENAI_BASE_URL: upstream }
    const a = await startRelay({ config: METERED_CONFIG, env: { ...env, RELAY_MASTER_KEY: first }, keepData: true })
    const { key } = await createAccount(a, { name: "env-keys" })
    assert.equal((await putCredential(a, key, "openai", OWN)).status, 200)
    await a.stop()
    try {
      const b = await startRelay({ config: METERED_CONFIG, dataDir: a.dataDir, env: { ...env, RELAY_MASTER_KEY: second, RELAY_MASTER_KEY_PREVIOUS: first } })
      assert.equal((await chat(b, key, { model: "gpt-4o-mini" }, "/byok/v1/chat/completions")).status, 200)
      const rotated = (await (await b.admin("POST", "/admin/vault/rotate")).json()) as { generated: boolean; resealed: number }
      assert.deepEqual(rotated.generated, false)
      assert.equal(rotated.resealed, 1)
      await b.stop()
      const c = await startRelay({ config: METERED_CONFIG, dataDir: a.dataDir, env: { ...env, RELAY_MASTER_KEY: second } })
      assert.equal((await chat(c, key, { model: "gpt-4o-mini" }, "/byok/v1/chat/completions")).status, 200, "the old key is no longer needed")
      await c.stop()
      const bad = await startRelay({ config: METERED_CONFIG, dataDir: a.dataDir, env: { ...env, RELAY_MASTER_KEY: "too-short" } }).catch((error: Error) => error)
      assert.ok(bad instanceof Error)
      assert.match(bad.message, /RELAY_MASTER_KEY: key 1 is not 32 bytes/)
    } finally {
      rmSync(a.dataDir, { recursive: true, force: true })
      await mock.stop()
    }
  })
})
