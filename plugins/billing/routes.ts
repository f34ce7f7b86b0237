import { Effect, Schema } from "effect"
import type { Context, Hono } from "hono"
import { accountView, Balances, formatUsd, InvalidRequest, parseUsd, requireAccount, type RouteKit, strictBodyDecoder, UsageHistory, USD_AMOUNT_RULE } from "../../core/index.ts"

const decodeCredit = strictBodyDecoder(Schema.Struct({
  amount: Schema.Union([Schema.String, Schema.Number]),
  note: Schema.optional(Schema.String)
}))

/** `?limit=` of a usage listing: 50 unless given; outside 1 to 1000 it is refused, never clamped. */
const limitOf = (c: Context): number | InvalidRequest => {
  const raw = c.req.query("limit")
  if (raw === undefined) return 50
  const limit = /^\d+$/.test(raw) ? Number(raw) : 0
  return limit >= 1 && limit <= 1000 ? limit : new InvalidRequest({ message: "limit: expected a whole number from 1 to 1000", param: "limit" })
}

/** Credits and usage listings: the admin API's and the account's own (SPEC sections 5 and 6). */
export const billingRoutes = (app: Hono, kit: RouteKit): void => {
  const usage = (accountId: string, limit: number) => Effect.map(UsageHistory.use((history) => history.list(accountId, limit)), (data) => ({ data }))

  // The operator's view of spend over time: per UTC day and account, or day and model.
  app.get("/admin/spend", (c) => {
    const by = c.req.query("by") ?? "account"
    const daysText = c.req.query("days") ?? "30"
    const days = /^\d{1,3}$/.test(daysText) ? Number(daysText) : 0
    if (by !== "account" && by !== "model") return kit.errorResponse(c, new InvalidRequest({ message: "by: expected account or model", param: "by" }))
    if (days < 1 || days > 366) return kit.errorResponse(c, new InvalidRequest({ message: "days: expected a whole number from 1 to 366", param: "days" }))
    return kit.respond(c, Effect.map(UsageHistory.use((history) => history.spendBy(by, days)), (rows) => ({
      data: rows.map((row) => ({ day: row.day, [by === "account" ? "account_id" : "model"]: row.name, cost: formatUsd(row.cost) }))
    })))
  })

  app.post("/admin/accounts/:id/credits", async (c) => {
    const account = await kit.run(requireAccount(c.req.param("id")))
    if (account instanceof Error) return kit.errorResponse(c, account)
    const body = await kit.readJson(c)
    if (body instanceof Error) return kit.errorResponse(c, body)
    const input = decodeCredit(body)
    if (input instanceof InvalidRequest) return kit.errorResponse(c, input)
    const amount = parseUsd(input.amount)
    if (amount === undefined) return kit.errorResponse(c, new InvalidRequest({ message: `amount: ${USD_AMOUNT_RULE}`, param: "amount" }))
    return kit.respond(c, Balances.use((balances) => balances.credit(account.id, amount, input.note ?? null)).pipe(Effect.andThen(accountView(account))))
  })

  app.get("/admin/accounts/:id/usage", async (c) => {
    const account = await kit.run(requireAccount(c.req.param("id")))
    if (account instanceof Error) return kit.errorResponse(c, account)
    const limit = limitOf(c)
    return limit instanceof InvalidRequest ? kit.errorResponse(c, limit) : kit.respond(c, usage(account.id, limit))
  })

  app.get("/v1/account/usage", async (c) => {
    const caller = await kit.authenticate(c)
    if (caller instanceof Error) return kit.errorResponse(c, caller)
    const limit = limitOf(c)
    return limit instanceof InvalidRequest ? kit.errorResponse(c, limit) : kit.respond(c, usage(caller.account.id, limit))
  })
}
