import assert from "node:assert/strict"
import { afterEach, beforeEach, describe, it, mock } from "node:test"
import { Cause, Context, Effect, Exit } from "effect"
import { type AdmittedRequest, type OverrideChanges, type Outcome, type PluginHooks, RateTiers, type RelayError, RequestContext, type Usage } from "../../core/index.ts"
import { limiter, type LimiterOptions } from "../../plugins/limiter/index.ts"
import { providerRegistry } from "../../plugins/providers/registry/index.ts"
import { testInfo } from "../helpers/services.ts"
import { memoryAccountLimits } from "../ports/memory.ts"

const T0 = 1_700_000_000_000
const info = testInfo({ providers: providerRegistry([]), models: [], tiers: { starter: { rpm: 3, tpm: 1_000 }, pro: { rpm: 100, tpm: 50_000 } }, defaultTier: "starter" })

const setup = async (options?: LimiterOptions) => {
  // The limiter needs none of the runtime's services.
  // With its overrides kept in memory.
  const hooks = await Effect.runPromise(limiter({ overrides: memoryAccountLimits, ...options }).setup(info) as Effect.Effect<PluginHooks>)
  const { admit, settle } = hooks
  assert.ok(admit && settle && hooks.services)
  const tiers = Context.get(hooks.services as Context.Context<RateTiers>, RateTiers)
  /** Sets an account's overrides as the admin API does. */
  const override = (accountId: string, changes: OverrideChanges) => Effect.runPromise(tiers.setOverrides(accountId, changes))
  // The pipeline admits a resolved request of a known caller; these contexts stand in for one.
  return { admit: (ctx: RequestContext) => admit(ctx as AdmittedRequest), settle, override }
}

interface CtxOptions {
  readonly byok?: boolean
  readonly maxTokens?: number
  readonly account?: { id?: string; tier?: string }
}

const context = (options: CtxOptions = {}) => {
  const ctx = new RequestContext("req_1", "openai", "/chat/completions", new Request("http://x/"), options.byok ?? false)
  const account = options.account ?? {}
  ctx.caller = {
    keyId: "k",
    account: { id: account.id ?? "a", name: "n", tier: account.tier ?? "starter" }
  }
  ctx.body = { model: "m", messages: [{ role: "user", content: "hello" }], max_tokens: options.maxTokens ?? 10 }
  ctx.model = "m"
  return ctx
}

/** What the limiter reserves for a context: its prompt estimate plus max_tokens. */
const reservationOf = (ctx: RequestContext) => ctx.estimatedPromptTokens() + (ctx.body.max_tokens as number)

const headersOf = (ctx: RequestContext) => ({
  limit: ctx.responseHeaders.get("x-ratelimit-limit"),
  remaining: ctx.responseHeaders.get("x-ratelimit-remaining"),
  reset: ctx.responseHeaders.get("x-ratelimit-reset"),
  limitTokens: ctx.responseHeaders.get("x-ratelimit-limit-tokens"),
  remainingTokens: ctx.responseHeaders.get("x-ratelimit-remaining-tokens")
})

const failure = (exit: Exit.Exit<void, RelayError>): RelayError => {
  assert.ok(Exit.isFailure(exit), "expected the admission to fail")
  const error = Cause.squash(exit.cause) as RelayError
  return error
}

const usage = (promptTokens: number, completionTokens: number): Usage => ({
  promptTokens,
  completionTokens,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  imageInputTokens: 0,
  imageOutputTokens: 0,
  source: "upstream"
})

const outcome = (used: Usage | undefined): Outcome => ({ status: 200, error: undefined, aborted: false, usage: used, latencyMs: 5, ttfbMs: 1 })

beforeEach(() => {
  mock.timers.enable({ apis: ["Date"], now: T0 })
})
afterEach(() => {
  mock.timers.reset()
})

