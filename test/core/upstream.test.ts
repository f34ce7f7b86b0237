import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { Cause, Effect, Exit, Fiber, Result } from "effect"
import type { RelayError } from "../../core/errors.ts"
import { KeyPool } from "../../core/key-pool.ts"
import type { LogShape, UpstreamHttpShape } from "../../core/services.ts"
import { sendUpstream, type UpstreamTarget } from "../../core/upstream.ts"

type Script = (init: RequestInit) => Promise<Response>

const FIXED_NOW = 1_700_000_000_000

/** A fake upstream: each key answers from its own list of scripted replies, in order. */
const fakeHttp = (scripts: Record<string, ReadonlyArray<Script>>) => {
  const calls: Array<{ secret: string; init: RequestInit; fresh: boolean }> = []
  const http: UpstreamHttpShape = {
    send(url, init, fresh) {
      const secret = new URL(url).searchParams.get("key")!
      const index = calls.filter((call) => call.secret === secret).length
      // The script sees the abort switch as a fetch would: as its signal.
      const controller = new AbortController()
      const sent = { ...init, signal: controller.signal }
      calls.push({ secret, init: sent, fresh: fresh === true })
      const script = scripts[secret]?.[index]
      const response = script === undefined ? Promise.reject(new Error(`unexpected call for ${secret}`)) : script(sent)
      return { response, abort: () => controller.abort() }
    }
  }
  return { http, calls, tried: () => calls.map((call) => call.secret) }
}

const warnings: Array<Record<string, unknown>> = []
const log: LogShape = {
  debug: () => undefined,
  info: () => undefined,
  warn: (fields) => void warnings.push(fields),
  error: () => undefined,
  request: () => undefined
}

const target = (
  secrets: ReadonlyArray<string>,
  overrides: Partial<UpstreamTarget> = {}
): UpstreamTarget & { pool: KeyPool } => ({
  provider: "openai",
  pool: new KeyPool(secrets, () => FIXED_NOW),
  owner: "shared",
  timeoutMs: 5_000,
  request: (secret) => ({
    url: `https://upstream.test/v1/chat/completions?key=${secret}`,
    init: { method: "POST", headers: { authorization: `Bearer ${secret}` }, body: "{}" }
  }),
  ...overrides
})

/** OpenAI's 403 for a model the key's project may not use: the request's fault, not the key's. */
const MODEL_FORBIDDEN = JSON.stringify({
  error: { message: "Project `proj_abc` does not have access to model `gpt-5`", type: "invalid_request_error", param: null, code: "model_not_found" }
})
/** Anthropic's 403 for a key without permission. */
const KEY_FORBIDDEN = JSON.stringify({ type: "error", error: { type: "permission_error", message: "Your API key does not have permission to use the specified resource." } })

const reply = (status: number, body = "{}", headers: Record<string, string> = {}): Script => () =>
  Promise.resolve(new Response(body, { status, headers }))

const failureOf = (exit: Exit.Exit<Response, RelayError>): RelayError => {
  assert.ok(Exit.isFailure(exit), "expected the effect to fail")
  const found = Cause.findError(exit.cause)
  assert.ok(Result.isSuccess(found), "expected a typed failure in the cause")
  return found.success
}

const successOf = (exit: Exit.Exit<Response, RelayError>): Response => {
  assert.ok(Exit.isSuccess(exit), "expected the effect to succeed")
  return exit.value
}

