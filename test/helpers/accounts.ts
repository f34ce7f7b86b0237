import assert from "node:assert/strict"
import type { RelayProcess } from "./relay.ts"

export interface AccountView {
  id: string
  name: string
  tier: string
  balance?: string
  limits: { rpm: number | null; tpm: number | null }
}

/** Creates an account through the admin API and issues it a key. */
export const createAccount = async (
  relay: RelayProcess,
  body: Record<string, unknown>
): Promise<{ account: AccountView; key: string }> => {
  const created = await relay.admin("POST", "/admin/accounts", body)
  assert.equal(created.status, 201, await created.clone().text())
  const account = (await created.json()) as AccountView
  const issued = await relay.admin("POST", `/admin/accounts/${account.id}/keys`, {})
  assert.equal(issued.status, 201)
  return { account, key: ((await issued.json()) as { key: string }).key }
}

/** A chat-completions call with a relay key, as raw HTTP (to read headers and statuses). */
export const chat = (relay: RelayProcess, key: string, body: Record<string, unknown>, path = "/v1/chat/completions") =>
  fetch(`${relay.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: "hello there" }], ...body })
  })
