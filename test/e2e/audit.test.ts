import assert from "node:assert/strict"
import { execFile } from "node:child_process"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { type AccountView } from "../helpers/accounts.ts"
import { ADMIN_KEY, ROOT, type RelayProcess, startRelay } from "../helpers/relay.ts"

const KEYS_CONFIG = join(ROOT, "test/fixtures/relay.keys-config.ts")

interface Entry {
  id: number
  at: string
  actor: { kind: string; account_id?: string; key_id?: string }
  action: string
  account_id: string | null
  target: string | null
  details: Record<string, unknown> | null
  request_id: string | null
}

describe("the audit log: every state change, by whom, when, with its request id, never a secret", () => {
  let relay: RelayProcess

  before(async () => {
    relay = await startRelay({ config: KEYS_CONFIG })
  })

  after(async () => {
    await relay.stop()
  })

  /** An admin call carrying its own request id, so the entry can be matched to it. */
  const admin = (method: string, path: string, requestId: string, body?: unknown) =>
    fetch(`${relay.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json", "x-request-id": requestId },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
  const auditOf = async (query = "") => {
    const answer = await relay.admin("GET", `/admin/audit${query}`)
    assert.equal(answer.status, 200)
    return (await answer.json()) as { data: Array<Entry>; next_before: number | null }
  }

  it("records each admin change with its fields and request id, newest first, filterable by account", async () => {
    const created = await admin("POST", "/admin/accounts", "req-audit-1", { name: "audited", credits: "5.00" })
    assert.equal(created.status, 201)
    const account = (await created.json()) as AccountView
    assert.equal((await admin("POST", `/admin/accounts/${account.id}/credits`, "req-audit-2", { amount: "2.50", note: "top-up" })).status, 200)
    assert.equal((await admin("PATCH", `/admin/accounts/${account.id}`, "req-audit-3", { tier: "professional" })).status, 200)
    const issued = await admin("POST", `/admin/accounts/${account.id}/keys`, "req-audit-4", { name: "ci", spend_limit: "5", models: ["echo-*"] })
    const key = (await issued.json()) as { id: string; key: string }
    assert.equal((await admin("PATCH", `/admin/keys/${key.id}`, "req-audit-5", { rpm: 10 })).status, 200)
    assert.equal((await admin("POST", `/admin/accounts/${account.id}/suspend`, "req-audit-6")).status, 200)
    assert.equal((await admin("POST", `/admin/accounts/${account.id}/resume`, "req-audit-7")).status, 200)
    // The path names only the key: the entry is still filed under its account.
    assert.equal((await admin("DELETE", `/admin/keys/${key.id}`, "req-audit-8")).status, 204)
    // A refused change changed nothing and is not recorded.
    assert.equal((await admin("POST", `/admin/accounts/${account.id}/credits`, "req-audit-refused", { amount: "lots" })).status, 400)
    const other = (await (await relay.admin("POST", "/admin/accounts", { name: "other" })).json()) as AccountView

    const { data } = await auditOf(`?account_id=${account.id}`)
    assert.deepEqual(
      data.map((entry) => [entry.request_id, entry.action, entry.actor.kind]),
      [
        ["req-audit-8", "DELETE /admin/keys/{id}", "admin"],
        ["req-audit-7", "POST /admin/accounts/{id}/resume", "admin"],
        ["req-audit-6", "POST /admin/accounts/{id}/suspend", "admin"],
        ["req-audit-5", "PATCH /admin/keys/{id}", "admin"],
        ["req-audit-4", "POST /admin/accounts/{id}/keys", "admin"],
        ["req-audit-3", "PATCH /admin/accounts/{id}", "admin"],
        ["req-audit-2", "POST /admin/accounts/{id}/credits", "admin"],
        ["req-audit-1", "POST /admin/accounts", "admin"]
      ]
    )
    const byRequest = new Map(data.map((entry) => [entry.request_id, entry]))
    assert.deepEqual(byRequest.get("req-audit-2")!.details, { amount: "2.50", note: "top-up" })
    assert.deepEqual(byRequest.get("req-audit-4")!.details, { name: "ci", spend_limit: "5", models: ["echo-*"] })
    assert.equal(byRequest.get("req-audit-5")!.target, key.id)
    assert.equal(byRequest.get("req-audit-8")!.target, key.id)
    assert.ok(Date.parse(byRequest.get("req-audit-1")!.at) > Date.now() - 60_000)
    assert.ok(!JSON.stringify(data).includes(key.key), "the issued key is not in the log")
    assert.ok(!(await auditOf(`?account_id=${account.id}`)).data.some((entry) => entry.account_id === other.id))
    assert.equal((await auditOf()).data[0]!.account_id, other.id, "unfiltered, the newest change of any account comes first")
  })

  it("records a user's own changes with their account and key, and never the BYOK credential they stored", async () => {
    const account = (await (await relay.admin("POST", "/admin/accounts", { name: "self" })).json()) as AccountView
    const parent = (await (await relay.admin("POST", `/admin/accounts/${account.id}/keys`, {})).json()) as { id: string; key: string }
    const asUser = (method: string, path: string, body?: unknown) =>
      fetch(`${relay.baseURL}${path}`, {
        method,
        headers: { authorization: `Bearer ${parent.key}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
    const secret = "sk-proj-audit-secret-0123456789abcdef"
    assert.equal((await asUser("PUT", "/account/byok/openai", { api_key: secret })).status, 200)
    assert.equal((await asUser("POST", "/account/keys", { name: "ci", models: ["echo-1"] })).status, 201)
    assert.equal((await asUser("DELETE", "/account/byok/openai")).status, 204)

    const { data } = await auditOf(`?account_id=${account.id}`)
    const mine = data.filter((entry) => entry.actor.kind === "key")
    assert.deepEqual(mine.map((entry) => entry.action), ["DELETE /v1/account/byok/openai", "POST /v1/account/keys", "PUT /v1/account/byok/openai"])
    for (const entry of mine) assert.deepEqual(entry.actor, { kind: "key", account_id: account.id, key_id: parent.id })
    assert.equal(mine[2]!.target, "openai")
    const everything = JSON.stringify((await auditOf("?limit=500")).data)
    assert.ok(!everything.includes(secret) && !everything.includes("audit-secret"), "no stored credential in the log")
  })

  it("records vault rotation, account deletion, and pages through the log", async () => {
    const account = (await (await relay.admin("POST", "/admin/accounts", { name: "to-delete" })).json()) as AccountView
    assert.equal((await relay.admin("POST", "/admin/vault/rotate")).status, 200)
    assert.equal((await relay.admin("DELETE", `/admin/accounts/${account.id}`)).status, 204)
    const first = await auditOf("?limit=2")
    assert.deepEqual(first.data.map((entry) => entry.action), ["DELETE /admin/accounts/{id}", "POST /admin/vault/rotate"])
    assert.equal(first.next_before, first.data[1]!.id)
    const second = await auditOf(`?limit=2&before=${first.next_before}`)
    assert.ok(second.data.every((entry) => entry.id < first.next_before!))
    assert.equal(second.data[0]!.account_id, account.id)
    assert.equal((await relay.admin("GET", "/admin/audit?limit=0")).status, 400)
    assert.equal((await fetch(`${relay.url}/admin/audit`)).status, 401, "only the admin reads the log")
  })

  it("records the command line's changes as the operator's", async () => {
    const account = (await (await relay.admin("POST", "/admin/accounts", { name: "cli" })).json()) as AccountView
    const run = (...args: Array<string>) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [join(ROOT, "bin/relay.js"), ...args],
          { cwd: tmpdir(), env: { PATH: process.env.PATH, HOME: process.env.HOME, RELAY_DATA_DIR: relay.dataDir, RELAY_CONFIG: KEYS_CONFIG }, timeout: 60_000 },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr })
        )
      )
    const credited = await run("credits", "add", account.id, "1.25", "--note", "from the shell")
    assert.equal(credited.code, 0, credited.stderr)
    const keyed = await run("keys", "create", account.id, "--models", "echo-1,echo-cheap", "--spend-limit", "2", "--spend-period", "week", "--json")
    assert.equal(keyed.code, 0, keyed.stderr)
    const key = JSON.parse(keyed.stdout) as { id: string; models: Array<string>; spend_limit: string; spend_period: string }
    assert.deepEqual([key.models, key.spend_limit, key.spend_period], [["echo-1", "echo-cheap"], "2.000000000", "week"])
    const refused = await run("accounts", "delete", account.id)
    assert.equal(refused.code, 2, "deletion needs --confirm")
    const revoked = await run("keys", "revoke", key.id)
    assert.equal(revoked.code, 0, revoked.stderr)

    const { data } = await auditOf(`?account_id=${account.id}`)
    assert.deepEqual(
      data.slice(0, 3).map((entry) => [entry.action, entry.actor.kind]),
      [["relay keys revoke", "cli"], ["relay keys create", "cli"], ["relay credits add", "cli"]]
    )
    assert.deepEqual(data[2]!.details, { amount: "1.25", note: "from the shell" })
    assert.deepEqual([data[0]!.target, data[1]!.target], [key.id, key.id])
  })
})