describe("sendUpstream", () => {
  it("returns the first 2xx, sending the key in the request", async () => {
    const { http, calls } = fakeHttp({ K1: [reply(200, "ok")] })
    const response = successOf(await Effect.runPromiseExit(sendUpstream(http, log, target(["K1"]))))
    assert.equal(response.status, 200)
    assert.equal(await response.text(), "ok")
    assert.equal(calls.length, 1)
    assert.deepEqual(calls[0]!.init.headers, { authorization: "Bearer K1" })
    assert.equal(calls[0]!.init.method, "POST")
  })

  it("moves to the next key after a 500 and returns its 200", async () => {
    const { http, tried } = fakeHttp({ K1: [reply(500)], K2: [reply(200, "second")] })
    const t = target(["K1", "K2"])
    const response = successOf(await Effect.runPromiseExit(sendUpstream(http, log, t)))
    assert.equal(await response.text(), "second")
    assert.deepEqual(tried(), ["K1", "K2"])
    // K1 now rests as failing: it is tried last on the next request.
    assert.deepEqual(t.pool.candidates().map((k) => k.secret), ["K2", "K1"])
  })

  it("fails with UpstreamUnavailable and Retry-After when every key is rate-limited", async () => {
    const { http, tried } = fakeHttp({
      K1: [reply(429, "{}", { "retry-after": "7" })],
      K2: [reply(429, "{}", { "retry-after": "30" })]
    })
    const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, target(["K1", "K2"]))))
    assert.equal(error._tag, "UpstreamUnavailable")
    assert.equal(error.status, 503)
    assert.ok(error._tag === "UpstreamUnavailable")
    assert.equal(error.retryAfterSeconds, 7)
    assert.match(error.message, /rate-limited/)
    assert.deepEqual(tried(), ["K1", "K2"])
  })

  it("defaults the retry to 20 s when the 429 carries no Retry-After", async () => {
    const { http } = fakeHttp({ K1: [reply(429)] })
    const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, target(["K1"]))))
    assert.ok(error._tag === "UpstreamUnavailable")
    assert.equal(error.retryAfterSeconds, 20)
  })

  it("refuses at once, with the retry time, when every key is still resting after a 429", async () => {
    const { http, tried } = fakeHttp({ K1: [reply(429, "{}", { "retry-after": "9" })] })
    const t = target(["K1"])
    await Effect.runPromiseExit(sendUpstream(http, log, t))
    const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, t)))
    assert.ok(error._tag === "UpstreamUnavailable")
    assert.equal(error.retryAfterSeconds, 9)
    assert.deepEqual(tried(), ["K1"], "the resting key is not called again")
  })

  it("fails with UpstreamFailed when every key answers 5xx", async () => {
    const { http, tried } = fakeHttp({ K1: [reply(500)], K2: [reply(502)], K3: [reply(500)] })
    const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, target(["K1", "K2", "K3"]))))
    assert.equal(error._tag, "UpstreamFailed")
    assert.equal(error.status, 502)
    assert.deepEqual(tried(), ["K1", "K2", "K3"])
  })

  it("reports an overloaded upstream (503/529) as UpstreamUnavailable saying so", async () => {
    const { http } = fakeHttp({ K1: [reply(529)], K2: [reply(503)] })
    const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, target(["K1", "K2"]))))
    assert.ok(error._tag === "UpstreamUnavailable")
    assert.equal(error.message, "openai is overloaded")
    assert.equal(error.retryAfterSeconds, 5, "the keys' rest after a failure")
  })

  it("reports a mix of overloaded and failing keys as UpstreamFailed, not overloaded", async () => {
    const { http } = fakeHttp({ K1: [reply(529)], K2: [reply(500)] })
    const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, target(["K1", "K2"]))))
    assert.equal(error._tag, "UpstreamFailed")
    assert.equal(error.status, 502)
  })

  it("turns a 400 into UpstreamRejected with its code, type and param, and the key redacted from the message", async () => {
    const secret = "sk-proj-SECRETvalue1234567890"
    const body = JSON.stringify({
      error: {
        message: `Invalid request for key ${secret}: 'messages' is too long`,
        type: "invalid_request_error",
        param: "messages",
        code: "context_length_exceeded"
      }
    })
    const { http, tried } = fakeHttp({ [secret]: [reply(400, body)], other: [reply(200)] })
    const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, target([secret, "other"]))))
    assert.ok(error._tag === "UpstreamRejected")
    assert.equal(error.status, 400)
    assert.equal(error.upstreamStatus, 400)
    assert.equal(error.upstreamCode, "context_length_exceeded")
    assert.equal(error.upstreamType, "invalid_request_error")
    assert.equal(error.param, "messages")
    assert.ok(!error.message.includes(secret), error.message)
    assert.ok(!error.message.includes("SECRETvalue"), error.message)
    assert.match(error.message, /\[redacted\]/)
    assert.match(error.message, /'messages' is too long/)
    assert.deepEqual(tried(), [secret], "a request error is not retried with another key")
  })

  it("keeps the upstream's code, type and param only when each is a plain token and no secret", async () => {
    const rejected = async (fields: Record<string, unknown>) => {
      const { http } = fakeHttp({ plainsecret123: [reply(400, JSON.stringify({ error: { message: "no", ...fields } }))] })
      const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, target(["plainsecret123"]))))
      assert.ok(error._tag === "UpstreamRejected")
      return [error.upstreamCode, error.upstreamType, error.param]
    }
    assert.deepEqual(await rejected({ code: "invalid_value", type: "invalid_request_error", param: "messages[0].content" }), [
      "invalid_value",
      "invalid_request_error",
      "messages[0].content"
    ])
    assert.deepEqual(await rejected({ code: "bad key plainsecret123", type: "a\r\nb", param: "x".repeat(65) }), [undefined, undefined, undefined])
    assert.deepEqual(await rejected({ code: "plainsecret123", type: "sk-proj-abcdef123456", param: 7 }), [undefined, undefined, undefined])
  })

  it("redacts a non-key-shaped pool secret echoed in an error", async () => {
    const body = JSON.stringify({ error: { message: "bad key plainsecret123 here" } })
    const { http } = fakeHttp({ plainsecret123: [reply(404, body)] })
    const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, target(["plainsecret123"]))))
    assert.ok(error._tag === "UpstreamRejected")
    assert.equal(error.message, "bad key [redacted] here")
  })

  it("uses the status as the message when the error body is not JSON", async () => {
    const { http } = fakeHttp({ K1: [reply(422, "<html>nope</html>")] })
    const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, target(["K1"]))))
    assert.ok(error._tag === "UpstreamRejected")
    assert.equal(error.upstreamStatus, 422)
    assert.equal(error.message, "upstream answered 422")
    assert.equal(error.upstreamType, undefined)
  })

  it("moves on after a shared key's 401", async () => {
    const { http, tried } = fakeHttp({ K1: [reply(401)], K2: [reply(200, "fine")] })
    const t = target(["K1", "K2"])
    const response = successOf(await Effect.runPromiseExit(sendUpstream(http, log, t)))
    assert.equal(await response.text(), "fine")
    assert.deepEqual(tried(), ["K1", "K2"])
    // The rejected key rests and is not even tried last.
    assert.deepEqual(t.pool.candidates().map((k) => k.secret), ["K2"])
  })

  it("moves on after a shared key's 403 that names the key", async () => {
    const { http, tried } = fakeHttp({ K1: [reply(403, KEY_FORBIDDEN)], K2: [reply(200)] })
    successOf(await Effect.runPromiseExit(sendUpstream(http, log, target(["K1", "K2"]))))
    assert.deepEqual(tried(), ["K1", "K2"])
  })

  it("passes on a 403 about the request without resting the key, until three in a row with nothing served between", async () => {
    const { http, tried } = fakeHttp({ K1: [reply(403, MODEL_FORBIDDEN), reply(200), reply(403, MODEL_FORBIDDEN), reply(403, MODEL_FORBIDDEN), reply(403, MODEL_FORBIDDEN)] })
    const failures: NonNullable<UpstreamTarget["failures"]> = []
    const t = target(["K1"], { failures })
    const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, t)))
    assert.ok(error._tag === "UpstreamRejected")
    assert.equal(error.status, 403)
    assert.equal(error.upstreamCode, "model_not_found")
    assert.match(error.message, /does not have access to model/)
    assert.doesNotMatch(error.message, /stored credential/)
    successOf(await Effect.runPromiseExit(sendUpstream(http, log, t)))
    for (let n = 0; n < 3; n++) assert.equal(failureOf(await Effect.runPromiseExit(sendUpstream(http, log, t)))._tag, "UpstreamRejected")
    assert.deepEqual(tried(), ["K1", "K1", "K1", "K1", "K1"], "one call each, no failover for the request's own refusal")
    assert.deepEqual(failures.map((f) => f.reason), ["rejected"], "the third refusal in a row rests the key")
    assert.equal(failureOf(await Effect.runPromiseExit(sendUpstream(http, log, t)))._tag, "UpstreamUnavailable")
  })

  it("answers 503 with Retry-After, saying the keys were rejected, when every shared key is rejected, and again while they rest", async () => {
    const { http, tried } = fakeHttp({ K1: [reply(401)], K2: [reply(403, KEY_FORBIDDEN)] })
    const t = target(["K1", "K2"])
    for (const round of ["first", "second"]) {
      const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, t)))
      assert.ok(error._tag === "UpstreamUnavailable", `${round}: ${error._tag}`)
      assert.equal(error.status, 503)
      assert.equal(error.retryAfterSeconds, 60, round)
      assert.match(error.message, /rejected every key/, round)
      assert.doesNotMatch(error.message, /rate-limited/, round)
    }
    assert.deepEqual(tried(), ["K1", "K2"], "the rejected keys are not called again while they rest")
  })

  it("names both causes, and the soonest key's return, when the keys are rate-limited or rejected", async () => {
    const { http } = fakeHttp({ K1: [reply(429, "{}", { "retry-after": "12" })], K2: [reply(401)] })
    const t = target(["K1", "K2"])
    for (const round of ["first", "second"]) {
      const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, t)))
      assert.ok(error._tag === "UpstreamUnavailable", `${round}: ${error._tag}`)
      assert.equal(error.retryAfterSeconds, 12, round)
      assert.match(error.message, /rate-limited upstream or was rejected/, round)
    }
  })

  it("fails with UpstreamFailed when the keys are rejected or fail with 5xx", async () => {
    const { http } = fakeHttp({ K1: [reply(401)], K2: [reply(500)] })
    const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, target(["K1", "K2"]))))
    assert.equal(error._tag, "UpstreamFailed")
  })

  it("turns a caller key's 401 into UpstreamRejected 401", async () => {
    const body = JSON.stringify({ error: { message: "Incorrect API key provided: sk-ca***********ey.", type: "invalid_request_error" } })
    const { http, tried } = fakeHttp({ "sk-caller-key": [reply(401, body)] })
    const error = failureOf(
      await Effect.runPromiseExit(sendUpstream(http, log, target(["sk-caller-key"], { owner: "caller" })))
    )
    assert.ok(error._tag === "UpstreamRejected")
    assert.equal(error.status, 401)
    assert.equal(error.message, "openai rejected your stored credential: Incorrect API key provided: [redacted].")
    assert.deepEqual(tried(), ["sk-caller-key"])
  })

  it("retries a connection error once with the same key on a fresh connection, and fails over after a second", async () => {
    const broken: Script = () => Promise.reject(new TypeError("fetch failed"))
    const { http, calls, tried } = fakeHttp({ K1: [broken, broken], K2: [reply(200, "after reconnect")] })
    const t = target(["K1", "K2"])
    const response = successOf(await Effect.runPromiseExit(sendUpstream(http, log, t)))
    assert.equal(await response.text(), "after reconnect")
    assert.deepEqual(tried(), ["K1", "K1", "K2"])
    assert.deepEqual(calls.map((call) => call.fresh), [false, true, false])
    assert.deepEqual(t.pool.candidates().map((k) => k.secret), ["K2", "K1"])
  })

  it("does not count a kept-alive connection the upstream had closed against the key", async () => {
    const stale: Script = () => Promise.reject(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))
    const { http, calls } = fakeHttp({ K1: [stale, reply(200, "fresh")] })
    const failures: NonNullable<UpstreamTarget["failures"]> = []
    const t = target(["K1"], { failures })
    assert.equal(await successOf(await Effect.runPromiseExit(sendUpstream(http, log, t))).text(), "fresh")
    assert.deepEqual(calls.map((call) => call.fresh), [false, true])
    assert.deepEqual(failures, [])
  })

  it("reports the relay's own shortage (EMFILE) as RelayBusy, resting no key and trying no other", async () => {
    const exhausted: Script = () => Promise.reject(Object.assign(new Error("connect EMFILE"), { code: "EMFILE" }))
    const { http, tried } = fakeHttp({ K1: [exhausted], K2: [reply(200)] })
    const failures: NonNullable<UpstreamTarget["failures"]> = []
    const t = target(["K1", "K2"], { failures })
    const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, t)))
    assert.ok(error._tag === "RelayBusy")
    assert.equal(error.status, 503)
    assert.equal(error.retryAfterSeconds, 1)
    assert.doesNotMatch(error.message, /key/)
    assert.deepEqual(tried(), ["K1"])
    assert.deepEqual(failures, [])
    assert.deepEqual(t.pool.candidates().map((k) => k.secret).sort(), ["K1", "K2"], "no key rests")
  })

  it("records each failed key by slot and reason where the target asks, never a request error", async () => {
    const { http } = fakeHttp({
      K1: [reply(429)],
      K2: [() => Promise.reject(new TypeError("fetch failed")), () => Promise.reject(new TypeError("fetch failed"))],
      K3: [reply(503)],
      K4: [reply(401)],
      K5: [reply(400)]
    })
    const failures: NonNullable<UpstreamTarget["failures"]> = []
    failureOf(await Effect.runPromiseExit(sendUpstream(http, log, target(["K1", "K2", "K3", "K4", "K5"], { failures }))))
    assert.deepEqual(failures.map((f) => [f.provider, f.owner, f.slot, f.reason]), [
      ["openai", "shared", 0, "rate_limited"],
      ["openai", "shared", 1, "connection"],
      ["openai", "shared", 2, "server_error"],
      ["openai", "shared", 3, "rejected"]
    ])
  })

  it("fails with UpstreamFailed when every key has a connection error", async () => {
    const broken: Script = () => Promise.reject(new TypeError("fetch failed"))
    const { http } = fakeHttp({ K1: [broken], K2: [broken] })
    const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, target(["K1", "K2"]))))
    assert.equal(error._tag, "UpstreamFailed")
  })

  it("fails with UpstreamTimeout when the upstream does not answer in time", async () => {
    const hang: Script = (init) =>
      new Promise<Response>((_, reject) => {
        init.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")))
      })
    const { http, tried } = fakeHttp({ K1: [hang], K2: [reply(200)] })
    const started = Date.now()
    const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, target(["K1", "K2"], { timeoutMs: 50 }))))
    const elapsed = Date.now() - started
    assert.equal(error._tag, "UpstreamTimeout")
    assert.equal(error.status, 504)
    assert.ok(elapsed >= 40 && elapsed < 2_000, `took ${elapsed} ms`)
    assert.deepEqual(tried(), ["K1"])
  })

  it("fails with UpstreamUnavailable when the pool is empty", async () => {
    const { http, tried } = fakeHttp({})
    const error = failureOf(await Effect.runPromiseExit(sendUpstream(http, log, target([]))))
    assert.ok(error._tag === "UpstreamUnavailable")
    assert.match(error.message, /no upstream credential/)
    assert.equal(error.retryAfterSeconds, undefined)
    assert.deepEqual(tried(), [])
  })

  it("never logs a secret", async () => {
    warnings.length = 0
    const { http } = fakeHttp({ "sk-secret-A1": [reply(500)], "sk-secret-B2": [() => Promise.reject(new Error("x")), () => Promise.reject(new Error("x"))] })
    await Effect.runPromiseExit(sendUpstream(http, log, target(["sk-secret-A1", "sk-secret-B2"])))
    assert.equal(warnings.length, 2)
    assert.ok(!JSON.stringify(warnings).includes("sk-secret"))
  })

  it("aborts the request in flight when the effect is interrupted", async () => {
    let signal: AbortSignal | undefined
    let called!: () => void
    const fetchCalled = new Promise<void>((resolve) => (called = resolve))
    const hang: Script = (init) =>
      new Promise<Response>((_, reject) => {
        signal = init.signal ?? undefined
        called()
        signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")))
      })
    const { http } = fakeHttp({ K1: [hang] })
    const fiber = Effect.runFork(sendUpstream(http, log, target(["K1"])))
    await fetchCalled
    await Effect.runPromise(Fiber.interrupt(fiber))
    assert.equal(signal?.aborted, true)
  })

  it("aborts the request when interrupted while reading a 4xx error body", async () => {
    let signal: AbortSignal | undefined
    let bodyCancelled = false
    let bodyPulled!: () => void
    const pulled = new Promise<void>((resolve) => (bodyPulled = resolve))
    const stalledBody: Script = (init) => {
      signal = init.signal ?? undefined
      const body = new ReadableStream<Uint8Array>({
        pull: () => {
          bodyPulled()
          return new Promise<void>(() => undefined) // the error body never finishes
        },
        cancel: () => {
          bodyCancelled = true
        }
      })
      return Promise.resolve(new Response(body, { status: 400 }))
    }
    const { http } = fakeHttp({ K1: [stalledBody] })
    const fiber = Effect.runFork(sendUpstream(http, log, target(["K1"], { timeoutMs: 50 })))
    await pulled
    await Effect.runPromise(Fiber.interrupt(fiber))
    assert.ok(signal?.aborted === true || bodyCancelled, "the upstream request is aborted or its body cancelled")
  })
})
