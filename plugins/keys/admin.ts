import { Effect, Option, Schema } from "effect"
import type { Hono } from "hono"
import {
  AccountDirectory,
  accountView,
  Balances,
  formatUsd,
  InvalidRequest,
  type KeyInfo,
  parseUsd,
  requireAccount,
  type RouteKit,
  RouteNotFound,
  strictBodyDecoder,
  USD_AMOUNT_RULE
} from "../../core/index.ts"
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
export const withSpend = (keys: ReadonlyArray<KeyInfo>): Effect.Effect<ReadonlyArray<KeyInfo & { readonly spent: string | null }>> =>
  Effect.flatMap(Effect.serviceOption(Balances), (balances) =>
    Effect.forEach(keys, (key): Effect.Effect<KeyInfo & { readonly spent: string | null }> =>
      Option.isNone(balances)
        ? Effect.succeed({ ...key, spent: null })
        : Effect.map(balances.value.keySpent(key.id, key.spend_period), (spent) => ({ ...key, spent: formatUsd(spent) }))))

/** The admin API for accounts and keys (SPEC section 6), over the account directory. */
export const adminRoutes = (app: Hono, kit: RouteKit): void => {
  const decode = async <A>(c: Parameters<RouteKit["readJson"]>[0], decodeBody: (body: unknown) => A | InvalidRequest) => {
    const body = await kit.readJson(c)
    return body instanceof Error ? body : decodeBody(body)
  }

  app.post("/admin/accounts", async (c) => {
    const input = await decode(c, decodeCreateAccount)
    if (input instanceof Error) return kit.errorResponse(c, input)
    return kit.respond(c, Effect.gen(function*() {
      // Every check comes before the account is created: a refused request writes nothing. A
      // new account's balance is its opening credit, which parseUsd keeps within the money limit.
      const balances = yield* Effect.serviceOption(Balances)
      const credits = input.credits === undefined ? undefined : parseUsd(input.credits)
      if (input.credits !== undefined && (credits === undefined || Option.isNone(balances))) {
        const message = Option.isNone(balances) ? "credits: this relay keeps no balances (no billing plugin)" : `credits: ${USD_AMOUNT_RULE}`
        return yield* Effect.fail(new InvalidRequest({ message, param: "credits" }))
      }
      const account = yield* (yield* AccountDirectory).create(input.name, input.tier)
      if (credits !== undefined && Option.isSome(balances)) yield* balances.value.openingCredit(account.id, credits)
      return yield* accountView(account)
    }), 201)
  })

  app.get("/admin/accounts", (c) =>
    kit.respond(c, AccountDirectory.use((directory) => directory.list()).pipe(Effect.flatMap((accounts) => Effect.forEach(accounts, accountView)), Effect.map((data) => ({ data })))))

  app.get("/admin/accounts/:id", (c) => kit.respond(c, Effect.flatMap(requireAccount(c.req.param("id")), accountView)))

  app.patch("/admin/accounts/:id", async (c) => {
    const input = await decode(c, decodeUpdateAccount)
    if (input instanceof Error) return kit.errorResponse(c, input)
    return kit.respond(c, AccountDirectory.use((directory) => directory.update(c.req.param("id"), input)).pipe(Effect.flatMap(accountView)))
  })

  // Suspension is reversible (resume). Deletion is not: over the API the DELETE itself, with
  // the admin key, is the confirmation (SPEC section 15); the command line and the console,
  // where a slip is easier, ask for the account's id again.
  for (const [action, suspended] of [["suspend", true], ["resume", false]] as const) {
    app.post(`/admin/accounts/:id/${action}`, (c) =>
      kit.respond(c, AccountDirectory.use((directory) => directory.suspend(c.req.param("id"), suspended)).pipe(Effect.flatMap(accountView))))
  }

  app.delete("/admin/accounts/:id", async (c) => {
    const id = c.req.param("id")
    const removed = await kit.run(AccountDirectory.use((directory) => directory.remove(id)))
    return removed ? c.body(null, 204) : kit.errorResponse(c, new RouteNotFound({ message: `no account ${id}` }))
  })

  app.post("/admin/accounts/:id/keys", async (c) => {
    const input = await decode(c, keyChanges)
    if (input instanceof Error) return kit.errorResponse(c, input)
    return kit.respond(c, AccountDirectory.use((directory) => directory.issueKey(c.req.param("id"), input.name ?? null, input)).pipe(Effect.map((issued) => ({ ...issued.info, key: issued.key }))), 201)
  })

  app.get("/admin/accounts/:id/keys", (c) =>
    kit.respond(c, AccountDirectory.use((directory) => directory.keys(c.req.param("id"))).pipe(Effect.flatMap(withSpend), Effect.map((data) => ({ data })))))

  app.patch("/admin/keys/:id", async (c) => {
    const input = await decode(c, keyChanges)
    if (input instanceof Error) return kit.errorResponse(c, input)
    return kit.respond(c, AccountDirectory.use((directory) => directory.updateKey(c.req.param("id"), input)).pipe(Effect.flatMap((key) => withSpend([key])), Effect.map((keys) => keys[0])))
  })

  app.delete("/admin/keys/:id", async (c) => {
    const id = c.req.param("id")
    const accountId = await kit.run(AccountDirectory.use((directory) => directory.revokeKey(id)))
    if (accountId === undefined) return kit.errorResponse(c, new RouteNotFound({ message: `no active key ${id}` }))
    // The path names only the key: the audit log files the revocation under its account.
    kit.auditAccount(c, accountId)
    return c.body(null, 204)
  })
}
