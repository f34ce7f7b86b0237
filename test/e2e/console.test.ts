import assert from "node:assert/strict"
import { after, before, describe, it } from "node:test"
import { type AccountView, chat, createAccount } from "../helpers/accounts.ts"
import { ConsoleVisitor } from "../helpers/console.ts"
import { ADMIN_KEY, type RelayProcess, ROOT, startRelay } from "../helpers/relay.ts"

const WEB_CONFIG = `${ROOT}/test/fixtures/relay.web-config.ts`

describe("console over HTTP: sessions, CSRF, and what each party may do", () => {
  let relay: RelayProcess

  before(async () => {
    relay = await startRelay({ config: WEB_CONFIG })
  })

  after(async () => {
    await relay.stop()
  })

  it("sets an HttpOnly, SameSite=Strict session cookie, Secure when reached over https", async () => {
    const plain = new ConsoleVisitor(relay.url)
    const page = await plain.get("/console")
    assert.equal(page.status, 200)
    assert.match(page.html, /<label for="key">API key<\/label>/)
    assert.equal(page.response.headers.get("cache-control"), "no-store")
    assert.match(page.response.headers.get("content-security-policy") ?? "", /script-src 'self'/)
    const cookie = plain.setCookies[0]!
    assert.match(cookie, /^relay_console=[^;]+; Max-Age=\d+; Path=\/console; HttpOnly; SameSite=Strict$/)

    const proxied = new ConsoleVisitor(relay.url, { "x-forwarded-proto": "https" })
    await proxied.get("/console")
    assert.match(proxied.setCookies[0]!, /; Secure/)
  })

  it("signs a user in with a relay key, keeping neither the key in the cookie nor the old session id", async () => {
    const { account, key } = await createAccount(relay, { name: "console-user", credits: "2.50" })
    const visitor = new ConsoleVisitor(relay.url)
    await visitor.get("/console")
    const before = visitor.cookie
    const signedIn = await visitor.post("/console/sign-in", { key })
    assert.equal(signedIn.status, 303)
    assert.notEqual(visitor.cookie, before, "a new session id at sign-in")
    assert.ok(!visitor.cookie!.includes(key.slice(6, 20)))
    const html = (await visitor.get("/console")).html
    assert.match(html, /console-user/)
    assert.match(html, new RegExp(account.id))
    assert.match(html, /\$2\.50/)
    assert.ok(!html.includes(key), "the key never appears on the page")
  })

  it("refuses a wrong key without signing in", async () => {
    const visitor = new ConsoleVisitor(relay.url)
    await visitor.get("/console")
    const response = await visitor.post("/console/sign-in", { key: "sk-rr-000000000000000000000000000000000000wrong" })
    assert.equal(response.status, 303)
    const page = await visitor.get("/console")
    assert.match(page.html, /role="alert">That key is not valid/)
    assert.match(page.html, /Sign in to the console/)
  })

  it("refuses every form post without the session's CSRF token, before acting", async () => {
    const { account, key } = await createAccount(relay, { name: "console-csrf" })
    const visitor = new ConsoleVisitor(relay.url)
    await visitor.signIn(key)
    const keysBefore = ((await (await relay.admin("GET", `/admin/accounts/${account.id}/keys`)).json()) as { data: unknown[] }).data.length

    assert.equal((await visitor.post("/console/keys", { name: "no token" }, null)).status, 403)
    assert.equal((await visitor.post("/console/keys", { name: "bad token" }, "x".repeat(32))).status, 403)
    const other = new ConsoleVisitor(relay.url)
    await other.get("/console")
    assert.equal((await visitor.post("/console/keys", { name: "foreign token" }, other.csrf)).status, 403)
    // A sign-in form needs its token too: no logging a browser into someone else's account.
    assert.equal((await new ConsoleVisitor(relay.url).post("/console/sign-in", { key }, null)).status, 403)

    const keysAfter = ((await (await relay.admin("GET", `/admin/accounts/${account.id}/keys`)).json()) as { data: unknown[] }).data.length
    assert.equal(keysAfter, keysBefore)
  })

  it("shows a new key once, and ends the session when its own key is revoked", async () => {
    const { account, key } = await createAccount(relay, { name: "console-keys" })
    const visitor = new ConsoleVisitor(relay.url)
    await visitor.signIn(key)
    assert.equal((await visitor.post("/console/keys", { name: "ci" })).status, 303)
    const shown = await visitor.get("/console")
    const issued = /<code id="new-key">(sk-rr-[0-9A-Za-z]+)<\/code>/.exec(shown.html)?.[1]
    assert.ok(issued, "the new key is on the page once")
    assert.equal((await chat(relay, issued, { model: "echo-1" })).status, 200, "and it works")
    assert.ok(!(await visitor.get("/console")).html.includes(issued), "and never again")

    const keys = ((await (await relay.admin("GET", `/admin/accounts/${account.id}/keys`)).json()) as { data: Array<{ id: string; name: string }> }).data
    const own = keys.find((k) => k.name !== "ci")!
    assert.equal((await visitor.post(`/console/keys/${own.id}/revoke`, {})).status, 303)
    const after = await visitor.get("/console")
    assert.match(after.html, /Your session ended: the API key it signed in with was revoked/)
    assert.match(after.html, /Sign in to the console/)
    assert.equal((await chat(relay, key, { model: "echo-1" })).status, 401)
  })

  it("lets a user revoke only their own keys, and not reach the operator's pages", async () => {
    const mine = await createAccount(relay, { name: "console-mine" })
    const theirs = await createAccount(relay, { name: "console-theirs" })
    const theirKeys = ((await (await relay.admin("GET", `/admin/accounts/${theirs.account.id}/keys`)).json()) as { data: Array<{ id: string }> }).data
    const visitor = new ConsoleVisitor(relay.url)
    await visitor.signIn(mine.key)
    assert.equal((await visitor.post(`/console/keys/${theirKeys[0]!.id}/revoke`, {})).status, 303)
    assert.match((await visitor.get("/console")).html, /No such active key on your account/)
    assert.equal((await chat(relay, theirs.key, { model: "echo-1" })).status, 200, "their key still works")

    assert.equal((await visitor.post("/console/accounts", { name: "sneaky" })).status, 403)
    assert.equal((await visitor.get(`/console/accounts/${theirs.account.id}`)).status, 303)
  })

  it("lets a restricted key revoke no key, as the account API does, and shows it no revoke button", async () => {
    const { account, key: parent } = await createAccount(relay, { name: "console-restricted" })
    const made = await fetch(`${relay.baseURL}/account/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${parent}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "ci", models: ["echo-1"] })
    })
    assert.equal(made.status, 201)
    const child = ((await made.json()) as { key: string }).key
    const keys = ((await (await relay.admin("GET", `/admin/accounts/${account.id}/keys`)).json()) as { data: Array<{ id: string; name: string | null }> }).data
    const parentId = keys.find((k) => k.name !== "ci")!.id
    const revokeForm = new RegExp(`action="/console/keys/${parentId}/revoke"`)

    const unrestricted = new ConsoleVisitor(relay.url)
    await unrestricted.signIn(parent)
    assert.match((await unrestricted.get("/console")).html, revokeForm, "a key of no restrictions sees revoke buttons")

    const visitor = new ConsoleVisitor(relay.url)
    await visitor.signIn(child)
    assert.doesNotMatch((await visitor.get("/console")).html, /\/revoke"/, "no revoke button for a restricted key")
    assert.equal((await visitor.post(`/console/keys/${parentId}/revoke`, {})).status, 303)
    assert.match((await visitor.get("/console")).html, /Only a key with no restrictions may revoke keys/)
    assert.equal((await chat(relay, parent, { model: "echo-1" })).status, 200, "the parent key still works")
  })

  it("stores, lists and deletes BYOK credentials, showing only a hint", async () => {
    const { key } = await createAccount(relay, { name: "console-byok" })
    const visitor = new ConsoleVisitor(relay.url)
    await visitor.signIn(key)
    const secret = "sk-console-own-openai-9876"
    assert.equal((await visitor.post("/console/byok", { provider: "openai", api_key: secret })).status, 303)
    const page = (await visitor.get("/console")).html
    assert.match(page, /Saved your openai key \(\.\.\.9876\)/)
    assert.ok(!page.includes(secret))
    const listed = (await (await fetch(`${relay.baseURL}/account/byok`, { headers: { authorization: `Bearer ${key}` } })).json()) as { data: Array<{ provider: string }> }
    assert.deepEqual(listed.data.map((c) => c.provider), ["openai"])

    await visitor.post("/console/byok", { provider: "nope", api_key: secret })
    assert.match((await visitor.get("/console")).html, /unknown provider/)

    assert.equal((await visitor.post("/console/byok/openai/delete", {})).status, 303)
    assert.match((await visitor.get("/console")).html, /Deleted your openai key/)
    const after = (await (await fetch(`${relay.baseURL}/account/byok`, { headers: { authorization: `Bearer ${key}` } })).json()) as { data: unknown[] }
    assert.deepEqual(after.data, [])
  })

  it("lets the operator manage accounts, limits, credits and keys through the same rules as the admin API", async () => {
    const visitor = new ConsoleVisitor(relay.url)
    const home = await visitor.signIn(ADMIN_KEY)
    assert.match(home, /<h1>Accounts<\/h1>/)
    assert.ok(!home.includes(ADMIN_KEY))

    // The admin API's rule for names, with its message.
    await visitor.post("/console/accounts", { name: "x".repeat(201) })
    assert.match((await visitor.get("/console")).html, /role="alert">name: expected 1 to 200 characters, not counting spaces at either end/)

    const created = await visitor.post("/console/accounts", { name: "<script>alert(1)</script>", tier: "professional" })
    assert.equal(created.status, 303)
    const location = created.headers.get("location")!
    const id = /\/console\/accounts\/(acct_[0-9A-Za-z]+)$/.exec(location)?.[1]
    assert.ok(id, location)
    const page = (await visitor.get(location)).html
    assert.ok(!page.includes("<script>alert(1)</script>"), "names are escaped")
    assert.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/)

    await visitor.post(`${location}/limits`, { tier: "starter", rpm: "7", tpm: "" })
    await visitor.post(`${location}/credits`, { amount: "3.25", note: "welcome" })
    let account = (await (await relay.admin("GET", `/admin/accounts/${id}`)).json()) as AccountView
    assert.deepEqual({ tier: account.tier, limits: account.limits, balance: account.balance }, {
      tier: "starter",
      limits: { rpm: 7, tpm: 100_000 },
      balance: "3.250000000"
    })

    await visitor.post(`${location}/limits`, { tier: "gold", rpm: "", tpm: "" })
    assert.match((await visitor.get(location)).html, /unknown tier &quot;gold&quot;/)
    await visitor.post(`${location}/credits`, { amount: "1.2345678901" })
    assert.match((await visitor.get(location)).html, /Amount: expected a USD amount with at most 9 decimals/)
    // The admin API's limit on notes, with its message.
    await visitor.post(`${location}/credits`, { amount: "1", note: "n".repeat(501) })
    assert.match((await visitor.get(location)).html, /role="alert">note: expected at most 500 characters/)
    account = (await (await relay.admin("GET", `/admin/accounts/${id}`)).json()) as AccountView
    assert.equal(account.balance, "3.250000000", "a refused amount or note books nothing")

    await visitor.post(`${location}/keys`, { name: "ops" })
    const issued = /<code id="new-key">(sk-rr-[0-9A-Za-z]+)<\/code>/.exec((await visitor.get(location)).html)?.[1]
    assert.ok(issued)
    assert.equal((await chat(relay, issued, { model: "echo-1" })).status, 200)
    const keys = ((await (await relay.admin("GET", `/admin/accounts/${id}/keys`)).json()) as { data: Array<{ id: string }> }).data
    await visitor.post(`${location}/keys/${keys[0]!.id}/revoke`, {})
    assert.equal((await chat(relay, issued, { model: "echo-1" })).status, 401)

    assert.equal((await visitor.post("/console/sign-out", {})).status, 303)
    assert.match((await visitor.get("/console")).html, /Sign in to the console/)
  })
})

describe("console sign-in under brute force", () => {
  let relay: RelayProcess

  before(async () => {
    relay = await startRelay({ config: WEB_CONFIG })
  })

  after(async () => {
    await relay.stop()
  })

  it("refuses the address with 429 and Retry-After after 30 wrong keys in a minute", async () => {
    const visitor = new ConsoleVisitor(relay.url)
    await visitor.get("/console")
    for (let i = 0; i < 30; i++) {
      const response = await visitor.post("/console/sign-in", { key: `sk-rr-${String(i).padStart(40, "0")}` })
      assert.equal(response.status, 303, `attempt ${i + 1}`)
      await visitor.get("/console")
    }
    assert.equal((await visitor.post("/console/sign-in", { key: "sk-rr-wrong-once-more-000000000000000000000" })).status, 303)
    const refused = await visitor.post("/console/sign-in", { key: ADMIN_KEY })
    assert.equal(refused.status, 429)
    assert.ok(Number(refused.headers.get("retry-after")) >= 1)
  })
})
