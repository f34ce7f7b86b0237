/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { Context as Services, Effect, Option } from "effect"
import type { Context, Hono } from "hono"
import { bodyLimit } from "hono/body-limit"
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie"
import type { HtmlEscapedString } from "hono/utils/html"
import type { ContentfulStatusCode } from "hono/utils/http-status"
import {
  clientAddress,
  entryOfRequest,
  AccountDirectory,
  type AccountDirectoryShape,
  accountView,
  AuditTrail,
  Balances,
  type Caller,
  CredentialVault,
  findAccount,
  RateTiers,
  UsageHistory,
  type ConsoleSessionsShape,
  type Flash,
  formatUsd,
  InvalidRequest,
  parseUsd,
  type Principal,
  type RelayInfo,
  revokesKeys,
  type RouteKit,
  secretsEqual,
  type Session,
  USD_AMOUNT_RULE
} from "../../core/index.ts"
import { htmlPage, requestOrigin, STYLESHEET } from "../web/index.ts"
import { SCRIPT } from "./assets.ts"
import { fillDays } from "./chart.tsx"
import { nanoUsd, summarize } from "./format.ts"
import { AdminAccountPage, AdminHomePage, MessagePage, SignInPage, type UsageSection, UserPage } from "./pages.tsx"
import { type ConsoleKey, SCRIPT_PATH, STYLESHEET_PATH } from "./parts.tsx"

const COOKIE = "relay_console"
const SPEND_DAYS = 30
const USAGE_ROWS = 50
const AUDIT_ROWS = 20
/** As the account API refuses it: a restricted key may not revoke the key it was made beside. */
const RESTRICTED_REVOKE = "Only a key with no restrictions may revoke keys: sign in with one to revoke."
const SESSION_ENDED: Flash = { error: "Your session ended: the API key it signed in with was revoked." }

export interface ConsoleDeps {
  readonly kit: RouteKit
  readonly info: RelayInfo
  readonly sessions: ConsoleSessionsShape
  /** Signs the session cookie; made afresh at each start, like the sessions it names. */
  readonly secret: string
}

type Form = Record<string, string | File | Array<string | File>>

/** A form field as trimmed text ("" when absent or a file). */
const field = (form: Form, name: string): string => {
  const value = form[name]
  return typeof value === "string" ? value.trim() : ""
}

/**
 * A new key's fields from the console's form, as the API takes them: blanks left out, the
 * model list split at commas, a date meaning the end of that day, UTC.
 */
const keyFieldsOf = (form: Form): Record<string, unknown> => {
  const fields: Record<string, unknown> = {}
  for (const name of ["name", "spend_limit", "spend_period"]) if (field(form, name) !== "") fields[name] = field(form, name)
  const models = field(form, "models")
  if (models !== "") fields.models = models.split(",").map((model) => model.trim()).filter((model) => model !== "")
  const expires = field(form, "expires_at")
  if (expires !== "") fields.expires_at = /^\d{4}-\d{2}-\d{2}$/.test(expires) ? `${expires}T23:59:59Z` : expires
  return fields
}

/**
 * A key's edited fields from its console form, as the API takes them: the form shows every
 * field filled with what the key has, so one left blank clears that restriction.
 */
const keyEditFieldsOf = (form: Form): Record<string, unknown> | InvalidRequest => {
  const fields: Record<string, unknown> = {}
  for (const name of ["name", "spend_limit", "spend_period"]) fields[name] = field(form, name) === "" ? null : field(form, name)
  const models = field(form, "models").split(",").map((model) => model.trim()).filter((model) => model !== "")
  fields.models = models.length === 0 ? null : models
  const expires = field(form, "expires_at")
  fields.expires_at = expires === "" ? null : /^\d{4}-\d{2}-\d{2}$/.test(expires) ? `${expires}T23:59:59Z` : expires
  for (const [name, label] of [["rpm", "Requests per minute"], ["tpm", "Tokens per minute"]] as const) {
    const value = field(form, name)
    if (value !== "" && !/^\d{1,12}$/.test(value)) return new InvalidRequest({ message: `${label}: expected a whole number, or blank for the account's`, param: name })
    fields[name] = value === "" ? null : Number(value)
  }
  const metadata = field(form, "metadata")
  if (metadata !== "") {
    try {
      fields.metadata = JSON.parse(metadata)
    } catch {
      return new InvalidRequest({ message: "Metadata: expected a JSON object, such as {\"team\": \"search\"}", param: "metadata" })
    }
  } else fields.metadata = null
  return fields
}