describe("limiter admission headers", () => {
  it("sets the five X-RateLimit headers on an admitted request", async () => {
    const { admit } = await setup()
    const ctx = context()
    const exit = await Effect.runPromiseExit(admit(ctx))
    assert.ok(Exit.isSuccess(exit))
    assert.deepEqual(headersOf(ctx), {
      limit: "3",
      remaining: "2",
      reset: "60",
      limitTokens: "1000",
      remainingTokens: String(1_000 - reservationOf(ctx))
    })
  })

  it("reserves the prompt estimate plus max_tokens", async () => {
    const { admit } = await setup()
    const ctx = context({ maxTokens: 100 })
    await Effect.runPromise(admit(ctx))
    assert.ok(ctx.estimatedPromptTokens() > 0)
    assert.equal(ctx.responseHeaders.get("x-ratelimit-remaining-tokens"), String(1_000 - 100 - ctx.estimatedPromptTokens()))
  })

  it("counts down remaining requests and tokens across a burst", async () => {
    const { admit } = await setup()
    const seen: Array<[string | null, string | null]> = []
    let reserved = 0
    for (let i = 0; i < 3; i++) {
      const ctx = context()
      await Effect.runPromise(admit(ctx))
      reserved += reservationOf(ctx)
      seen.push([ctx.responseHeaders.get("x-ratelimit-remaining"), ctx.responseHeaders.get("x-ratelimit-remaining-tokens")])
    }
    assert.deepEqual(seen.map(([r]) => r), ["2", "1", "0"])
    assert.equal(seen[2]![1], String(1_000 - reserved))
  })

  it("uses the model's output cap, else defaultOutputTokens, when the request sets no max_tokens", async () => {
    const { admit } = await setup({ defaultOutputTokens: 50 })
    const plain = context()
    delete plain.body.max_tokens
    await Effect.runPromise(admit(plain))
    assert.equal(plain.responseHeaders.get("x-ratelimit-remaining-tokens"), String(1_000 - plain.estimatedPromptTokens() - 50))

    const capped = context({ account: { id: "b" } })
    delete capped.body.max_tokens
    capped.target = { id: "m", provider: "p", upstreamModel: "m", entry: { id: "m", provider: "p", maxOutputTokens: 120 } }
    await Effect.runPromise(admit(capped))
    assert.equal(capped.responseHeaders.get("x-ratelimit-remaining-tokens"), String(1_000 - capped.estimatedPromptTokens() - 120))
  })
})

describe("limiter refusals", () => {
  it("refuses the request past the RPM with RateLimited and its retry time", async () => {
    const { admit } = await setup()
    for (let i = 0; i < 3; i++) await Effect.runPromise(admit(context()))
    mock.timers.tick(15_200)
    const ctx = context()
    const error = failure(await Effect.runPromiseExit(admit(ctx)))
    assert.equal(error._tag, "RateLimited")
    assert.equal(error.status, 429)
    assert.equal((error as Extract<RelayError, { _tag: "RateLimited" }>).retryAfterSeconds, 45)
    assert.match(error.message, /3 requests per minute/)
    assert.match(error.message, /retry after 45 s/)
    assert.equal(headersOf(ctx).remaining, "0")
    assert.equal(headersOf(ctx).reset, "45")
    assert.equal(headersOf(ctx).limit, "3")
  })

  it("admits again once the window has passed", async () => {
    const { admit } = await setup()
    for (let i = 0; i < 3; i++) await Effect.runPromise(admit(context()))
    mock.timers.tick(59_999)
    assert.ok(Exit.isFailure(await Effect.runPromiseExit(admit(context()))))
    mock.timers.tick(1)
    const ctx = context()
    assert.ok(Exit.isSuccess(await Effect.runPromiseExit(admit(ctx))))
    assert.equal(headersOf(ctx).remaining, "2")
  })

  it("refuses on TPM with a message about tokens", async () => {
    const { admit } = await setup()
    const big = context({ maxTokens: 900 })
    await Effect.runPromise(admit(big))
    mock.timers.tick(2_000)
    const ctx = context({ maxTokens: 200 })
    const error = failure(await Effect.runPromiseExit(admit(ctx)))
    assert.equal(error._tag, "RateLimited")
    assert.equal((error as Extract<RelayError, { _tag: "RateLimited" }>).retryAfterSeconds, 58)
    assert.match(error.message, /token rate limit reached: 1000 tokens per minute; retry after 58 s/)
    assert.doesNotMatch(error.message, /requests per minute/)
    assert.equal(headersOf(ctx).remainingTokens, String(1_000 - reservationOf(big)))
    assert.equal(headersOf(ctx).remaining, "0")
  })

  it("refuses a request larger than the TPM by itself with its own message", async () => {
    const { admit } = await setup()
    const ctx = context({ maxTokens: 5_000 })
    const error = failure(await Effect.runPromiseExit(admit(ctx)))
    assert.equal(error._tag, "RateLimited")
    assert.equal((error as Extract<RelayError, { _tag: "RateLimited" }>).retryAfterSeconds, 60)
    assert.match(error.message, new RegExp(`alone needs about ${reservationOf(ctx)} tokens`))
    assert.match(error.message, /more than the 1000 tokens per minute/)
    assert.doesNotMatch(error.message, /retry after/)
    assert.equal(headersOf(ctx).remainingTokens, "1000")
  })

  it("the three refusals have distinct messages", async () => {
    const messages = new Set<string>()
    {
      const { admit } = await setup()
      for (let i = 0; i < 3; i++) await Effect.runPromise(admit(context()))
      messages.add(failure(await Effect.runPromiseExit(admit(context()))).message)
    }
    {
      const { admit } = await setup()
      await Effect.runPromise(admit(context({ maxTokens: 990 })))
      messages.add(failure(await Effect.runPromiseExit(admit(context({ maxTokens: 100 })))).message)
    }
    {
      const { admit } = await setup()
      messages.add(failure(await Effect.runPromiseExit(admit(context({ maxTokens: 2_000 })))).message)
    }
    assert.equal(messages.size, 3)
  })

  it("a refused request uses up neither requests nor tokens", async () => {
    const { admit } = await setup()
    await Effect.runPromise(admit(context({ maxTokens: 900 })))
    for (let i = 0; i < 5; i++) assert.ok(Exit.isFailure(await Effect.runPromiseExit(admit(context({ maxTokens: 500 })))))
    const ctx = context()
    assert.ok(Exit.isSuccess(await Effect.runPromiseExit(admit(ctx))))
    assert.equal(headersOf(ctx).remaining, "1")
  })
})

