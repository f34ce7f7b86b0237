import assert from "node:assert/strict"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { type RelayProcess, ROOT, startRelay } from "../helpers/relay.ts"

const WEB_CONFIG = `${ROOT}/test/fixtures/relay.web-config.ts`

/** The cells of the table row whose header cell holds `id` (tags stripped). */
const rowOf = (html: string, id: string): Array<string> | undefined => {
  const row = html.match(new RegExp(`<tr><th scope="row"><code>${id.replace(/[.]/g, "\\.")}</code></th>(.*?)</tr>`))?.[1]
  return row?.match(/<td[^>]*>(.*?)<\/td>/g)?.map((cell) => cell.replace(/<[^>]+>/g, ""))
}

describe("docs page: served by the relay from its running config", () => {
  let relay: RelayProcess

  before(async () => {
    relay = await startRelay({ config: WEB_CONFIG, env: { TEST_DOCS_TITLE: "Acme <Relay> & Co" } })
  })

  after(async () => {
    await relay.stop()
  })

  it("answers at / and /docs as HTML with a strict content policy, without a key", async () => {
    for (const path of ["/", "/docs"]) {
      const response = await fetch(`${relay.url}${path}`)
      assert.equal(response.status, 200)
      assert.equal(response.headers.get("content-type"), "text/html; charset=UTF-8")
      assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'none'/)
      assert.match(await response.text(), /^<!doctype html><html lang="en">/)
    }
    const css = await fetch(`${relay.url}/docs/relay.css`)
    assert.equal(css.status, 200)
    assert.match(css.headers.get("content-type") ?? "", /^text\/css/)
  })

  it("lists the served models with their sell-side prices per 1M tokens, and only those", async () => {
    const html = await (await fetch(`${relay.url}/docs`)).text()
    // Columns: provider, kind, context, max output, then input, cached input, output.
    assert.deepEqual(rowOf(html, "gpt-4o-mini"), ["openai", "chat", "128,000", "1,000", "$0.15", "$0.075", "$0.60"])
    assert.deepEqual(rowOf(html, "text-embedding-3-small"), ["openai", "embedding", "—", "—", "$0.02", "—", "—"])
    assert.deepEqual(rowOf(html, "echo-1")?.slice(4), ["$0.00", "—", "$0.00"])
    assert.equal(rowOf(html, "claude-sonnet-4-6"), undefined, "no provider serves it here")
    assert.ok(!html.includes("Cache write"), "a price column no model uses is left out")
  })

  it("shows the config's tiers and the endpoints this relay serves", async () => {
    const html = await (await fetch(`${relay.url}/docs`)).text()
    assert.match(html, /<th scope="row">Starter<span class="muted"> \(new accounts\)<\/span><\/th><td class="num">60<\/td><td class="num">100,000<\/td>/)
    assert.match(html, /<th scope="row">Professional<\/th><td class="num">300<\/td><td class="num">500,000<\/td>/)
    assert.match(html, /<code>POST<\/code><\/td><th scope="row"><code>\/v1\/chat\/completions<\/code>/)
    assert.match(html, /<code>GET<\/code><\/td><th scope="row"><code>\/v1\/models<\/code>/)
    assert.match(html, /<code>POST<\/code><\/td><th scope="row"><code>\/v1\/responses<\/code>/)
    assert.match(html, /<code>GET<\/code><\/td><th scope="row"><code>\/v1\/responses\/\{id\}\/input_items<\/code>/)
    assert.match(html, /<code>PUT<\/code><\/td><th scope="row"><code>\/v1\/account\/byok\/\{provider\}<\/code>/)
    assert.match(html, /href="\/console"/, "links the console, which this relay serves")
  })

  it("neither serves nor advertises RocketAIRoom's /v1/chat, whose plugin this relay lacks", async () => {
    const html = await (await fetch(`${relay.url}/docs`)).text()
    assert.doesNotMatch(html, /<code>\/v1\/chat<\/code>/)
    const refused = await fetch(`${relay.url}/v1/chat`, { method: "POST", body: "{}" })
    assert.equal(refused.status, 404)
  })

  it("fills the examples with the origin the reader reached it at, escaped", async () => {
    const direct = await (await fetch(`${relay.url}/docs`)).text()
    assert.match(direct, new RegExp(`curl ${relay.url}/v1/chat/completions`))
    assert.match(direct, new RegExp(`base_url=&quot;${relay.url}/v1&quot;`))
    assert.match(direct, new RegExp(`<code>${relay.url}/byok/v1</code>`))
    assert.match(direct, new RegExp(`base_url = &quot;${relay.url}/v1&quot;\nenv_key = &quot;RELAY_API_KEY&quot;\nwire_api = &quot;responses&quot;`))

    const proxied = await (await fetch(`${relay.url}/docs`, { headers: { "x-forwarded-proto": "https", "x-forwarded-host": "relay.example.com" } })).text()
    assert.match(proxied, /curl https:\/\/relay\.example\.com\/v1\/chat\/completions/)
    assert.match(proxied, /baseURL: &quot;https:\/\/relay\.example\.com\/v1&quot;/)

    const hostile = await (await fetch(`${relay.url}/docs`, { headers: { "x-forwarded-host": "evil.example/<script>" } })).text()
    assert.ok(!hostile.includes("evil.example"), "a malformed forwarded host is ignored")
    assert.match(hostile, /<title>Acme &lt;Relay&gt; &amp; Co API documentation<\/title>/)
  })
})

describe("docs page: endpoints a plugin contributes", () => {
  const dir = mkdtempSync(join(tmpdir(), "relay-docs-"))
  let relay: RelayProcess

  before(async () => {
    // The docs plugin knows nothing of RocketAIRoom: /v1/chat is listed from the endpoint itself.
    const config = join(dir, "relay.config.ts")
    writeFileSync(config, `export default ({ docs, echo, keys, rocketAIRoom }) => ({ models: [{ id: "echo-1", provider: "echo", kind: "chat" }], plugins: [keys(), rocketAIRoom(), docs(), echo()] })\n`)
    relay = await startRelay({ config })
  })

  after(async () => {
    await relay.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it("lists the rocketairoom plugin's /v1/chat with the description the endpoint carries", async () => {
    const html = await (await fetch(`${relay.url}/docs`)).text()
    assert.match(html, /<code>POST<\/code><\/td><th scope="row"><code>\/v1\/chat<\/code><\/th><td>RocketAIRoom Chat API<\/td>/)
    assert.match(html, /<code>POST<\/code><\/td><th scope="row"><code>\/v1\/chat\/completions<\/code>/)
  })
})
