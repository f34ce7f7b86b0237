/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { CredentialInfo, SpendByDay, StoredAuditEntry, UsageRecordView } from "../../core/index.ts"
import { SpendChart } from "./chart.tsx"
import { type AccountSummary, count, nanoUsd, when } from "./format.ts"
import { AccountCards, AuditTable, type ConsoleKey, ConsolePage, CreateKeyForm, CsrfField, KeysTable, UsageTable } from "./parts.tsx"
import type { Flash } from "./sessions.ts"

interface Common {
  readonly csrf: string
  readonly flash: Flash | undefined
}

/** What billing records for an account, when a billing plugin is configured. */
export interface UsageSection {
  readonly records: ReadonlyArray<UsageRecordView>
  readonly spend: ReadonlyArray<{ day: string; cost: bigint }>
}

export const SignInPage = (props: Common) => (
  <ConsolePage title="Sign in" csrf={props.csrf} signedIn={false} flash={props.flash}>
    <h1>Sign in to the console</h1>
    <form class="stack" method="post" action="/console/sign-in">
      <CsrfField token={props.csrf} />
      <div class="field">
        <label for="key">API key</label>
        <input id="key" name="key" type="password" required autocomplete="off" spellcheck={false} autofocus aria-describedby="key-hint" />
        <span id="key-hint" class="hint">Your relay key (sk-rr-…), or the operator's admin key.</span>
      </div>
      <div><button type="submit">Sign in</button></div>
    </form>
    <p class="muted">
      The key is checked once and is not kept: the browser holds only a session cookie, and the relay remembers which key
      signed in, not the key itself.
    </p>
  </ConsolePage>
)

/** A page that only says why the request was refused. */
export const MessagePage = (props: Common & { title: string; message: string }) => (
  <ConsolePage title={props.title} csrf={props.csrf} signedIn={false} flash={props.flash}>
    <h1>{props.title}</h1>
    <p role="alert">{props.message}</p>
    <p><a href="/console">Back to the console</a></p>
  </ConsolePage>
)

const Usage = (props: { usage: UsageSection | undefined }) =>
  props.usage === undefined ? null : (
    <section aria-labelledby="usage-title">
      <h2 id="usage-title">Usage</h2>
      <SpendChart days={props.usage.spend} />
      <UsageTable records={props.usage.records} />
    </section>
  )

export interface UserPageProps extends Common {
  readonly account: AccountSummary
  readonly keys: ReadonlyArray<ConsoleKey>
  readonly sessionKeyId: string
  /** Whether the session's key may revoke keys (one of no restrictions): else no revoke buttons. */
  readonly revokes: boolean
  readonly usage: UsageSection | undefined
  /** Undefined when no vault plugin is configured. */
  readonly byok: { readonly providers: ReadonlyArray<string>; readonly credentials: ReadonlyArray<CredentialInfo> } | undefined
}