describe("limiter limits per account", () => {
  it("an account's rpm override wins over its tier", async () => {
    const { admit, override } = await setup()
    await override("a", { rpm: 1 })
    const first = context()
    await Effect.runPromise(admit(first))
    assert.equal(headersOf(first).limit, "1")
    assert.equal(headersOf(first).remaining, "0")
    const error = failure(await Effect.runPromiseExit(admit(context())))
    assert.match(error.message, /1 requests per minute/)
  })

  it("an account's tpm override wins over its tier", async () => {
    const { admit, override } = await setup()
    await override("a", { tpm: 40 })
    const ctx = context({ account: { tier: "pro" }, maxTokens: 40 })
    const error = failure(await Effect.runPromiseExit(admit(ctx)))
    assert.equal(headersOf(ctx).limitTokens, "40")
    assert.equal(headersOf(ctx).limit, "100")
    assert.match(error.message, /more than the 40 tokens per minute/)
  })

  it("an override applies on the very next request", async () => {
    const { admit, override } = await setup()
    for (let i = 0; i < 3; i++) await Effect.runPromise(admit(context()))
    assert.ok(Exit.isFailure(await Effect.runPromiseExit(admit(context()))))
    await override("a", { rpm: 4 })
    const raised = context()
    assert.ok(Exit.isSuccess(await Effect.runPromiseExit(admit(raised))))
    assert.equal(headersOf(raised).remaining, "0")
  })

  it("an account on an unknown tier gets the default tier", async () => {
    const { admit } = await setup()
    const ctx = context({ account: { tier: "gone" } })
    await Effect.runPromise(admit(ctx))
    assert.equal(headersOf(ctx).limit, "3")
    assert.equal(headersOf(ctx).limitTokens, "1000")
  })

  it("accounts have their own windows", async () => {
    const { admit } = await setup()
    for (let i = 0; i < 3; i++) await Effect.runPromise(admit(context({ account: { id: "a" } })))
    const other = context({ account: { id: "b" } })
    assert.ok(Exit.isSuccess(await Effect.runPromiseExit(admit(other))))
    assert.equal(headersOf(other).remaining, "2")
  })
})

