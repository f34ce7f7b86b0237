import assert from "node:assert/strict"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import OpenAI from "openai"
import { ADMIN_KEY, eventually, type RelayProcess, ROOT, startRelay } from "../helpers/relay.ts"

const METERED_CONFIG = join(ROOT, "test/fixtures/relay.metered-config.ts")

interface AccountView {
  id: string
  name: string
  tier: string
  limits: { rpm: number | null; tpm: number | null }
}

interface KeyView {
  id: string
  key?: string
  prefix: string
  name: string | null
  created_at: string
  revoked_at: string | null
}

const chatWith = (relay: RelayProcess, key: string) =>
  fetch(`${relay.baseURL}/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "hi" }] })
  })

describe("admin API: accounts and keys", () => {
  let relay: RelayProcess

  before(async () => {
    relay = await startRelay()
  })

  after(async () => {
    await relay.stop()
  })

  it("leaves a log line for each admin and account call, without a secret, and none for health probes", async () => {
    const created = await relay.admin("POST", "/admin/accounts", { name: "logged" })
    const account = (await created.json()) as AccountView
    const issued = (await (await relay.admin("POST", `/admin/accounts/${account.id}/keys`, {})).json()) as KeyView
    await fetch(`${relay.baseURL}/account`, { headers: { authorization: `Bearer ${issued.key}` } })
    await fetch(`${relay.url}/healthz`)
    await eventually(() => {
      const lines = relay.output().split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>)
      const calls = lines.filter((line) => line.msg === "request" && typeof line.path === "string").map((line) => `${line.method} ${line.path} ${line.status}`)
      assert.ok(calls.includes("POST /admin/accounts 201"), calls.join("\n"))
      assert.ok(calls.includes(`POST /admin/accounts/${account.id}/keys 201`), "the key issued is logged")
      assert.ok(calls.includes("GET /v1/account 200"), "the account call is logged")
      assert.ok(!calls.some((call) => call.includes("/healthz")), "health probes are not logged")
    })
    assert.ok(!relay.output().includes(issued.key!), "the issued key is in its answer only")
    assert.ok(!relay.output().includes(ADMIN_KEY))
  })

  it("refuses a wrong or missing admin key with 401", async () => {
    const wrong = await fetch(`${relay.url}/admin/accounts`, { headers: { authorization: "Bearer nope" } })
    assert.equal(wrong.status, 401)
    const missing = await fetch(`${relay.url}/admin/accounts`)
    assert.equal(missing.status, 401)
    const body = (await missing.json()) as { error: { code: string } }
    assert.equal(body.error.code, "invalid_api_key")
  })

  it("accepts the admin key whatever the case of the Bearer scheme", async () => {
    for (const scheme of ["Bearer", "bearer", "BEARER"]) {
      const response = await fetch(`${relay.url}/admin/accounts/acct_none`, { headers: { authorization: `${scheme} ${ADMIN_KEY}` } })
      assert.equal(response.status, 404, `${scheme}: past the admin check to the unknown account`)
    }
    const basic = await fetch(`${relay.url}/admin/accounts/acct_none`, { headers: { authorization: `Basic ${ADMIN_KEY}` } })
    assert.equal(basic.status, 401, "another scheme is refused")
  })

  it("does not accept a relay key as the admin key", async () => {
    const response = await fetch(`${relay.url}/admin/accounts`, { headers: { authorization: `Bearer ${relay.firstRunKey}` } })
    assert.equal(response.status, 401)
  })

  it("creates an account, issues a key that works with the SDK, lists it without plaintext, revokes it", async () => {
    const created = await relay.admin("POST", "/admin/accounts", { name: "acme", tier: "professional" })
    assert.equal(created.status, 201)
    const account = (await created.json()) as AccountView
    assert.match(account.id, /^acct_/)
    assert.deepEqual({ name: account.name, tier: account.tier, limits: account.limits }, {
      name: "acme",
      tier: "professional",
      limits: { rpm: 300, tpm: 500_000 }
    })

    const issued = await relay.admin("POST", `/admin/accounts/${account.id}/keys`, { name: "ci" })
    assert.equal(issued.status, 201)
    const key = (await issued.json()) as KeyView
    assert.match(key.key!, /^sk-rr-[0-9A-Za-z]{40}$/)
    assert.equal(key.prefix, key.key!.slice(0, 12))

    const client = new OpenAI({ baseURL: relay.baseURL, apiKey: key.key, maxRetries: 0 })
    const { response } = await client.chat.completions
      .create({ model: "echo-1", messages: [{ role: "user", content: "who am i" }] })
      .withResponse()
    assert.equal(response.headers.get("x-audit-account"), account.id, "the key authenticates as its own account")

    const listed = (await (await relay.admin("GET", `/admin/accounts/${account.id}/keys`)).json()) as { data: Array<KeyView> }
    assert.equal(listed.data.length, 1)
    assert.equal(listed.data[0]!.id, key.id)
    assert.equal(listed.data[0]!.revoked_at, null)
    assert.ok(!JSON.stringify(listed).includes(key.key!), "the plaintext key is shown only once")

    const revoked = await relay.admin("DELETE", `/admin/keys/${key.id}`)
    assert.equal(revoked.status, 204)
    // Revocation through this relay applies at once; the spec allows up to 1 s.
    assert.equal((await chatWith(relay, key.key!)).status, 401)
    const again = (await (await relay.admin("GET", `/admin/accounts/${account.id}/keys`)).json()) as { data: Array<KeyView> }
    assert.notEqual(again.data[0]!.revoked_at, null)
    assert.equal((await relay.admin("DELETE", `/admin/keys/${key.id}`)).status, 404)
  })

  it("stores keys only as hashes", async () => {
    const { default: Database } = await import("better-sqlite3")
    const db = new Database(`${relay.dataDir}/relay.db`, { readonly: true })
    const rows = db.prepare("SELECT * FROM api_keys").all() as Array<Record<string, unknown>>
    db.close()
    assert.ok(rows.length >= 1)
    const dump = JSON.stringify(rows)
    assert.ok(!dump.includes(relay.firstRunKey!), "no plaintext key in the store")
    for (const row of rows) assert.match(String(row.hash), /^[0-9a-f]{64}$/)
  })

  it("shows a third-party plugin the same account through the services the plugins provide", async () => {
    const account = (await (await relay.admin("POST", "/admin/accounts", { name: "seen-by-audit", tier: "professional" })).json()) as AccountView
    const seen = await relay.admin("GET", `/test/accounts/${account.id}`)
    assert.equal(seen.status, 200)
    assert.deepEqual(await seen.json(), account)
    const missing = await relay.admin("GET", "/test/accounts/acct_missing")
    assert.equal(missing.status, 404)
    assert.equal(((await missing.json()) as { error: { message: string } }).error.message, "no account acct_missing")
  })

  it("refuses a per-account limit, which this relay has no rate limiter to enforce, and writes nothing", async () => {
    const account = (await (await relay.admin("POST", "/admin/accounts", { name: "unlimited" })).json()) as AccountView
    for (const change of [{ rpm: 5 }, { tier: "professional", tpm: 1_000 }]) {
      const refused = await relay.admin("PATCH", `/admin/accounts/${account.id}`, change)
      assert.equal(refused.status, 400)
      const { error } = (await refused.json()) as { error: { type: string; param: string; message: string } }
      const field = "rpm" in change ? "rpm" : "tpm"
      assert.deepEqual([error.type, error.param], ["invalid_request_error", field])
      assert.equal(error.message, `${field}: this relay has no rate limiter, so a per-account limit would not be enforced; add limiter() to the config's plugins`)
    }
    assert.deepEqual(await (await relay.admin("GET", `/admin/accounts/${account.id}`)).json(), account, "a refused change changes nothing")
    const tierOnly = await relay.admin("PATCH", `/admin/accounts/${account.id}`, { tier: "professional", rpm: null })
    assert.equal(tierOnly.status, 200, "clearing an override there is none of is no limit to refuse")
    assert.deepEqual(((await tierOnly.json()) as AccountView).limits, { rpm: 300, tpm: 500_000 })
  })

  it("refuses a field it does not know, and a change that changes nothing, instead of ignoring them", async () => {
    const refused = async (answer: Response, param: string | null, message: string) => {
      assert.equal(answer.status, 400)
      const { error } = (await answer.json()) as { error: { type: string; param: string | null; message: string } }
      assert.deepEqual([error.type, error.param, error.message], ["invalid_request_error", param, message])
    }
    const account = (await (await relay.admin("POST", "/admin/accounts", { name: "strict" })).json()) as AccountView
    const path = `/admin/accounts/${account.id}`
    await refused(await relay.admin("PATCH", path, { rpn: 5 }), "rpn", "rpn: unknown field; expected one of tier, rpm, tpm")
    await refused(await relay.admin("PATCH", path, { tier: "professional", rpn: 5 }), "rpn", "rpn: unknown field; expected one of tier, rpm, tpm")
    await refused(await relay.admin("PATCH", path, {}), null, "nothing to change: expected at least one of tier, rpm, tpm")
    const unchanged = (await (await relay.admin("GET", path)).json()) as AccountView
    assert.deepEqual(unchanged, account, "a refused change changes nothing")

    await refused(
      await relay.admin("POST", "/admin/accounts", { name: "typo", teir: "professional" }),
      "teir",
      "teir: unknown field; expected one of name, tier, credits"
    )
    const names = ((await (await relay.admin("GET", "/admin/accounts")).json()) as { data: Array<AccountView> }).data.map((a) => a.name)
    assert.ok(!names.includes("typo"), "a refused body creates no account")

    await refused(await relay.admin("POST", `${path}/keys`, { nmae: "ci" }), "nmae", "nmae: unknown field; expected one of name, spend_limit, spend_period, models, expires_at, rpm, tpm, metadata")
    assert.deepEqual(((await (await relay.admin("GET", `${path}/keys`)).json()) as { data: unknown[] }).data, [])
  })

  it("rejects bad admin input with 400s that name the field, and unknown ids with 404", async () => {
    const noName = await relay.admin("POST", "/admin/accounts", { tier: "starter" })
    assert.equal(noName.status, 400)
    assert.equal(((await noName.json()) as { error: { param: string } }).error.param, "name")
    for (const name of ["", "   ", "x".repeat(201)]) {
      const badName = await relay.admin("POST", "/admin/accounts", { name })
      assert.equal(badName.status, 400, JSON.stringify(name))
      const { error } = (await badName.json()) as { error: { type: string; param: string; message: string } }
      assert.deepEqual([error.type, error.param, error.message], [
        "invalid_request_error",
        "name",
        "name: expected 1 to 200 characters, not counting spaces at either end"
      ])
    }
    const padded = await relay.admin("POST", "/admin/accounts", { name: ` ${"x".repeat(200)} ` })
    assert.equal(padded.status, 201)
    assert.equal(((await padded.json()) as AccountView).name, "x".repeat(200), "names are kept trimmed")
    const badTier = await relay.admin("POST", "/admin/accounts", { name: "x", tier: "platinum" })
    assert.equal(badTier.status, 400)
    assert.match(((await badTier.json()) as { error: { message: string } }).error.message, /platinum/)
    const badRpm = await relay.admin("PATCH", "/admin/accounts/whatever", { rpm: -1 })
    assert.equal(badRpm.status, 400)
    assert.equal((await relay.admin("GET", "/admin/accounts/acct_missing")).status, 404)
    assert.equal((await relay.admin("POST", "/admin/accounts/acct_missing/keys", {})).status, 404)
  })

  it("issues a key without a body", async () => {
    const account = (await (await relay.admin("POST", "/admin/accounts", { name: "bodyless" })).json()) as AccountView
    const response = await fetch(`${relay.url}/admin/accounts/${account.id}/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}` }
    })
    assert.equal(response.status, 201)
  })

  it("never logs the admin key or an issued key", () => {
    const output = relay.output().replace(relay.firstRunKey!, "")
    assert.ok(!output.includes(ADMIN_KEY))
    assert.ok(!/sk-rr-[0-9A-Za-z]{40}/.test(output))
  })
})