/** A user's own account: balance and limits, usage, keys and BYOK credentials. */
export const UserPage = (props: UserPageProps) => (
  <ConsolePage title={props.account.name} csrf={props.csrf} signedIn flash={props.flash}>
    <h1>{props.account.name}</h1>
    <p class="muted">Account <code>{props.account.id}</code></p>
    <AccountCards account={props.account} />
    <Usage usage={props.usage} />

    <section aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <KeysTable keys={props.keys} csrf={props.csrf} sessionKeyId={props.sessionKeyId}
        revokeAction={props.revokes ? (key) => `/console/keys/${encodeURIComponent(key.id)}/revoke` : undefined}
        editAction={(key) => `/console/keys/${encodeURIComponent(key.id)}`}
      />
      <CreateKeyForm action="/console/keys" csrf={props.csrf} narrowed />
    </section>

    {props.byok === undefined ? null : (
      <section aria-labelledby="byok-title">
        <h2 id="byok-title">Your provider keys (BYOK)</h2>
        <p>
          Requests to <code>/byok/v1</code> go out with your own key for the model's provider. Keys are sealed on the relay
          and only their last four characters are ever shown.
        </p>
        {props.byok.credentials.length === 0 ? <p class="muted">No provider keys stored.</p> : (
          <div class="table-wrap">
            <table id="byok">
              <caption>Stored provider keys</caption>
              <thead>
                <tr>
                  <th scope="col">Provider</th><th scope="col">Key</th><th scope="col">Added</th>
                  <th scope="col"><span class="visually-hidden">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {props.byok.credentials.map((credential) => (
                  <tr>
                    <th scope="row">{credential.provider}</th>
                    <td><code>{credential.key_hint}</code></td>
                    <td>{when(credential.created_at)}</td>
                    <td>
                      <form class="inline" method="post" action={`/console/byok/${encodeURIComponent(credential.provider)}/delete`}>
                        <CsrfField token={props.csrf} />
                        <button type="submit" class="danger" aria-label={`Delete ${credential.provider} key`}>Delete</button>
                      </form>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {props.byok.providers.length === 0 ? null : (
          <form class="row" method="post" action="/console/byok">
            <CsrfField token={props.csrf} />
            <div class="field">
              <label for="byok-provider">Provider</label>
              <select id="byok-provider" name="provider">
                {props.byok.providers.map((provider) => <option value={provider}>{provider}</option>)}
              </select>
            </div>
            <div class="field">
              <label for="byok-key">Provider API key</label>
              <input id="byok-key" name="api_key" type="password" required autocomplete="off" spellcheck={false} />
            </div>
            <button type="submit">Save provider key</button>
          </form>
        )}
      </section>
    )}
  </ConsolePage>
)

export interface AdminHomeProps extends Common {
  readonly accounts: ReadonlyArray<AccountSummary>
  readonly tiers: ReadonlyArray<string>
  readonly defaultTier: string
  /** Spend per day by account and by model, newest day first, when a plugin records usage. */
  readonly spend: { readonly days: number; readonly byAccount: ReadonlyArray<SpendByDay>; readonly byModel: ReadonlyArray<SpendByDay> } | undefined
}

/** Spend per UTC day of each account or model, newest day first. */
const SpendTable = (props: { id: string; caption: string; column: string; rows: ReadonlyArray<SpendByDay>; label: (name: string) => string }) =>
  props.rows.length === 0 ? <p class="muted">No spend in this period.</p> : (
    <div class="table-wrap">
      <table id={props.id}>
        <caption>{props.caption}</caption>
        <thead><tr><th scope="col">Day (UTC)</th><th scope="col">{props.column}</th><th scope="col" class="num">Spend</th></tr></thead>
        <tbody>
          {[...props.rows].reverse().map((row) => (
            <tr><td>{row.day}</td><td>{props.label(row.name)}</td><td class="num">{nanoUsd(row.cost)}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  )

const TierSelect = (props: { id: string; tiers: ReadonlyArray<string>; selected: string }) => (
  <select id={props.id} name="tier">
    {props.tiers.map((tier) => <option value={tier} selected={tier === props.selected}>{tier}</option>)}
  </select>
)

/** The operator's view: every account, and a form to open one. */
export const AdminHomePage = (props: AdminHomeProps) => (
  <ConsolePage title="Accounts" csrf={props.csrf} signedIn flash={props.flash}>
    <h1>Accounts</h1>
    <section aria-labelledby="new-account-title">
      <h2 id="new-account-title">New account</h2>
      <form class="row" method="post" action="/console/accounts">
        <CsrfField token={props.csrf} />
        <div class="field">
          <label for="account-name">Name</label>
          <input id="account-name" name="name" required maxlength={200} autocomplete="off" />
        </div>
        <div class="field">
          <label for="account-tier">Tier</label>
          <TierSelect id="account-tier" tiers={props.tiers} selected={props.defaultTier} />
        </div>
        <button type="submit">Create account</button>
      </form>
    </section>
    <section aria-labelledby="accounts-title">
      <h2 id="accounts-title">All accounts</h2>
      <div class="table-wrap">
        <table id="accounts">
          <caption>{props.accounts.length} accounts</caption>
          <thead>
            <tr>
              <th scope="col">Name</th><th scope="col">Id</th><th scope="col">Tier</th>
              <th scope="col" class="num">Balance</th><th scope="col" class="num">RPM</th><th scope="col" class="num">TPM</th>
            </tr>
          </thead>
          <tbody>
            {props.accounts.map((account) => (
              <tr>
                <th scope="row"><a href={`/console/accounts/${encodeURIComponent(account.id)}`}>{account.name}</a></th>
                <td><code>{account.id}</code></td>
                <td>{account.tier}</td>
                <td class="num">{account.balance ?? "—"}</td>
                <td class="num">{count(account.rpm)}</td>
                <td class="num">{count(account.tpm)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
    {props.spend === undefined ? null : (
      <section aria-labelledby="spend-title">
        <h2 id="spend-title">Spend, last {props.spend.days} days</h2>
        <SpendTable
          id="spend-by-account"
          caption="By account"
          column="Account"
          rows={props.spend.byAccount}
          label={(id) => props.accounts.find((account) => account.id === id)?.name ?? id}
        />
        <SpendTable id="spend-by-model" caption="By model" column="Model" rows={props.spend.byModel} label={(model) => model} />
      </section>
    )}
  </ConsolePage>
)

export interface AdminAccountProps extends Common {
  readonly account: AccountSummary
  /** The account's own overrides (null: the tier's limit applies). */
  readonly overrides: { readonly rpm: number | null; readonly tpm: number | null }
  readonly tiers: ReadonlyArray<string>
  readonly keys: ReadonlyArray<ConsoleKey>
  readonly usage: UsageSection | undefined
  /** Whether a plugin keeps balances, so credit can be added. */
  readonly credits: boolean
  /** When the account was suspended (undefined: it is not). */
  readonly suspendedAt: string | undefined
  /** Its latest audit entries, when a plugin keeps the log. */
  readonly audit: ReadonlyArray<StoredAuditEntry> | undefined
}

/** One account as the operator manages it: tier and overrides, credits, keys, usage. */
export const AdminAccountPage = (props: AdminAccountProps) => {
  const base = `/console/accounts/${encodeURIComponent(props.account.id)}`
  return (
    <ConsolePage title={props.account.name} csrf={props.csrf} signedIn flash={props.flash}>
      <p><a href="/console">← All accounts</a></p>
      <h1>{props.account.name}</h1>
      <p class="muted">Account <code>{props.account.id}</code></p>
      <AccountCards account={props.account} />

      <section aria-labelledby="status-title">
        <h2 id="status-title">Status</h2>
        {props.suspendedAt === undefined
          ? (
            <form class="row" method="post" action={`${base}/suspend`}>
              <CsrfField token={props.csrf} />
              <p id="account-status">Active.</p>
              <button type="submit" class="danger">Suspend account</button>
            </form>
          )
          : (
            <form class="row" method="post" action={`${base}/resume`}>
              <CsrfField token={props.csrf} />
              <p id="account-status">Suspended since {props.suspendedAt.slice(0, 16).replace("T", " ")} UTC: every key of it is refused.</p>
              <button type="submit">Resume account</button>
            </form>
          )}
        <details class="delete-account">
          <summary>Delete account…</summary>
          <form method="post" action={`${base}/delete`}>
            <CsrfField token={props.csrf} />
            <p>
              Deleting revokes every key of this account at once and frees its name; its usage and ledger are kept for the books. It cannot
              be undone.
            </p>
            <div class="field">
              <label for="delete-confirm">Type the account id, <code>{props.account.id}</code>, to confirm</label>
              <input id="delete-confirm" name="confirm" autocomplete="off" required />
            </div>
            <button type="submit" class="danger">Delete account</button>
          </form>
        </details>
      </section>

      <section aria-labelledby="limits-title">
        <h2 id="limits-title">Tier and limits</h2>
        <form class="row" method="post" action={`${base}/limits`}>
          <CsrfField token={props.csrf} />
          <div class="field">
            <label for="limits-tier">Tier</label>
            <TierSelect id="limits-tier" tiers={props.tiers} selected={props.account.tier} />
          </div>
          <div class="field">
            <label for="limits-rpm">Requests per minute <span class="hint">(blank: the tier's)</span></label>
            <input id="limits-rpm" name="rpm" inputmode="numeric" pattern="[0-9]*" value={props.overrides.rpm?.toString() ?? ""} />
          </div>
          <div class="field">
            <label for="limits-tpm">Tokens per minute <span class="hint">(blank: the tier's)</span></label>
            <input id="limits-tpm" name="tpm" inputmode="numeric" pattern="[0-9]*" value={props.overrides.tpm?.toString() ?? ""} />
          </div>
          <button type="submit">Save limits</button>
        </form>
      </section>

      {props.credits
        ? (
          <section aria-labelledby="credits-title">
            <h2 id="credits-title">Credits</h2>
            <form class="row" method="post" action={`${base}/credits`}>
              <CsrfField token={props.csrf} />
              <div class="field">
                <label for="credit-amount">Amount in USD <span class="hint">(negative for a correction)</span></label>
                <input id="credit-amount" name="amount" required inputmode="decimal" autocomplete="off" />
              </div>
              <div class="field">
                <label for="credit-note">Note <span class="hint">(optional)</span></label>
                <input id="credit-note" name="note" maxlength={500} autocomplete="off" />
              </div>
              <button type="submit">Add credit</button>
            </form>
          </section>
        )
        : null}

      <section aria-labelledby="keys-title">
        <h2 id="keys-title">API keys</h2>
        <KeysTable
          keys={props.keys}
          csrf={props.csrf}
          revokeAction={(key) => `${base}/keys/${encodeURIComponent(key.id)}/revoke`}
          editAction={(key) => `${base}/keys/${encodeURIComponent(key.id)}`}
        />
        <CreateKeyForm action={`${base}/keys`} csrf={props.csrf} />
      </section>

      <Usage usage={props.usage} />

      {props.audit === undefined ? null : (
        <section aria-labelledby="audit-title">
          <h2 id="audit-title">Audit log</h2>
          <AuditTable entries={props.audit} />
        </section>
      )}
    </ConsolePage>
  )
}
