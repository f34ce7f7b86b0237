import { Schema } from "effect"
import type { Hono } from "hono"
import { type AccountDirectory, formatUsd, InvalidRequest, type KeyInfo, parseUsd, type RouteKit, RouteNotFound, strictBodyDecoder, USD_AMOUNT_RULE } from "../../core/index.ts"
import { keyChanges } from "./restrictions.ts"

const Limit = Schema.NullOr(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))

const decodeCreateAccount = strictBodyDecoder(Schema.Struct({
  /** Its length is the account directory's rule, the same for every door. */
  name: Schema.String,
  tier: Schema.optional(Schema.NonEmptyString),
  /** Opening credit in USD, booked by the billing plugin. */
  credits: Schema.optional(Schema.Union([Schema.String, Schema.Number]))
}))
const decodeUpdateAccount = strictBodyDecoder(Schema.Struct({
  tier: Schema.optional(Schema.NonEmptyString),
  rpm: Schema.optional(Limit),
  tpm: Schema.optional(Limit)
}))

/** Keys as lists show them, each with what it spent in its current period (when balances are kept). */
export const withSpend = (kit: RouteKit, keys: ReadonlyArray<KeyInfo>) =>
  Promise.all(keys.map(async (key) => ({
    ...key,
    spent: kit.keySpent === undefined ? null : formatUsd(await kit.keySpent(key.id, key.spend_period))
  })))

/** The admin API for accounts and keys (SPEC section 6), over the account directory. */
export const adminRoutes = (app: Hono, kit: RouteKit, directory: AccountDirectory): void => {
  const decode = async <A>(c: Parameters<RouteKit["readJson"]>[0], decodeBody: (body: unknown) => A | InvalidRequest) => {
    const body = await kit.readJson(c)
    return body instanceof Error ? body : decodeBody(body)
  }

  const noAccount = (id: string) => new RouteNotFound({ message: `no account ${id}` })

  app.post("/admin/accounts", async (c) => {
    const input = await decode(c, decodeCreateAccount)
    if (input instanceof Error) return kit.errorResponse(c, input)
    // Every check comes before the account is created: a refused request writes nothing. A new
    // account's balance is its opening credit, which parseUsd keeps within the money limit.
    const credits = input.credits === undefined ? undefined : parseUsd(input.credits)
    if (input.credits !== undefined && (credits === undefined || kit.credit === undefined)) {
      const message = kit.credit === undefined
        ? "credits: this relay keeps no balances (no billing plugin)"
        : `credits: ${USD_AMOUNT_RULE}`
      return kit.errorResponse(c, new InvalidRequest({ message, param: "credits" }))
    }
    const account = await directory.create(input.name, input.tier)
    if (account instanceof Error) return kit.errorResponse(c, account)
    if (credits !== undefined) await kit.credit!(account.id, credits, "opening credit")
    return c.json(await kit.accountView(account), 201)
  })

  app.get("/admin/accounts", async (c) => c.json({ data: await Promise.all((await directory.list()).map(kit.accountView)) }))

  app.get("/admin/accounts/:id", async (c) => {
    const account = await kit.findAccount(c.req.param("id"))
    return account ? c.json(await kit.accountView(account)) : kit.errorResponse(c, noAccount(c.req.param("id")))
  })

  app.patch("/admin/accounts/:id", async (c) => {
    const input = await decode(c, decodeUpdateAccount)
    if (input instanceof Error) return kit.errorResponse(c, input)
    const account = await directory.update(c.req.param("id"), input)
    return account instanceof Error ? kit.errorResponse(c, account) : c.json(await kit.accountView(account))
  })

  // Suspension is reversible (resume). Deletion is not: over the API the DELETE itself, with
  // the admin key, is the confirmation (SPEC section 15); the command line and the console,
  // where a slip is easier, ask for the account's id or name again.
  for (const [action, suspended] of [["suspend", true], ["resume", false]] as const) {
    app.post(`/admin/accounts/:id/${action}`, async (c) => {
      const account = await directory.suspend(c.req.param("id"), suspended)
      return account instanceof Error ? kit.errorResponse(c, account) : c.json(await kit.accountView(account))
    })
  }

  app.delete("/admin/accounts/:id", async (c) => {
    const id = c.req.param("id")
    return (await directory.remove(id)) ? c.body(null, 204) : kit.errorResponse(c, noAccount(id))
  })

  app.post("/admin/accounts/:id/keys", async (c) => {
    const input = await decode(c, keyChanges)
    if (input instanceof Error) return kit.errorResponse(c, input)
    const issued = await directory.issueKey(c.req.param("id"), input.name ?? null, input)
    return issued instanceof Error ? kit.errorResponse(c, issued) : c.json({ ...issued.info, key: issued.key }, 201)
  })

  app.get("/admin/accounts/:id/keys", async (c) => {
    const keys = await directory.keys(c.req.param("id"))
    return keys === undefined ? kit.errorResponse(c, noAccount(c.req.param("id"))) : c.json({ data: await withSpend(kit, keys) })
  })

  app.patch("/admin/keys/:id", async (c) => {
    const input = await decode(c, keyChanges)
    if (input instanceof Error) return kit.errorResponse(c, input)
    const key = await directory.updateKey(c.req.param("id"), input)
    return key instanceof Error ? kit.errorResponse(c, key) : c.json((await withSpend(kit, [key]))[0])
  })

  app.delete("/admin/keys/:id", async (c) => {
    const id = c.req.param("id")
    return (await directory.revokeKey(id)) ? c.body(null, 204) : kit.errorResponse(c, new RouteNotFound({ message: `no active key ${id}` }))
  })
}