/** A path parameter of a route that declares it. */
const param = (c: Context, name: string): string => c.req.param(name) ?? ""

/** A per-account limit from a form: blank clears the override. */
const limitField = (form: Form, name: string, label: string): number | null | InvalidRequest => {
  const value = field(form, name)
  if (value === "") return null
  return /^\d{1,12}$/.test(value)
    ? Number(value)
    : new InvalidRequest({ message: `${label}: expected a whole number, or blank for the tier's limit`, param: name })
}

/** The signed-in party of a request, re-checked against the store on every request. */
type Visitor =
  | { readonly kind: "anonymous" }
  | { readonly kind: "admin" }
  | { readonly kind: "user"; readonly caller: Caller }
  /** The key this session signed in with was revoked: the session is over. */
  | { readonly kind: "ended" }

/** The web console at `/console`: server-rendered pages, form posts, session cookies. */
export const consoleRoutes = (app: Hono, deps: ConsoleDeps): void => {
  const { kit, info, sessions, secret } = deps
  const run = Effect.runPromise
  /** A service the plugins provide, undefined when none does (read when used: all are set up by then). */
  const provided = <I, S>(key: Services.Key<I, S>): S | undefined => Option.getOrUndefined(Services.getOption(info.services() as Services.Context<I>, key))
  /** The tiers accounts may be on: always provided (the limiter's, or the config's). */
  const tiers = () => Services.get(info.services(), RateTiers)
  const view = async (account: Parameters<typeof accountView>[0]) => summarize(await kit.run(accountView(account)))

  const page = (c: Context, body: HtmlEscapedString | Promise<HtmlEscapedString>, status: ContentfulStatusCode = 200) =>
    htmlPage(c, body, status, { "cache-control": "no-store" })

  const readSession = async (c: Context): Promise<Session | undefined> => {
    const id = await getSignedCookie(c, secret, COOKIE)
    return typeof id === "string" ? run(sessions.get(id)) : undefined
  }

  /** A new session and its cookie: HttpOnly, SameSite=Strict, Secure when reached over https. */
  const startSession = async (c: Context, principal: Principal | undefined, flash?: Flash): Promise<Session> => {
    const session = await run(sessions.create(principal, clientAddress(c.req.raw), flash))
    await setSignedCookie(c, COOKIE, session.id, secret, {
      path: "/console",
      httpOnly: true,
      sameSite: "Strict",
      secure: requestOrigin(c.req.raw).secure,
      maxAge: Math.floor((session.expiresAt - Date.now()) / 1000)
    })
    return session
  }

  const visitorOf = async (session: Session, accounts: AccountDirectoryShape): Promise<Visitor> => {
    const principal = session.principal
    if (principal === undefined) return { kind: "anonymous" }
    if (principal.kind === "admin") return principal
    const caller = await kit.run(accounts.callerForKeyId(principal.keyId))
    if (caller === undefined) {
      await run(sessions.remove(session.id))
      return { kind: "ended" }
    }
    return { kind: "user", caller }
  }

  const refuse = (c: Context, session: Session | undefined, status: ContentfulStatusCode, title: string, message: string) =>
    page(c, <MessagePage csrf={session?.csrf ?? ""} flash={undefined} title={title} message={message} />, status)

  const noAccounts = (c: Context) =>
    refuse(c, undefined, 503, "Console unavailable", "This relay keeps no accounts (its config has no keys plugin), so there is nothing to sign in to.")

  /** What each form post ended with, for the audit log: a flash without an error is a change made. */
  const outcomes = new WeakMap<Context, Flash>()

  /** Records the outcome for the next page, then sends the browser there (post, redirect, get). */
  const done = async (c: Context, session: Session, flash: Flash, location = "/console") => {
    outcomes.set(c, flash)
    await run(sessions.setFlash(session.id, flash))
    c.header("cache-control", "no-store")
    return c.redirect(location, 303)
  }

  /**
   * Every POST: a live session whose CSRF token the form carries, and the visitor the action
   * is for. Anything else is refused before the action runs.
   */
  const action = <K extends Visitor["kind"]>(
    allowed: ReadonlyArray<K>,
    run: (c: Context, session: Session, form: Form, visitor: Extract<Visitor, { kind: K }>, accounts: AccountDirectoryShape) => Promise<Response> | Response
  ) =>
  async (c: Context) => {
    const accounts = provided(AccountDirectory)
    if (accounts === undefined) return noAccounts(c)
    const session = await readSession(c)
    const form = (await c.req.parseBody()) as Form
    if (session === undefined || !secretsEqual(field(form, "csrf"), session.csrf)) {
      return refuse(c, session, 403, "Form expired", "This form is no longer valid (the session expired or the page was out of date). Open the console again and retry.")
    }
    const visitor = await visitorOf(session, accounts)
    if (visitor.kind === "ended") {
      await startSession(c, undefined, SESSION_ENDED)
      return c.redirect("/console", 303)
    }
    if (!(allowed as ReadonlyArray<string>).includes(visitor.kind)) {
      return refuse(c, session, 403, "Not allowed", "This action is not available to the account you signed in with.")
    }
    const response = await run(c, session, form, visitor as Extract<Visitor, { kind: K }>, accounts)
    // Every change made through a console form goes into the audit log, as the APIs' do (a
    // form refused ends with an error, and changed nothing).
    const outcome = outcomes.get(c)
    const audit = provided(AuditTrail)
    if (audit !== undefined && outcome !== undefined && outcome.error === undefined && visitor.kind !== "anonymous") {
      void kit.run(audit.record(entryOfRequest({
        actor: visitor.kind === "admin" ? { kind: "admin" } : { kind: "key", accountId: visitor.caller.account.id, keyId: visitor.caller.keyId },
        method: "POST",
        path: c.req.path,
        fields: form,
        accountId: visitor.kind === "user" ? visitor.caller.account.id : undefined,
        requestId: (c.get("requestId") as string | undefined) ?? null,
        at: Date.now()
      })))
    }
    return response
  }

  const usageOf = async (accountId: string): Promise<UsageSection | undefined> => {
    const usage = provided(UsageHistory)
    return usage === undefined ? undefined : {
      records: await kit.run(usage.list(accountId, USAGE_ROWS)),
      spend: fillDays(await kit.run(usage.dailySpend(accountId, SPEND_DAYS)), SPEND_DAYS, Date.now())
    }
  }

  /**
   * An account's keys for a page, each with what it spent in its current period: the account
   * was just read, so a vanished one shows none.
   */
  const keysOf = async (accounts: AccountDirectoryShape, accountId: string): Promise<ReadonlyArray<ConsoleKey>> => {
    const keys = await kit.run(accounts.keys(accountId))
    if (keys instanceof Error) return []
    const balances = provided(Balances)
    return Promise.all(keys.map(async (key) => ({
      ...key,
      spent: balances === undefined ? null : formatUsd(await kit.run(balances.keySpent(key.id, key.spend_period)))
    })))
  }

  /** A new key from a console form: `parent`, a user's own key, bounds it. */
  const issueFromForm = async (accounts: AccountDirectoryShape, accountId: string, form: Form, parent: Caller | undefined) => {
    const name = field(form, "name")
    if (name.length > 100) return new InvalidRequest({ message: "Key name: at most 100 characters." })
    const changes = accounts.keyChanges(keyFieldsOf(form))
    if (changes instanceof InvalidRequest) return changes
    return kit.run(accounts.issueKey(accountId, name === "" ? null : name, changes, parent))
  }

  /** A key's edit form applied: `parent`, a user's own key, bounds it as it bounds a new key. */
  const editFromForm = async (accounts: AccountDirectoryShape, accountId: string, keyId: string, form: Form, parent: Caller | undefined) => {
    const fields = keyEditFieldsOf(form)
    if (fields instanceof InvalidRequest) return fields
    const changes = accounts.keyChanges(fields)
    if (changes instanceof InvalidRequest) return changes
    return kit.run(accounts.updateKey(keyId, changes, accountId, parent))
  }

  /** Every account's spend per day, by account and by model: the operator's view. */
  const spendOf = async () => {
    const usage = provided(UsageHistory)
    return usage === undefined ? undefined : {
      days: SPEND_DAYS,
      byAccount: await kit.run(usage.spendBy("account", SPEND_DAYS)),
      byModel: await kit.run(usage.spendBy("model", SPEND_DAYS))
    }
  }

  const auditOf = async (accountId: string) => {
    const audit = provided(AuditTrail)
    return audit === undefined ? undefined : kit.run(audit.list({ accountId, limit: AUDIT_ROWS }))
  }

  const byokOf = async (accountId: string) => {
    const vault = provided(CredentialVault)
    return vault === undefined ? undefined : { providers: vault.providers(), credentials: await kit.run(vault.list(accountId)) }
  }

  app.get(STYLESHEET_PATH, (c) => c.body(STYLESHEET, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=3600" }))
  app.get(SCRIPT_PATH, (c) => c.body(SCRIPT, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=3600" }))
  app.use("/console/*", bodyLimit({ maxSize: 64 * 1024, onError: (c) => refuse(c, undefined, 413, "Too large", "The form was larger than the console accepts.") }))

  app.get("/console", async (c) => {
    const accounts = provided(AccountDirectory)
    if (accounts === undefined) return noAccounts(c)
    let session = await readSession(c)
    const visitor = session === undefined ? undefined : await visitorOf(session, accounts)
    if (session === undefined || visitor === undefined || visitor.kind === "ended") {
      session = await startSession(c, undefined, visitor?.kind === "ended" ? SESSION_ENDED : undefined)
    }
    const flash = await run(sessions.takeFlash(session.id))
    if (visitor?.kind === "user") {
      const account = visitor.caller.account
      return page(
        c,
        <UserPage
          csrf={session.csrf}
          flash={flash}
          account={await view(account)}
          keys={await keysOf(accounts, account.id)}
          sessionKeyId={visitor.caller.keyId}
          revokes={revokesKeys(visitor.caller)}
          usage={await usageOf(account.id)}
          byok={await byokOf(account.id)}
        />
      )
    }
    if (visitor?.kind === "admin") {
      return page(
        c,
        <AdminHomePage
          csrf={session.csrf}
          flash={flash}
          accounts={await Promise.all((await kit.run(accounts.list())).map(view))}
          tiers={Object.keys(tiers().tiers)}
          defaultTier={tiers().defaultTier}
          spend={await spendOf()}
        />
      )
    }
    return page(c, <SignInPage csrf={session.csrf} flash={flash} />)
  })

  app.post(
    "/console/sign-in",
    action(["anonymous", "admin", "user"], async (c, session, form, _visitor, accounts) => {
      const key = field(form, "key")
      let principal: Principal | undefined
      if (kit.isAdminKey(key)) principal = { kind: "admin" }
      else {
        const caller = await kit.run(accounts.callerForKey(key))
        if (caller !== undefined) principal = { kind: "user", accountId: caller.account.id, keyId: caller.keyId }
      }
      if (principal === undefined) {
        kit.authFailed(c)
        return done(c, session, { error: "That key is not valid or has been revoked. Check it and try again." })
      }
      // A fresh session id at sign-in: an id planted before it is worth nothing after.
      await run(sessions.remove(session.id))
      await startSession(c, principal, { notice: "Signed in." })
      return c.redirect("/console", 303)
    })
  )

  app.post(
    "/console/sign-out",
    action(["anonymous", "admin", "user"], async (c, session) => {
      await run(sessions.remove(session.id))
      deleteCookie(c, COOKIE, { path: "/console" })
      return c.redirect("/console", 303)
    })
  )

  // The user's own account.

  app.post(
    "/console/keys",
    action(["user"], async (c, session, form, visitor, accounts) => {
      const issued = await issueFromForm(accounts, visitor.caller.account.id, form, visitor.caller)
      if (issued instanceof Error) return done(c, session, { error: issued.message }, "/console#keys-title")
      return done(c, session, { issuedKey: { key: issued.key, prefix: issued.info.prefix, name: issued.info.name } })
    })
  )

  app.post(
    "/console/keys/:id/revoke",
    action(["user"], async (c, session, _form, visitor, accounts) => {
      if (!revokesKeys(visitor.caller)) return done(c, session, { error: RESTRICTED_REVOKE }, "/console#keys-title")
      const revoked = await kit.run(accounts.revokeKey(param(c, "id"), visitor.caller.account.id))
      return done(c, session, revoked !== undefined ? { notice: "Key revoked." } : { error: "No such active key on your account." }, "/console#keys-title")
    })
  )

  app.post(
    "/console/keys/:id",
    action(["user"], async (c, session, form, visitor, accounts) => {
      const updated = await editFromForm(accounts, visitor.caller.account.id, param(c, "id"), form, visitor.caller)
      return done(c, session, updated instanceof Error ? { error: updated.message } : { notice: `Saved key ${updated.name ?? updated.prefix}.` }, "/console#keys-title")
    })
  )

  app.post(
    "/console/byok",
    action(["user"], async (c, session, form, visitor) => {
      const vault = provided(CredentialVault)
      if (vault === undefined) return done(c, session, { error: "This relay stores no provider keys." })
      const provider = field(form, "provider")
      const stored = await kit.run(vault.put(visitor.caller.account.id, provider, field(form, "api_key")))
      if (stored instanceof Error) return done(c, session, { error: stored.message.replace(/^api_key: /, "Provider API key: ") }, "/console#byok-title")
      return done(c, session, { notice: `Saved your ${stored.provider} key (${stored.key_hint}).` }, "/console#byok-title")
    })
  )

  app.post(
    "/console/byok/:provider/delete",
    action(["user"], async (c, session, _form, visitor) => {
      const provider = param(c, "provider")
      const vault = provided(CredentialVault)
      const removed = vault === undefined ? false : await kit.run(vault.remove(visitor.caller.account.id, provider))
      return done(c, session, removed ? { notice: `Deleted your ${provider} key.` } : { error: `No ${provider} key is stored.` }, "/console#byok-title")
    })
  )

  // The operator's pages.

  const accountPath = (id: string) => `/console/accounts/${encodeURIComponent(id)}`

  app.get("/console/accounts/:id", async (c) => {
    const accounts = provided(AccountDirectory)
    if (accounts === undefined) return noAccounts(c)
    const session = await readSession(c)
    if (session === undefined || (await visitorOf(session, accounts)).kind !== "admin") return c.redirect("/console", 303)
    const account = await kit.run(findAccount(param(c, "id")))
    if (account === undefined) return refuse(c, session, 404, "No such account", `There is no account ${param(c, "id")}.`)
    return page(
      c,
      <AdminAccountPage
        csrf={session.csrf}
        flash={await run(sessions.takeFlash(session.id))}
        account={await view(account)}
        overrides={await kit.run(tiers().overridesFor(account.id))}
        tiers={Object.keys(tiers().tiers)}
        keys={await keysOf(accounts, account.id)}
        usage={await usageOf(account.id)}
        credits={provided(Balances) !== undefined}
        suspendedAt={account.suspendedAt === null || account.suspendedAt === undefined ? undefined : new Date(account.suspendedAt).toISOString()}
        audit={await auditOf(account.id)}
      />
    )
  })

  app.post(
    "/console/accounts",
    action(["admin"], async (c, session, form, _visitor, accounts) => {
      const account = await kit.run(accounts.create(field(form, "name"), field(form, "tier") || undefined))
      if (account instanceof Error) return done(c, session, { error: account.message })
      return done(c, session, { notice: `Created account ${account.name}.` }, accountPath(account.id))
    })
  )

  app.post(
    "/console/accounts/:id/limits",
    action(["admin"], async (c, session, form, _visitor, accounts) => {
      const id = param(c, "id")
      const rpm = limitField(form, "rpm", "Requests per minute")
      const tpm = limitField(form, "tpm", "Tokens per minute")
      if (rpm instanceof InvalidRequest) return done(c, session, { error: rpm.message }, accountPath(id))
      if (tpm instanceof InvalidRequest) return done(c, session, { error: tpm.message }, accountPath(id))
      const updated = await kit.run(accounts.update(id, { tier: field(form, "tier") || undefined, rpm, tpm }))
      return done(c, session, updated instanceof Error ? { error: updated.message } : { notice: "Limits saved." }, accountPath(id))
    })
  )

  app.post(
    "/console/accounts/:id/credits",
    action(["admin"], async (c, session, form) => {
      const id = param(c, "id")
      const amount = parseUsd(field(form, "amount"))
      const balances = provided(Balances)
      if (balances === undefined || (await kit.run(findAccount(id))) === undefined) return done(c, session, { error: "No such account, or this relay keeps no balances." }, accountPath(id))
      if (amount === undefined) return done(c, session, { error: `Amount: ${USD_AMOUNT_RULE}.` }, accountPath(id))
      const refused = await kit.run(balances.credit(id, amount, field(form, "note") || null))
      if (refused !== undefined) return done(c, session, { error: refused.message }, accountPath(id))
      return done(c, session, { notice: `Added ${nanoUsd(amount)} (${formatUsd(amount)} USD).` }, accountPath(id))
    })
  )

  app.post(
    "/console/accounts/:id/keys",
    action(["admin"], async (c, session, form, _visitor, accounts) => {
      const id = param(c, "id")
      const issued = await issueFromForm(accounts, id, form, undefined)
      if (issued instanceof Error) return done(c, session, { error: issued.message }, accountPath(id))
      return done(c, session, { issuedKey: { key: issued.key, prefix: issued.info.prefix, name: issued.info.name } }, accountPath(id))
    })
  )

  app.post(
    "/console/accounts/:id/keys/:keyId/revoke",
    action(["admin"], async (c, session, _form, _visitor, accounts) => {
      const id = param(c, "id")
      const revoked = await kit.run(accounts.revokeKey(param(c, "keyId"), id))
      return done(c, session, revoked !== undefined ? { notice: "Key revoked." } : { error: "No such active key on this account." }, accountPath(id))
    })
  )

  app.post(
    "/console/accounts/:id/keys/:keyId",
    action(["admin"], async (c, session, form, _visitor, accounts) => {
      const id = param(c, "id")
      const updated = await editFromForm(accounts, id, param(c, "keyId"), form, undefined)
      return done(c, session, updated instanceof Error ? { error: updated.message } : { notice: `Saved key ${updated.name ?? updated.prefix}.` }, accountPath(id))
    })
  )

  // Deletion is confirmed by typing the account's id: a stray click deletes nothing.
  app.post(
    "/console/accounts/:id/delete",
    action(["admin"], async (c, session, form, _visitor, accounts) => {
      const id = param(c, "id")
      if (field(form, "confirm") !== id) return done(c, session, { error: `Not deleted: type the account id, ${id}, to confirm.` }, accountPath(id))
      const deleted = await kit.run(accounts.remove(id))
      if (!deleted) return done(c, session, { error: `There is no account ${id}.` }, accountPath(id))
      return done(c, session, { notice: `Deleted account ${id}: its keys are revoked, its usage and ledger kept.` })
    })
  )

  for (const [path, suspended] of [["suspend", true], ["resume", false]] as const) {
    app.post(
      `/console/accounts/:id/${path}`,
      action(["admin"], async (c, session, _form, _visitor, accounts) => {
        const id = param(c, "id")
        const account = await kit.run(accounts.suspend(id, suspended))
        if (account instanceof Error) return done(c, session, { error: account.message }, accountPath(id))
        return done(c, session, { notice: suspended ? "Account suspended: every key of it is refused until it is resumed." : "Account resumed." }, accountPath(id))
      })
    )
  }
}
