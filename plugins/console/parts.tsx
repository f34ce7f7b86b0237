/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx"
import type { KeyInfo, UsageRecordView } from "../../core/index.ts"
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

/** Keys with a revoke button for each active one; `revokeAction` is the form's target. */
export const KeysTable = (props: {
  keys: ReadonlyArray<KeyInfo>
  csrf: string
  revokeAction: (key: KeyInfo) => string
  /** The key this session signed in with, marked so nobody revokes it unawares. */
  sessionKeyId?: string
}) => (
  <div class="table-wrap">
    <table id="keys">
      <caption>API keys (only their first characters are kept in the clear)</caption>
      <thead>
        <tr>
          <th scope="col">Name</th><th scope="col">Key</th><th scope="col">Created</th><th scope="col">Status</th>
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
            <td>
              {key.revoked_at === null
                ? (
                  <form class="inline" method="post" action={props.revokeAction(key)}>
                    <CsrfField token={props.csrf} />
                    <button type="submit" class="danger" aria-label={`Revoke key ${key.name ?? key.prefix}`}>Revoke</button>
                  </form>
                )
                : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
)

export const CreateKeyForm = (props: { action: string; csrf: string }) => (
  <form class="row" method="post" action={props.action}>
    <CsrfField token={props.csrf} />
    <div class="field">
      <label for="key-name">Key name <span class="hint">(optional)</span></label>
      <input id="key-name" name="name" maxlength={100} autocomplete="off" />
    </div>
    <button type="submit">Create key</button>
  </form>
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