describe("limiter and BYOK", () => {
  it("BYOK requests count toward the RPM shared with /v1", async () => {
    const { admit } = await setup()
    await Effect.runPromise(admit(context({ byok: true })))
    await Effect.runPromise(admit(context({ byok: false })))
    await Effect.runPromise(admit(context({ byok: true })))
    assert.ok(Exit.isFailure(await Effect.runPromiseExit(admit(context({ byok: false })))))
    assert.ok(Exit.isFailure(await Effect.runPromiseExit(admit(context({ byok: true })))))
  })

  it("BYOK tokens count toward TPM by default", async () => {
    const { admit } = await setup()
    const ctx = context({ byok: true, maxTokens: 100 })
    await Effect.runPromise(admit(ctx))
    assert.equal(headersOf(ctx).remainingTokens, String(1_000 - reservationOf(ctx)))
    assert.ok(Exit.isFailure(await Effect.runPromiseExit(admit(context({ byok: true, maxTokens: 5_000 })))))
  })

  it("with byokTokens: false BYOK requests reserve no tokens but still count as requests", async () => {
    const { admit, settle } = await setup({ byokTokens: false })
    const ctx = context({ byok: true, maxTokens: 5_000 })
    assert.ok(Exit.isSuccess(await Effect.runPromiseExit(admit(ctx))))
    assert.equal(headersOf(ctx).remainingTokens, "1000")
    assert.equal(headersOf(ctx).remaining, "2")
    await Effect.runPromise(settle(ctx, outcome(usage(3_000, 3_000))))
    const next = context({ byok: false })
    await Effect.runPromise(admit(next))
    assert.equal(headersOf(next).remaining, "1")
    assert.equal(headersOf(next).remainingTokens, String(1_000 - reservationOf(next)))
  })
})

describe("limiter settle", () => {
  it("replaces the reservation with the real usage", async () => {
    const { admit, settle } = await setup()
    const ctx = context({ maxTokens: 500 })
    await Effect.runPromise(admit(ctx))
    mock.timers.tick(1_500)
    await Effect.runPromise(settle(ctx, outcome(usage(30, 20))))
    const next = context()
    await Effect.runPromise(admit(next))
    assert.equal(headersOf(next).remainingTokens, String(1_000 - 50 - reservationOf(next)))
  })

  it("charges more than the reservation when the usage was larger", async () => {
    const { admit, settle } = await setup()
    const ctx = context()
    await Effect.runPromise(admit(ctx))
    await Effect.runPromise(settle(ctx, outcome(usage(300, 400))))
    const next = context()
    await Effect.runPromise(admit(next))
    assert.equal(headersOf(next).remainingTokens, String(1_000 - 700 - reservationOf(next)))
  })

  it("a request that ended without usage gives its reservation back", async () => {
    const { admit, settle } = await setup()
    const ctx = context({ maxTokens: 900 })
    await Effect.runPromise(admit(ctx))
    await Effect.runPromise(settle(ctx, outcome(undefined)))
    const next = context({ maxTokens: 900 })
    assert.ok(Exit.isSuccess(await Effect.runPromiseExit(admit(next))))
    assert.equal(headersOf(next).remainingTokens, String(1_000 - reservationOf(next)))
  })

  it("settling a refused request changes nothing", async () => {
    const { admit, settle } = await setup()
    const kept = context({ maxTokens: 900 })
    await Effect.runPromise(admit(kept))
    const refusedCtx = context({ maxTokens: 900 })
    assert.ok(Exit.isFailure(await Effect.runPromiseExit(admit(refusedCtx))))
    await Effect.runPromise(settle(refusedCtx, outcome(usage(0, 0))))
    const next = context({ maxTokens: 50 })
    const exit = await Effect.runPromiseExit(admit(next))
    assert.ok(Exit.isSuccess(exit))
    assert.equal(headersOf(next).remainingTokens, String(1_000 - reservationOf(kept) - reservationOf(next)))
  })

  it("a settle after the reservation left the window does not touch the new window", async () => {
    const { admit, settle } = await setup()
    const ctx = context({ maxTokens: 500 })
    await Effect.runPromise(admit(ctx))
    mock.timers.tick(61_000)
    await Effect.runPromise(settle(ctx, outcome(usage(800, 100))))
    const next = context()
    await Effect.runPromise(admit(next))
    assert.equal(headersOf(next).remainingTokens, String(1_000 - reservationOf(next)))
  })
})
