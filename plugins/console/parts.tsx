/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx"
import type { KeyInfo, StoredAuditEntry, UsageRecordView } from "../../core/index.ts"
import { displayUsd, Layout } from "../web/index.ts"
import { type AccountSummary, count, when } from "./format.ts"
import type { Flash } from "./sessions.ts"

export const STYLESHEET_PATH = "/console/relay.css"
export const SCRIPT_PATH = "/console/console.js"

export const CsrfField = (props: { token: string }) => <input type="hidden" name="csrf" value={props.token} />

/** The console's frame: the sign-out button when signed in, the flash of the last action. */
export const ConsolePage = (props: { title: string; csrf: string; signedIn: boolean; flash: Flash | undefined; children?: Child }) => (
  <Layout
    title={`${props.title} · Rocket Relay console`}
    stylesheet={STYLESHEET_PATH}
    script={SCRIPT_PATH}
    nav={
      <>
        <a href="/docs">Docs</a>
        {props.signedIn ? <a href="/console">Console</a> : null}
        {props.signedIn
          ? (
            <form class="inline" method="post" action="/console/sign-out">
              <CsrfField token={props.csrf} />
              {" "}
              <button type="submit" class="secondary">Sign out</button>
            </form>
          )
          : null}
      </>
    }
  >
    <FlashMessages flash={props.flash} />
    {props.children}
  </Layout>
)

const FlashMessages = (props: { flash: Flash | undefined }) => {
  const flash = props.flash
  if (flash === undefined) return null
  return (
    <>
      {flash.error === undefined ? null : <p class="error" role="alert">{flash.error}</p>}
      {flash.notice === undefined ? null : <p class="notice" role="status">{flash.notice}</p>}
      {flash.issuedKey === undefined ? null : (
        <section class="panel" aria-labelledby="new-key-title">
          <h2 id="new-key-title">Your new API key{flash.issuedKey.name ? ` “${flash.issuedKey.name}”` : ""}</h2>
          <p>Copy it now: it is shown this once and cannot be shown again.</p>
          <div class="secret">
            <code id="new-key">{flash.issuedKey.key}</code>
            <button type="button" class="secondary" data-copy="new-key" autofocus>Copy</button>
          </div>
        </section>
      )}
    </>
  )
}

export const AccountCards = (props: { account: AccountSummary }) => (
  <div class="cards">
    {props.account.balance === undefined ? null : (
      <div class="card"><div class="label">Balance</div><div class="value" id="balance">{props.account.balance}</div></div>
    )}
    <div class="card"><div class="label">Tier</div><div class="value">{props.account.tier}</div></div>
    <div class="card"><div class="label">Requests per minute</div><div class="value">{count(props.account.rpm)}</div></div>
    <div class="card"><div class="label">Tokens per minute</div><div class="value">{count(props.account.tpm)}</div></div>
  </div>
)

/** A key as the console lists it: with what it spent in its current period, when balances are kept. */
export type ConsoleKey = KeyInfo & { readonly spent: string | null }

/** A key's restrictions in a few words ("—" for none). */
const restrictionsText = (key: KeyInfo): string => {
  const parts = [
    key.models === null ? undefined : `models ${key.models.join(", ")}`,
    key.expires_at === null ? undefined : `expires ${when(key.expires_at)}`,
    key.rpm === null ? undefined : `${count(key.rpm)} rpm`,
    key.tpm === null ? undefined : `${count(key.tpm)} tpm`
  ].filter((part) => part !== undefined)
  return parts.length === 0 ? "—" : parts.join("; ")
}

/** Spend against the key's limit in its period: "$1.20 of $5.00 this month". */
const spendText = (key: ConsoleKey): string => {
  const spent = key.spent === null ? undefined : displayUsd(key.spent)
  if (key.spend_limit === null) return spent ?? "—"
  const period = key.spend_period === null ? "in total" : `this ${key.spend_period} (UTC)`
  return `${spent ?? "?"} of ${displayUsd(key.spend_limit)} ${period}`
}

