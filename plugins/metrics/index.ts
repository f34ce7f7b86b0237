import { Effect } from "effect"
import { definePlugin, type Outcome, type RequestContext, StoreHealth } from "../../core/index.ts"
import { Counter, Gauge, Histogram, Registry, UsdCounter } from "./registry.ts"

export interface MetricsOptions {
  /**
   * Serve `/metrics` to anyone, for a scraper on a private network. Otherwise it needs the
   * admin key (`Authorization: Bearer $RELAY_ADMIN_KEY`) and does not exist without one.
   */
  readonly public?: boolean
}

/** Seconds; from a cached echo answer to a long streamed generation. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
const TTFB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

const TOKEN_KINDS = [
  ["prompt", "promptTokens"],
  ["completion", "completionTokens"],
  ["cached", "cachedTokens"],
  ["cache_write", "cacheWriteTokens"],
  ["image_input", "imageInputTokens"],
  ["image_output", "imageOutputTokens"]
] as const

/** The refusals a key's restrictions or its account's state make, as their metric label. */
const KEY_REFUSALS: Partial<Record<string, string>> = {
  KeySpendLimitExceeded: "spend_limit",
  ModelNotAllowed: "model_not_allowed",
  KeyExpired: "expired",
  AccountSuspended: "account_suspended"
}

/**
 * Prometheus metrics at `GET /metrics`: requests, latency and time to first byte, tokens, cost,
 * upstream key failures, rate-limit refusals, open streams, and key spend and refusals by bounded labels. It observes each request once
 * it has settled, so the cost is what billing charged.
 */
export const metrics = (options: MetricsOptions = {}) =>
  definePlugin("metrics", (info) =>
    Effect.gen(function*() {
      const storeHealth = yield* StoreHealth
      const registry = new Registry()
      const requests = registry.add(
        new Counter("relay_requests_total", "Proxied requests by surface, model, provider, BYOK and response status.", [
          "surface",
          "model",
          "provider",
          "byok",
          "status"
        ])
      )
      const duration = registry.add(
        new Histogram("relay_request_duration_seconds", "Time from the request to the end of its response (of the whole stream for streams).", ["surface", "provider"], LATENCY_BUCKETS)
      )
      const ttfb = registry.add(
        new Histogram("relay_time_to_first_byte_seconds", "Time from the request to the upstream's first response byte.", ["surface", "provider"], TTFB_BUCKETS)
      )
      const tokens = registry.add(
        new Counter("relay_tokens_total", "Tokens used, by kind: prompt (cached included), completion, cached, cache_write, image_input, image_output.", ["model", "provider", "kind"])
      )
      const cost = registry.add(new UsdCounter("relay_cost_usd_total", "USD charged to account balances.", ["model", "provider"]))
      const keyFailures = registry.add(
        new Counter("relay_upstream_key_failures_total", "Upstream keys that failed and were failed over, by provider, pool owner (shared or caller), slot and reason.", [
          "provider",
          "owner",
          "slot",
          "reason"
        ])
      )
      const rejections = registry.add(new Counter("relay_limiter_rejections_total", "Requests refused by the rate limiter (429), by the account's tier.", ["tier"]))
      const openStreams = registry.add(new Gauge("relay_open_streams", "Streamed responses in progress.", []))
      // Key restrictions, by bounded labels only (never a key or an account): how spend splits by
      // the kind of limit its key has, and why keys were refused.
      const keySpend = registry.add(
        new UsdCounter("relay_key_spend_usd_total", "USD charged, by the spend limit of the key that spent it: none, or its period (day, week, month, lifetime).", ["limit"])
      )
      const keyRefusals = registry.add(
        new Counter("relay_key_refusals_total", "Requests refused by their key's restrictions or account state: spend_limit, model_not_allowed, expired, account_suspended.", ["reason"])
      )
      // The store's state as its writers last found it: an alert on `relay_store_writable == 0`
      // catches a full disk before the balances drift.
      const storeGauges = {
        writable: registry.add(new Gauge("relay_store_writable", "1 while the store takes writes; 0 while it refuses them and billable requests get 503.", [])),
        kept: registry.add(new Gauge("relay_store_kept_records", "Charges and usage records held in memory until the store takes them.", [])),
        refused: registry.add(new Gauge("relay_store_refused_writes", "Write attempts the store refused since start.", []))
      }
      const shown = { writable: 0, kept: 0, refused: 0 }
      const showStore = () => {
        const now = { writable: storeHealth.writable ? 1 : 0, kept: storeHealth.keptCharges, refused: storeHealth.refusedWrites }
        for (const name of ["writable", "kept", "refused"] as const) {
          storeGauges[name].add({}, now[name] - shown[name])
          shown[name] = now[name]
        }
      }
      showStore()
      storeHealth.onChange(showStore)

      // A label value from the caller's input must not make a new series per request: models
      // outside the catalog (routed by name on BYOK, or unknown) share one value.
      const catalogued = new Set(info.models.map((model) => model.id))
      const modelLabel = (ctx: RequestContext) => (catalogued.has(ctx.model) ? ctx.model : ctx.model === "" ? "none" : "other")
      const opened = new WeakSet<RequestContext>()

      const record = (ctx: RequestContext, outcome: Outcome) => {
        const surface = ctx.route.slice(1).replaceAll("/", ".")
        const model = modelLabel(ctx)
        const provider = ctx.target?.provider ?? "none"
        requests.inc({ surface, model, provider, byok: String(ctx.byok), status: String(outcome.status) })
        duration.observe({ surface, provider }, outcome.latencyMs / 1000)
        if (outcome.ttfbMs !== undefined) ttfb.observe({ surface, provider }, outcome.ttfbMs / 1000)
        const usage = outcome.usage
        if (usage !== undefined) {
          for (const [kind, field] of TOKEN_KINDS) if (usage[field] > 0) tokens.inc({ model, provider, kind }, usage[field])
        }
        if (ctx.charged !== undefined && ctx.charged > 0n) {
          cost.add({ model, provider }, ctx.charged)
          const key = ctx.caller?.key
          keySpend.add({ limit: key === undefined || key.spendLimit === null ? "none" : key.spendPeriod ?? "lifetime" }, ctx.charged)
        }
        const refusal = outcome.error === undefined ? undefined : KEY_REFUSALS[outcome.error._tag]
        if (refusal !== undefined) keyRefusals.inc({ reason: refusal })
        for (const failure of ctx.keyFailures) {
          keyFailures.inc({ provider: failure.provider, owner: failure.owner, slot: String(failure.slot), reason: failure.reason })
        }
        if (outcome.error?._tag === "RateLimited") rejections.inc({ tier: ctx.caller?.account.tier ?? "none" })
        if (opened.delete(ctx)) openStreams.add({}, -1)
      }

      return {
        observe: {
          streamOpened: (ctx) => {
            opened.add(ctx)
            openStreams.add({}, 1)
          },
          settled: record
        },
        routes: (app, kit) => {
          if (options.public !== true) app.use("/metrics", kit.requireAdmin)
          app.get("/metrics", (c) =>
            c.body(registry.render(), 200, {
              "content-type": "text/plain; version=0.0.4; charset=utf-8",
              "cache-control": "no-store"
            }))
        }
      }
    }))