describe("admin API: per-account limits, kept by the limiter", () => {
  let relay: RelayProcess

  before(async () => {
    relay = await startRelay({ config: METERED_CONFIG, env: { OPENAI_API_KEY: "sk-unused" } })
  })

  after(async () => {
    await relay.stop()
  })

  it("applies tier changes and overrides to the account at once", async () => {
    const account = (await (await relay.admin("POST", "/admin/accounts", { name: "tiered" })).json()) as AccountView
    assert.equal(account.tier, "starter", "the config's default tier")
    const patched = await relay.admin("PATCH", `/admin/accounts/${account.id}`, { tier: "professional", rpm: 5 })
    assert.equal(patched.status, 200)
    assert.deepEqual(((await patched.json()) as AccountView).limits, { rpm: 5, tpm: 500_000 })
    const cleared = (await (await relay.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: null })).json()) as AccountView
    assert.deepEqual(cleared.limits, { rpm: 300, tpm: 500_000 })
    const fetched = (await (await relay.admin("GET", `/admin/accounts/${account.id}`)).json()) as AccountView
    assert.equal(fetched.tier, "professional")
  })

  it("enforces an override from the next request, and the account API shows it", async () => {
    const account = (await (await relay.admin("POST", "/admin/accounts", { name: "held", credits: "1.00" })).json()) as AccountView
    const { key } = (await (await relay.admin("POST", `/admin/accounts/${account.id}/keys`, {})).json()) as { key: string }
    assert.equal((await relay.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 1, tpm: 9_000 })).status, 200)
    const own = (await (await fetch(`${relay.url}/v1/account`, { headers: { authorization: `Bearer ${key}` } })).json()) as AccountView
    assert.deepEqual(own.limits, { rpm: 1, tpm: 9_000 })
    const first = await chatWith(relay, key)
    assert.equal(first.status, 200)
    assert.equal(first.headers.get("x-ratelimit-limit"), "1")
    assert.equal(first.headers.get("x-ratelimit-limit-tokens"), "9000")
    await first.body?.cancel()
    const second = await chatWith(relay, key)
    assert.equal(second.status, 429)
    await second.body?.cancel()
  })
})

describe("admin API without RELAY_ADMIN_KEY", () => {
  it("does not exist (404)", async () => {
    const relay = await startRelay({ env: { RELAY_ADMIN_KEY: undefined } })
    try {
      const response = await fetch(`${relay.url}/admin/accounts`, { headers: { authorization: "Bearer anything" } })
      assert.equal(response.status, 404)
    } finally {
      await relay.stop()
    }
  })
})

describe("revocation from another process", () => {
  it("stops a cached key within one second", async () => {
    const relay = await startRelay()
    try {
      const key = relay.firstRunKey!
      assert.equal((await chatWith(relay, key)).status, 200, "the key is now cached")
      const { default: Database } = await import("better-sqlite3")
      const db = new Database(`${relay.dataDir}/relay.db`)
      db.prepare("UPDATE api_keys SET revoked_at = ?").run(Date.now())
      db.close()
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      assert.equal((await chatWith(relay, key)).status, 401)
    } finally {
      await relay.stop()
    }
  })
})
