import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { chat, createAccount } from "../helpers/accounts.ts"
import { CHROMIUM_ARGS, ensureChromium } from "../helpers/chromium.ts"
import { ADMIN_KEY, type RelayProcess, ROOT, startRelay } from "../helpers/relay.ts"

const WEB_CONFIG = join(ROOT, "test/fixtures/relay.web-config.ts")
const browser = ensureChromium()

describe("browser: the docs page and the console in chromium", { skip: "skip" in browser ? browser.skip : false }, () => {
  let relay: RelayProcess
  let context: BrowserContext
  let profile: string

  /** A fresh page with no cookies, as a new visitor has. */
  const visit = async (path: string): Promise<Page> => {
    await context.clearCookies()
    const page = await context.newPage()
    await page.goto(`${relay.url}${path}`)
    return page
  }

  const signIn = async (key: string): Promise<Page> => {
    const page = await visit("/console")
    await page.getByLabel("API key").fill(key)
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByText("Signed in.").waitFor()
    return page
  }

  before(async () => {
    relay = await startRelay({ config: WEB_CONFIG })
    profile = mkdtempSync(join(tmpdir(), "relay-chromium-"))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: "path" in browser ? browser.path : undefined,
      headless: true,
      args: CHROMIUM_ARGS
    })
  })

  after(async () => {
    await context?.close()
    await relay?.stop()
    if (profile) rmSync(profile, { recursive: true, force: true })
  })

  it("renders the docs page's model catalog with its prices, styled, with this relay's URL", async () => {
    const page = await visit("/docs")
    assert.equal(await page.title(), "Rocket Relay API documentation")
    const catalog = page.locator("#model-catalog")
    const mini = catalog.getByRole("row", { name: /gpt-4o-mini/ })
    assert.deepEqual(await mini.getByRole("cell").allInnerTexts(), ["openai", "chat", "128,000", "1,000", "$0.15", "$0.075", "$0.60"])
    assert.equal(await catalog.getByRole("row", { name: /claude-sonnet-4-6/ }).count(), 0)
    assert.deepEqual(await catalog.locator("tbody th").allInnerTexts(), ["gpt-4o-mini", "mock-slow", "text-embedding-3-small", "echo-1"])
    assert.match(await page.locator("figure").filter({ has: page.getByText("cURL", { exact: true }) }).locator("pre").innerText(), new RegExp(`^curl ${relay.url}/v1/chat/completions`))
    const tiers = page.locator("#rate-tiers")
    assert.deepEqual(await tiers.getByRole("row", { name: /Professional/ }).getByRole("cell").allInnerTexts(), ["300", "500,000"])
    // The stylesheet loaded under the page's content policy.
    assert.equal(await page.locator("pre").first().evaluate((el) => getComputedStyle(el).backgroundColor), "rgb(16, 20, 26)")
    await page.keyboard.press("Tab")
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content")
    await page.close()
  })

  it("signs a user in with a relay key, in a session cookie the page's scripts cannot read", async () => {
    const { key } = await createAccount(relay, { name: "browser-user", credits: "2.50" })
    const wrong = await visit("/console")
    await wrong.getByLabel("API key").fill("sk-rr-thisisnotakeythisisnotakeythisisnot1")
    await wrong.getByRole("button", { name: "Sign in" }).click()
    assert.match(await wrong.getByRole("alert").innerText(), /That key is not valid/)
    await wrong.close()

    const page = await signIn(key)
    assert.equal(await page.getByRole("heading", { level: 1 }).innerText(), "browser-user")
    assert.equal(await page.locator("#balance").innerText(), "$2.50")
    assert.match(await page.locator("svg.chart").getAttribute("aria-labelledby") ?? "", /spend-title/)
    const cookies = await context.cookies(`${relay.url}/console`)
    assert.equal(cookies.length, 1)
    assert.deepEqual({ name: cookies[0]!.name, httpOnly: cookies[0]!.httpOnly, sameSite: cookies[0]!.sameSite }, { name: "relay_console", httpOnly: true, sameSite: "Strict" })
    assert.ok(!cookies[0]!.value.includes(key.slice(6)))
    assert.deepEqual(await page.evaluate(() => [document.cookie, localStorage.length, sessionStorage.length]), ["", 0, 0])
    assert.ok(!(await page.content()).includes(key))
    await page.close()
  })

  it("creates a key that works, shows it once, and revokes it", async () => {
    const { key } = await createAccount(relay, { name: "browser-keys" })
    const page = await signIn(key)
    await page.getByLabel("Key name").fill("laptop")
    await page.getByRole("button", { name: "Create key" }).click()
    const issued = await page.locator("#new-key").innerText()
    assert.match(issued, /^sk-rr-[0-9A-Za-z]{40}$/)
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Copy", "focus moves to the new key's Copy button")
    assert.equal((await chat(relay, issued, { model: "echo-1" })).status, 200)

    await page.reload()
    assert.equal(await page.locator("#new-key").count(), 0, "shown only once")
    const row = page.locator("#keys").getByRole("row", { name: /laptop/ })
    assert.match(await row.innerText(), /active/)
    await row.getByRole("button", { name: "Revoke key laptop" }).click()
    assert.equal(await page.getByRole("status").innerText(), "Key revoked.")
    assert.match(await page.locator("#keys").getByRole("row", { name: /laptop/ }).innerText(), /revoked/)
    assert.equal((await chat(relay, issued, { model: "echo-1" })).status, 401)
    await page.close()
  })

  it("adds, replaces and deletes a BYOK credential, showing only its hint", async () => {
    const { key } = await createAccount(relay, { name: "browser-byok" })
    const page = await signIn(key)
    const save = async (secret: string) => {
      await page.getByLabel("Provider", { exact: true }).selectOption("openai")
      await page.getByLabel("Provider API key").fill(secret)
      await page.getByRole("button", { name: "Save provider key" }).click()
    }
    await save("sk-browser-own-key-1234")
    assert.equal(await page.getByRole("status").innerText(), "Saved your openai key (...1234).")
    await save("sk-browser-own-key-5678")
    const rows = page.locator("#byok tbody tr")
    assert.equal(await rows.count(), 1, "a second key for the provider replaces the first")
    assert.deepEqual((await rows.first().getByRole("cell").allInnerTexts()).slice(0, 1), ["...5678"])
    assert.ok(!(await page.content()).includes("sk-browser-own-key"), "the key itself is never on the page")

    await page.getByRole("button", { name: "Delete openai key" }).click()
    assert.equal(await page.getByRole("status").innerText(), "Deleted your openai key.")
    assert.equal(await page.locator("#byok").count(), 0)
    assert.equal(await page.getByText("No provider keys stored.").count(), 1)
    const listed = (await (await fetch(`${relay.baseURL}/account/byok`, { headers: { authorization: `Bearer ${key}` } })).json()) as { data: unknown[] }
    assert.deepEqual(listed.data, [])
    await page.close()
  })

  it("lets the operator open an account and credit it", async () => {
    const page = await signIn(ADMIN_KEY)
    await page.getByLabel("Name").fill("browser-opened")
    await page.getByLabel("Tier").selectOption("professional")
    await page.getByRole("button", { name: "Create account" }).click()
    assert.equal(await page.getByRole("heading", { level: 1 }).innerText(), "browser-opened")
    await page.getByLabel(/Amount in USD/).fill("12.5")
    await page.getByRole("button", { name: "Add credit" }).click()
    assert.equal(await page.locator("#balance").innerText(), "$12.50")
    await page.getByRole("link", { name: "← All accounts" }).click()
    assert.match(await page.locator("#accounts").getByRole("row", { name: /browser-opened/ }).innerText(), /professional\s+\$12\.50\s+300\s+500,000/)
    await page.close()
  })

  it("makes a key with restrictions from the console, shows its spend against its limit, and never a key wider than the user's", async () => {
    const { key } = await createAccount(relay, { name: "browser-restricted" })
    let page = await signIn(key)
    await page.getByLabel("Key name").fill("ci job")
    await page.getByLabel(/Spend limit in USD/).fill("5")
    await page.getByLabel("Limit resets").selectOption("month")
    await page.getByLabel(/Models/).fill("echo-1")
    await page.getByRole("button", { name: "Create key" }).click()
    const issued = await page.locator("#new-key").innerText()
    assert.equal((await chat(relay, issued, { model: "echo-1" })).status, 200)
    const refused = await chat(relay, issued, { model: "gpt-4o-mini" })
    assert.equal(refused.status, 403)
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "model_not_allowed")
    await page.reload()
    const row = await page.locator("#keys").getByRole("row", { name: /ci job/ }).innerText()
    assert.match(row, /of \$5\.00 this month \(UTC\)/)
    assert.match(row, /models echo-1/)
    await page.close()

    // Signed in with the restricted key, a user cannot make a wider one.
    page = await signIn(issued)
    await page.getByLabel(/Models/).fill("gpt-4o-mini")
    await page.getByRole("button", { name: "Create key" }).click()
    assert.match(await page.getByRole("alert").innerText(), /^models: only models this key may call itself: echo-1/)
    await page.getByLabel("Key name").fill("narrower")
    await page.getByLabel(/Spend limit in USD/).fill("1")
    await page.getByRole("button", { name: "Create key" }).click()
    const narrower = await page.locator("#new-key").innerText()
    assert.equal((await chat(relay, narrower, { model: "gpt-4o-mini" })).status, 403, "it took the signed-in key's model list")
    await page.close()
  })

  it("lets the operator suspend and resume an account, and shows its audit log", async () => {
    const { account, key } = await createAccount(relay, { name: "browser-suspended" })
    const page = await signIn(ADMIN_KEY)
    await page.goto(`${relay.url}/console/accounts/${account.id}`)
    await page.getByRole("button", { name: "Suspend account" }).click()
    assert.match(await page.getByRole("status").innerText(), /^Account suspended/)
    assert.match(await page.locator("#account-status").innerText(), /^Suspended since/)
    const refused = await chat(relay, key, { model: "echo-1" })
    assert.equal(refused.status, 403)
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "account_suspended")
    await page.getByRole("button", { name: "Resume account" }).click()
    assert.equal(await page.locator("#account-status").innerText(), "Active.")
    assert.equal((await chat(relay, key, { model: "echo-1" })).status, 200)
    const audit = await page.locator("#audit").innerText()
    for (const action of ["POST /console/accounts/{id}/resume", "POST /console/accounts/{id}/suspend", "POST /admin/accounts/{id}/keys", "POST /admin/accounts"]) {
      assert.ok(audit.includes(action), `${action} in the audit log:\n${audit}`)
    }
    assert.ok(audit.indexOf("resume") < audit.indexOf("suspend"), "newest first")
    await page.close()
  })
  it("edits a key's restrictions from the console: a user only within their own key, the operator any", async () => {
    const { account, key: wide } = await createAccount(relay, { name: "browser-edited" })
    const issue = async (body: Record<string, unknown>) => ((await (await relay.admin("POST", `/admin/accounts/${account.id}/keys`, body)).json()) as { id: string; key: string })
    const ci = await issue({ name: "ci", models: ["echo-1"], spend_limit: "5", spend_period: "month" })
    const child = await issue({ name: "child", models: ["echo-1"], spend_limit: "1", spend_period: "month" })
    const keyView = async (id: string) =>
      ((await (await relay.admin("GET", `/admin/accounts/${account.id}/keys`)).json()) as { data: Array<Record<string, unknown>> }).data.find((k) => k.id === id)!
    const edit = async (page: Page, row: RegExp, fields: Record<string, string>) => {
      const found = page.locator("#keys").getByRole("row", { name: row })
      await found.locator("summary").click()
      for (const [label, value] of Object.entries(fields)) {
        if (label === "Cap resets") await found.getByLabel(label).selectOption(value)
        else await found.getByLabel(label).fill(value)
      }
      await found.getByRole("button", { name: "Save key" }).click()
    }

    // Signed in with the restricted key: a wider model list is refused, a narrower change saved.
    let page = await signIn(ci.key)
    await edit(page, /^child/, { "Allowed models": "gpt-4o-mini" })
    assert.match(await page.getByRole("alert").innerText(), /^models: only models this key may call itself: echo-1/)
    await edit(page, /^child/, { "Rename to": "child-2", "Cap in USD": "2", "Key rpm": "3", "Key metadata": "{\"team\": \"ci\"}" })
    assert.equal(await page.getByRole("status").innerText(), "Saved key child-2.")
    assert.match(await page.locator("#keys").getByRole("row", { name: /^child-2/ }).innerText(), /of \$2\.00 this month \(UTC\)/)
    const saved = await keyView(child.id)
    assert.deepEqual([saved.spend_limit, saved.spend_period, saved.models, saved.rpm, saved.metadata], ["2.000000000", "month", ["echo-1"], 3, { team: "ci" }])
    await edit(page, /^child-2/, { "Cap in USD": "6" })
    assert.match(await page.getByRole("alert").innerText(), /^spend_limit: at most this key's own limit of \$5/)
    // The unrestricted key is wider than the one signed in: not the restricted key's to change.
    await edit(page, /^\(unnamed\)/, { "Rename to": "mine now" })
    assert.match(await page.getByRole("alert").innerText(), /wider than the key you signed in with/)
    const names = ((await (await relay.admin("GET", `/admin/accounts/${account.id}/keys`)).json()) as { data: Array<{ name: string | null }> }).data.map((k) => k.name)
    assert.deepEqual(names.sort(), ["child-2", "ci", null].sort(), "the wider key kept its name")
    await page.close()

    // The operator may set anything within the account; the change applies to the next request.
    assert.equal((await chat(relay, child.key, { model: "echo-1" })).status, 200)
    page = await signIn(ADMIN_KEY)
    await page.goto(`${relay.url}/console/accounts/${account.id}`)
    await edit(page, /^child-2/, { "Allowed models": "gpt-4o-mini, claude-*", "Cap in USD": "", "Cap resets": "" })
    assert.equal(await page.getByRole("status").innerText(), "Saved key child-2.")
    const widened = await keyView(child.id)
    assert.deepEqual([widened.spend_limit, widened.models], [null, ["gpt-4o-mini", "claude-*"]])
    const refused = await chat(relay, child.key, { model: "echo-1" })
    assert.equal(refused.status, 403)
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "model_not_allowed")
    assert.equal((await chat(relay, wide, { model: "echo-1" })).status, 200)
    await page.close()
  })

  it("deletes an account from the console only once the operator types its id", async () => {
    const { account, key } = await createAccount(relay, { name: "browser-deleted" })
    const page = await signIn(ADMIN_KEY)
    await page.goto(`${relay.url}/console/accounts/${account.id}`)
    await page.getByText("Delete account…").click()
    await page.getByLabel(/Type the account id/).fill("acct_wrong")
    await page.getByRole("button", { name: "Delete account" }).click()
    assert.equal(await page.getByRole("alert").innerText(), `Not deleted: type the account id, ${account.id}, to confirm.`)
    assert.equal((await chat(relay, key, { model: "echo-1" })).status, 200, "still there")

    await page.getByText("Delete account…").click()
    await page.getByLabel(/Type the account id/).fill(account.id)
    await page.getByRole("button", { name: "Delete account" }).click()
    assert.match(await page.getByRole("status").innerText(), new RegExp(`^Deleted account ${account.id}`))
    assert.equal(await page.locator("#accounts").getByRole("row", { name: /browser-deleted/ }).count(), 0)
    assert.equal((await chat(relay, key, { model: "echo-1" })).status, 401)
    assert.equal((await relay.admin("GET", `/admin/accounts/${account.id}`)).status, 404)
    const audit = ((await (await relay.admin("GET", `/admin/audit?account_id=${account.id}`)).json()) as { data: Array<{ action: string }> }).data
    assert.equal(audit[0]!.action, "POST /console/accounts/{id}/delete")
    await page.close()
  })
})