/** Keys with a revoke button for each active one; `revokeAction` is the form's target (none, no buttons). */
export const KeysTable = (props: {
  keys: ReadonlyArray<ConsoleKey>
  csrf: string
  revokeAction: ((key: KeyInfo) => string) | undefined
  /** Where an active key's edit form posts. */
  editAction: (key: KeyInfo) => string
  /** The key this session signed in with, marked so nobody revokes it unawares. */
  sessionKeyId?: string
}) => (
  <div class="table-wrap">
    <table id="keys">
      <caption>API keys (only their first characters are kept in the clear)</caption>
      <thead>
        <tr>
          <th scope="col">Name</th><th scope="col">Key</th><th scope="col">Created</th><th scope="col">Status</th>
          <th scope="col">Spend</th><th scope="col">Restrictions</th>
          <th scope="col"><span class="visually-hidden">Actions</span></th>
        </tr>
      </thead>
      <tbody>
        {props.keys.map((key) => (
          <tr>
            <th scope="row">{key.name ?? "(unnamed)"}{key.id === props.sessionKeyId ? <span class="muted"> (this session)</span> : null}</th>
            <td><code>{key.prefix}…</code></td>
            <td>{when(key.created_at)}</td>
            <td>{key.revoked_at === null ? "active" : `revoked ${when(key.revoked_at)}`}</td>
            <td class="key-spend">{spendText(key)}</td>
            <td class="key-restrictions">{restrictionsText(key)}</td>
            <td>
              {key.revoked_at === null
                ? (
                  <>
                    {props.revokeAction === undefined ? null : (
                      <form class="inline" method="post" action={props.revokeAction(key)}>
                        <CsrfField token={props.csrf} />
                        <button type="submit" class="danger" aria-label={`Revoke key ${key.name ?? key.prefix}`}>Revoke</button>
                      </form>
                    )}
                    <EditKeyForm keyInfo={key} action={props.editAction(key)} csrf={props.csrf} />
                  </>
                )
                : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
)

/**
 * A new key, with optional restrictions (SPEC section 15). `narrowed`: a user's own key, which
 * takes the restrictions of the key they signed in with where these are left blank.
 */
export const CreateKeyForm = (props: { action: string; csrf: string; narrowed?: boolean }) => (
  <form class="row" method="post" action={props.action}>
    <CsrfField token={props.csrf} />
    <div class="field">
      <label for="key-name">Key name <span class="hint">(optional)</span></label>
      <input id="key-name" name="name" maxlength={100} autocomplete="off" />
    </div>
    <div class="field">
      <label for="key-spend-limit">Spend limit in USD <span class="hint">(optional)</span></label>
      <input id="key-spend-limit" name="spend_limit" inputmode="decimal" autocomplete="off" />
    </div>
    <div class="field">
      <label for="key-spend-period">Limit resets</label>
      <select id="key-spend-period" name="spend_period">
        <option value="">{props.narrowed ? "as my key's" : "never (lifetime)"}</option>
        <option value="day">daily (UTC)</option>
        <option value="week">weekly (UTC, from Monday)</option>
        <option value="month">monthly (UTC)</option>
      </select>
    </div>
    <div class="field">
      <label for="key-models">Models <span class="hint">(optional; ids or globs, comma-separated)</span></label>
      <input id="key-models" name="models" autocomplete="off" placeholder="gpt-4o-mini, claude-haiku-*" />
    </div>
    <div class="field">
      <label for="key-expires">Expires <span class="hint">(optional; the end of that day, UTC)</span></label>
      <input id="key-expires" name="expires_at" type="date" />
    </div>
    <button type="submit">Create key</button>
    {props.narrowed ? <p class="hint">A key you make can do no more than the key you signed in with: blank fields take its restrictions.</p> : null}
  </form>
)

/**
 * An active key's name and restrictions, filled with what it has now: a field emptied clears
 * that restriction (the rules of every door apply, so a user can go no wider than their own key).
 */
const EditKeyForm = (props: { keyInfo: KeyInfo; action: string; csrf: string }) => {
  const key = props.keyInfo
  const id = (name: string) => `edit-${key.id}-${name}`
  const text = (name: string, label: string, value: string, hint?: string) => (
    <div class="field">
      <label for={id(name)}>{label}{hint === undefined ? null : <span class="hint"> ({hint})</span>}</label>
      <input id={id(name)} name={name} value={value} autocomplete="off" />
    </div>
  )
  return (
    <details class="edit-key">
      <summary aria-label={`Edit key ${key.name ?? key.prefix}`}>Edit</summary>
      <form method="post" action={props.action}>
        <CsrfField token={props.csrf} />
        {text("name", "Rename to", key.name ?? "")}
        {text("spend_limit", "Cap in USD", key.spend_limit ?? "", "blank: none")}
        <div class="field">
          <label for={id("spend_period")}>Cap resets</label>
          <select id={id("spend_period")} name="spend_period">
            {([["", "never (lifetime)"], ["day", "daily (UTC)"], ["week", "weekly (UTC, from Monday)"], ["month", "monthly (UTC)"]] as const).map(([value, label]) => (
              <option value={value} selected={(key.spend_period ?? "") === value}>{label}</option>
            ))}
          </select>
        </div>
        {text("models", "Allowed models", (key.models ?? []).join(", "), "ids or globs, comma-separated; blank: any")}
        {text("expires_at", "Expiry", key.expires_at ?? "", "a date (its end, UTC) or RFC 3339; blank: never")}
        {text("rpm", "Key rpm", key.rpm?.toString() ?? "", "blank: the account's")}
        {text("tpm", "Key tpm", key.tpm?.toString() ?? "", "blank: the account's")}
        {text("metadata", "Key metadata", key.metadata === null ? "" : JSON.stringify(key.metadata), "a JSON object")}
        <button type="submit">Save key</button>
      </form>
    </details>
  )
}

/** An account's latest audit entries, newest first. */
export const AuditTable = (props: { entries: ReadonlyArray<StoredAuditEntry> }) =>
  props.entries.length === 0 ? <p class="muted">No changes recorded yet.</p> : (
    <div class="table-wrap">
      <table id="audit">
        <caption>Latest changes to this account, newest first</caption>
        <thead>
          <tr><th scope="col">Time</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Details</th><th scope="col">Request</th></tr>
        </thead>
        <tbody>
          {props.entries.map((entry) => (
            <tr>
              <td>{when(new Date(entry.at).toISOString())}</td>
              <td>{entry.actor.kind === "key" ? <code>{entry.actor.keyId}</code> : entry.actor.kind === "cli" ? "command line" : "admin"}</td>
              <td><code>{entry.action}</code>{entry.target === null ? null : <span class="muted"> {entry.target}</span>}</td>
              <td>{entry.details === null ? "—" : <code>{JSON.stringify(entry.details)}</code>}</td>
              <td><code>{entry.requestId ?? "—"}</code></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )

export const UsageTable = (props: { records: ReadonlyArray<UsageRecordView> }) =>
  props.records.length === 0 ? <p class="muted">No requests yet.</p> : (
    <div class="table-wrap">
      <table id="usage">
        <caption>Latest requests, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Time</th><th scope="col">Model</th><th scope="col">Route</th><th scope="col">Status</th>
            <th scope="col" class="num">Prompt</th><th scope="col" class="num">Completion</th><th scope="col" class="num">Cost</th>
            <th scope="col" class="num">Latency</th>
          </tr>
        </thead>
        <tbody>
          {props.records.map((record) => (
            <tr>
              <td>{when(record.created_at)}</td>
              <td><code>{record.model}</code>{record.byok ? <span class="muted"> (BYOK)</span> : null}</td>
              <td>{record.surface}</td>
              <td>{record.status}</td>
              <td class="num">{count(record.prompt_tokens)}</td>
              <td class="num">{count(record.completion_tokens)}</td>
              <td class="num">{displayUsd(record.cost)}</td>
              <td class="num">{Math.round(record.latency_ms)} ms</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
