import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { Cause, Effect, Exit, Result } from "effect"
import { RequestContext } from "../../core/context.ts"
import { KeyPool } from "../../core/key-pool.ts"
import { sendProviderCall } from "../../core/provider-call.ts"
import type { LogShape, UpstreamHttpShape } from "../../core/services.ts"

const log: LogShape = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, request: () => undefined }

/** An upstream answering each key with a fixed status; records the keys it was called with. */
const upstream = (statuses: Record<string, number>) => {
  const keys: Array<string> = []
  const http: UpstreamHttpShape = {
    send: (url) => {
      const key = new URL(url).searchParams.get("key")!
      keys.push(key)
      const response = new Response(JSON.stringify({ error: { message: `no for ${key}` } }), { status: statuses[key] ?? 599 })
      return { response: Promise.resolve(response), abort: () => undefined }
    }
  }
  return { http, keys }
}

const call = (byok: boolean, credential?: string) => {
  const ctx = new RequestContext("req_1", "anthropic", "/messages", new Request("http://x/"), byok)
  ctx.credential = credential
  return { ctx, protocol: "anthropic" as const, path: "/v1/messages", body: "{}", contentType: "application/json" }
}

const options = (shared: ReadonlyArray<string>) => ({
  provider: "anthropic",
  shared: new KeyPool(shared),
  timeoutMs: 1_000,
  request: (secret: string) => ({ url: `https://upstream.test/v1/messages?key=${secret}`, init: { method: "POST" } })
})

const failure = (exit: Exit.Exit<Response, unknown>) => {
  assert.ok(Exit.isFailure(exit))
  const found = Cause.findError(exit.cause)
  assert.ok(Result.isSuccess(found))
  return found.success as { _tag: string; status: number; message: string }
}

describe("sendProviderCall", () => {
  it("uses the shared pool, failing over between its keys", async () => {
    const { http, keys } = upstream({ s1: 401, s2: 200 })
    const response = await Effect.runPromise(sendProviderCall(http, log, call(false), options(["s1", "s2"])))
    assert.equal(response.status, 200)
    assert.deepEqual(keys, ["s1", "s2"])
  })

  it("on /byok/v1 without a stored credential refuses with 403 and calls nothing", async () => {
    const { http, keys } = upstream({ s1: 200 })
    const error = failure(await Effect.runPromiseExit(sendProviderCall(http, log, call(true), options(["s1"]))))
    assert.equal(error._tag, "ByokCredentialMissing")
    assert.equal(error.status, 403)
    assert.deepEqual(keys, [])
  })

  it("on /byok/v1 uses the caller's credential only, and tells the caller when it is refused", async () => {
    const { http, keys } = upstream({ mine: 401, s1: 200 })
    const error = failure(await Effect.runPromiseExit(sendProviderCall(http, log, call(true, "mine"), options(["s1"]))))
    assert.equal(error._tag, "UpstreamRejected")
    assert.equal(error.status, 401)
    assert.ok(!error.message.includes("mine"), "the caller's key is redacted from the message")
    assert.deepEqual(keys, ["mine"], "the shared pool is never touched")
  })
})
