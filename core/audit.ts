import type { AuditActor, AuditEntry } from "./ports/audit-log.ts"

/*
 * How a state change becomes an audit entry, the same for every door (admin API, account API,
 * console, command line): what was done, to which account and key, with which fields. Only
 * fields known to carry no secret are kept: a provider key, a relay key or a password never
 * reaches the log, whatever a request sends.
 */

/** Fields of a change that are kept as its details. Anything else (api_key, key...) is not. */
const KEPT_FIELDS = new Set([
  "name",
  "tier",
  "rpm",
  "tpm",
  "credits",
  "amount",
  "note",
  "spend_limit",
  "spend_period",
  "models",
  "expires_at",
  "metadata",
  "provider"
])

/** The fields of a body or form worth keeping, secrets never; null when none. */
export const keptDetails = (fields: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> | null => {
  if (fields === undefined) return null
  const kept = Object.fromEntries(Object.entries(fields).filter(([name]) => KEPT_FIELDS.has(name)))
  return Object.keys(kept).length === 0 ? null : kept
}

const ACCOUNT_ID = /^acct_[0-9A-Za-z]+$/
const OTHER_ID = /^(?:key|res|resp)_[0-9A-Za-z]+$/

/**
 * An HTTP state change as an entry: its action is the method and the path with ids shown as
 * `{id}`; the account is the path's, else the one `accountId` names (the caller's own, or the
 * answer's); the target the path's other id, or the BYOK provider it names.
 */
export const entryOfRequest = (input: {
  readonly actor: AuditActor
  readonly method: string
  readonly path: string
  readonly fields: Readonly<Record<string, unknown>> | undefined
  readonly accountId: string | undefined
  readonly requestId: string | null
  readonly at: number
}): AuditEntry => {
  const segments = input.path.split("/")
  const account = segments.find((s) => ACCOUNT_ID.test(s))
  const byok = segments.indexOf("byok")
  const target = segments.find((s) => OTHER_ID.test(s)) ?? (byok >= 0 && segments[byok + 1] ? segments[byok + 1]! : null)
  return {
    at: input.at,
    actor: input.actor,
    action: `${input.method} ${segments.map((s) => (ACCOUNT_ID.test(s) || OTHER_ID.test(s) ? "{id}" : s)).join("/")}`,
    accountId: account ?? input.accountId ?? null,
    target,
    details: keptDetails(input.fields),
    requestId: input.requestId
  }
}
