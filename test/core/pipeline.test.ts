import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { Effect, ManagedRuntime } from "effect"
import {
  BodyBudget,
  Catalog,
  combinedRegistry,
  chatCompletions,
  countTokens,
  DEFAULT_BODY_PACE,
  definePlugin,
  InsufficientBalance,
  type LogShape,
  messages,
  type Outcome,
  Pipeline,
  StoreUnreachable,
  type PluginHooks,
  type Protocol,
  RateLimited,
  type RelayError,
  type UpstreamCall
} from "../../core/index.ts"
import { limiter } from "../../plugins/limiter/index.ts"
import { providerRegistry } from "../../plugins/providers/registry/index.ts"
import { testInfo, testServices } from "../helpers/services.ts"
import { memoryAccountLimits } from "../ports/memory.ts"

interface Harness {
  readonly pipeline: Pipeline
  readonly trace: Array<string>
  readonly outcomes: Array<Outcome>
  readonly logs: Array<Record<string, unknown>>
  readonly sent: Array<UpstreamCall>
}

type Upstream = (call: UpstreamCall) => Effect.Effect<Response, RelayError>

/** Who the recording plugins say is calling: admission judges a known caller's request. */
const CALLER = { keyId: "key_1", account: { id: "acct_1", name: "test", tier: "starter", rpm: null, tpm: null } }

const recorder = (name: string, trace: Array<string>, outcomes: Array<Outcome>, fail?: RelayError, anonymous?: boolean) =>
  definePlugin(name, () =>
    Effect.succeed<PluginHooks>({
      authenticate: (ctx) =>
        Effect.sync(() => {
          trace.push(`${name}.authenticate`)
          if (!anonymous) ctx.caller = CALLER
        }),
      admit: (ctx) =>
        Effect.suspend(() => {
          trace.push(`${name}.admit`)
          ctx.responseHeaders.set(`x-${name}`, "admitted")
          return fail ? Effect.fail(fail) : Effect.void
        }),
      settle: (_ctx, outcome) =>
        Effect.sync(() => {
          trace.push(`${name}.settle`)
          outcomes.push(outcome)
        })
    }))

/** A pipeline of two recording plugins and a fake provider, on an in-memory store. */
const harness = async (
  upstream: Upstream,
  options: { failAdmitB?: RelayError; extra?: PluginHooks; protocols?: ReadonlyArray<Protocol>; anonymous?: boolean } = {}
): Promise<Harness> => {
  const trace: Array<string> = []
  const outcomes: Array<Outcome> = []
  const logs: Array<Record<string, unknown>> = []
  const sent: Array<UpstreamCall> = []
  const push = (fields: Record<string, unknown>, msg?: string) => void logs.push({ ...fields, msg })
  const log: LogShape = { debug: push, info: push, warn: push, error: push, request: (fields) => push(fields, "request") }
  const runtime = ManagedRuntime.make(await testServices({ log }))
  const info = testInfo({ tiers: {} })
  const provider = definePlugin("fake", () =>
    Effect.succeed<PluginHooks>({
      providers: providerRegistry([{
        name: "fake",
        patterns: ["fake-*"],
        protocols: options.protocols ?? ["openai"],
        send: (call) => {
          trace.push("send")
          sent.push(call)
          return upstream(call)
        }
      }])
    }))
  const hooks: Array<PluginHooks> = []
  for (const plugin of [recorder("a", trace, outcomes, undefined, options.anonymous), recorder("b", trace, outcomes, options.failAdmitB, options.anonymous), provider]) {
    hooks.push(await runtime.runPromise(plugin.setup(info)))
  }
  if (options.extra) hooks.push(options.extra)
  const catalog = new Catalog([{ id: "alias-1", provider: "fake", upstream: "fake-large" }], [{ name: "fake", patterns: ["fake-*"] }])
  return { pipeline: new Pipeline({
    runtime,
    plugins: hooks,
    catalog,
    providers: await Effect.runPromise(combinedRegistry(hooks.flatMap((h) => (h.providers ? [h.providers] : [])))),
    log,
    maxBodyBytes: 10_000,
    maxUploadBytes: 20_000,
    bodyPace: DEFAULT_BODY_PACE,
    bodyBudget: new BodyBudget(100_000)
  }), trace, outcomes, logs, sent }
}

/** A body the provider was handed, as text: the client's bytes (edited or not) or a rebuilt body. */
const textOf = (body: unknown) => (typeof body === "string" ? body : new TextDecoder().decode(body as Uint8Array))

const request = (body: unknown, signal?: AbortSignal) =>
  new Request("http://relay.test/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...(signal ? { signal } : {})
  })

const completion = {
  id: "chatcmpl-1",
  object: "chat.completion",
  choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9, prompt_tokens_details: { cached_tokens: 5 } }
}

const sse = (events: ReadonlyArray<string>, delayMs = 0) => {
  let i = 0
  return new Response(
    new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs))
        const event = events[i++]
        if (event === undefined) controller.close()
        else controller.enqueue(new TextEncoder().encode(event))
      }
    }),
    { headers: { "content-type": "text/event-stream" } }
  )
}

const settled = async (h: Harness, count: number) => {
  for (let i = 0; i < 100 && h.outcomes.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 5))
  // Give a wrongly repeated settle the chance to show up.
  await new Promise((resolve) => setTimeout(resolve, 20))
}

const chat = { model: "fake-small", messages: [{ role: "user", content: "hello" }] }

describe("Pipeline", () => {
  it("runs authenticate, admit in config order, dispatches, then settles each plugin once in reverse order", async () => {
    const h = await harness(() => Effect.succeed(Response.json(completion)))
    const response = await h.pipeline.handle(request(chat), chatCompletions, false, "req_1")
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), completion)
    assert.equal(response.headers.get("x-request-id"), "req_1")
    assert.equal(response.headers.get("x-a"), "admitted", "plugin response headers are applied")
    await settled(h, 2)
    assert.deepEqual(h.trace, ["a.authenticate", "b.authenticate", "a.admit", "b.admit", "send", "b.settle", "a.settle"])
    assert.equal(h.outcomes.length, 2)
    assert.equal(h.outcomes[0]!.status, 200)
    assert.deepEqual(
      { prompt: h.outcomes[0]!.usage?.promptTokens, cached: h.outcomes[0]!.usage?.cachedTokens, source: h.outcomes[0]!.usage?.source },
      { prompt: 7, cached: 5, source: "upstream" }
    )
    assert.equal(h.pipeline.pending, 0)
  })

  it("forwards the client's bytes untouched when nothing needs changing, and a rewritten body otherwise", async () => {
    const h = await harness(() => Effect.succeed(Response.json(completion)))
    const raw = `{"model":"fake-small",  "messages":[{"role":"user","content":"hello"}], "seed": 42}`
    await h.pipeline.handle(request(raw), chatCompletions, false, "req_raw")
    assert.equal(textOf(h.sent[0]!.body), raw)
    await h.pipeline.handle(request({ ...chat, model: "alias-1" }), chatCompletions, false, "req_alias")
    assert.equal(JSON.parse(textOf(h.sent[1]!.body)).model, "fake-large")
  })

  it("settles every plugin once with the error when a plugin refuses, without dispatching", async () => {
    const h = await harness(() => Effect.succeed(Response.json(completion)), {
      failAdmitB: new InsufficientBalance({ message: "balance too low" })
    })
    const response = await h.pipeline.handle(request(chat), chatCompletions, false, "req_2")
    assert.equal(response.status, 402)
    assert.deepEqual(await response.json(), {
      error: { message: "balance too low", type: "insufficient_quota", param: null, code: "insufficient_balance" }
    })
    await settled(h, 2)
    assert.ok(!h.trace.includes("send"))
    assert.deepEqual(h.trace.slice(-2), ["b.settle", "a.settle"])
    assert.equal(h.outcomes.length, 2)
    assert.equal(h.outcomes[0]!.error?._tag, "InsufficientBalance")
  })

  // Admission judges a known caller's request: on a relay without an authenticating plugin a
  // limiter counts nothing and says nothing.
  it("sets no headers and admits when nobody is authenticated", async () => {
    // Its overrides in memory: the limiter then needs none of the runtime's services.
    const limiting = await Effect.runPromise(limiter({ overrides: memoryAccountLimits }).setup(testInfo({ tiers: { starter: { rpm: 3, tpm: 1_000 } } })) as Effect.Effect<PluginHooks>)
    const h = await harness(() => Effect.succeed(Response.json(completion)), { anonymous: true, extra: limiting })
    for (let i = 0; i < 10; i++) {
      const response = await h.pipeline.handle(request(chat), chatCompletions, false, `req_anonymous_${i}`)
      assert.ok(response.ok)
      assert.equal(response.headers.get("x-ratelimit-limit"), null)
    }
  })

  it("authenticates before decoding, and settles a decode failure exactly once", async () => {
    const h = await harness(() => Effect.succeed(Response.json(completion)))
    const response = await h.pipeline.handle(request("{oops"), chatCompletions, false, "req_3")
    assert.equal(response.status, 400)
    await settled(h, 2)
    // The plugins saw who called: a malformed request is recorded against its caller.
    assert.deepEqual(h.trace, ["a.authenticate", "b.authenticate", "b.settle", "a.settle"])
  })

  it("answers 404 model_not_found for a model no provider serves", async () => {
    const h = await harness(() => Effect.succeed(Response.json(completion)))
    const response = await h.pipeline.handle(request({ ...chat, model: "other-1" }), chatCompletions, false, "req_4")
    assert.equal(response.status, 404)
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, "model_not_found")
  })

  it("settles a stream only when it ends, with the usage read from it", async () => {
    const events = [
      `data: {"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}\n\n`,
      `data: {"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}\n\n`,
      "data: [DONE]\n\n"
    ]
    const h = await harness(() => Effect.succeed(sse(events)))
    const response = await h.pipeline.handle(request({ ...chat, stream: true }), chatCompletions, false, "req_5")
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8")
    assert.equal(h.outcomes.length, 0, "not settled before the stream is read")
    assert.equal(h.pipeline.pending, 1)
    // An open stream may last minutes: the request's bytes, sent, are let go; its decoded body stays.
    assert.equal(h.sent[0]!.ctx.rawBody.length, 0)
    assert.ok(Array.isArray(h.sent[0]!.ctx.body.messages))
    const text = await response.text()
    assert.ok(!text.includes(`"choices":[]`), "the usage chunk the relay asked for is hidden")
    assert.ok(text.endsWith("data: [DONE]\n\n"))
    await settled(h, 2)
    assert.equal(h.outcomes.length, 2)
    assert.equal(h.outcomes[0]!.usage?.promptTokens, 3)
    assert.equal(h.outcomes[0]!.aborted, false)
    assert.ok(h.outcomes[0]!.ttfbMs! > 0)
    assert.equal(h.pipeline.pending, 0)
    assert.deepEqual(JSON.parse(textOf(h.sent[0]!.body)).stream_options, { include_usage: true })
  })

  it("settles a stream the client cancels as aborted, once", async () => {
    const events = Array.from({ length: 50 }, (_, i) => `data: {"id":"c","choices":[{"index":0,"delta":{"content":"${i}"}}]}\n\n`)
    const h = await harness(() => Effect.succeed(sse(events, 2)))
    const response = await h.pipeline.handle(request({ ...chat, stream: true }), chatCompletions, false, "req_6")
    const reader = response.body!.getReader()
    await reader.read()
    await reader.read()
    await reader.cancel()
    await settled(h, 2)
    assert.equal(h.outcomes.length, 2)
    assert.equal(h.outcomes[0]!.aborted, true)
    assert.equal(h.outcomes[0]!.usage?.source, "estimated")
  })

  it("interrupts the upstream call when the client goes away before the response, and settles once", async () => {
    let upstreamSignal: AbortSignal | undefined
    const h = await harness(() =>
      Effect.tryPromise({
        try: (signal) => {
          upstreamSignal = signal
          return new Promise<Response>(() => undefined)
        },
        catch: () => new InsufficientBalance({ message: "unreachable" })
      })
    )
    const client = new AbortController()
    const pending = h.pipeline.handle(request(chat, client.signal), chatCompletions, false, "req_7")
    await new Promise((resolve) => setTimeout(resolve, 20))
    client.abort()
    const response = await pending
    assert.equal(response.status, 499)
    assert.equal(upstreamSignal?.aborted, true, "the upstream call was aborted")
    await settled(h, 2)
    assert.equal(h.outcomes.length, 2)
    assert.equal(h.outcomes[0]!.aborted, true)
  })

  it("turns a plugin defect into a 500 without a stack, and still settles", async () => {
    const h = await harness(() => Effect.succeed(Response.json(completion)), {
      extra: {
        admit: () =>
          Effect.sync(() => {
            throw new TypeError("boom at /secret/path/file.ts")
          })
      }
    })
    const response = await h.pipeline.handle(request(chat), chatCompletions, false, "req_8")
    assert.equal(response.status, 500)
    const body = (await response.json()) as { error: { message: string; code: string } }
    assert.equal(body.error.code, "internal_error")
    assert.ok(!body.error.message.includes("boom"))
    await settled(h, 2)
    assert.equal(h.outcomes.length, 2)
    const logged = h.logs.find((l) => l.msg === "unexpected failure")
    assert.ok(logged)
    assert.ok(!String(logged.error).includes("\n"), "one line, no stack trace")
  })

  it("answers 503 store_unavailable with Retry-After when a plugin's store cannot be reached, and still settles", async () => {
    const h = await harness(() => Effect.succeed(Response.json(completion)), {
      extra: { admit: () => Effect.die(new StoreUnreachable("ECONNREFUSED")) }
    })
    const response = await h.pipeline.handle(request(chat), chatCompletions, false, "req_store")
    assert.equal(response.status, 503)
    assert.equal(response.headers.get("retry-after"), "5")
    const body = (await response.json()) as { error: { code: string } }
    assert.equal(body.error.code, "store_unavailable")
    await settled(h, 2)
    assert.equal(h.logs.find((l) => l.msg === "unexpected failure"), undefined, "the store's refusal is not a bug")
  })

  it("tells observers when a stream opens and, after every settle hook, that the request settled", async () => {
    const events = [`data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n`, "data: [DONE]\n\n"]
    const observed: Array<{ event: string; charged?: bigint | undefined }> = []
    const h = await harness(() => Effect.succeed(sse(events, 5)), {
      extra: {
        // Stands in for billing: what a settle hook records, observers must see.
        settle: (ctx) => Effect.sync(() => void (ctx.charged = 42n)),
        observe: {
          streamOpened: () => void observed.push({ event: "opened" }),
          settled: (ctx, outcome) => {
            h.trace.push("observed")
            observed.push({ event: `settled ${outcome.status}`, charged: ctx.charged })
          }
        }
      }
    })
    const response = await h.pipeline.handle(request({ ...chat, stream: true }), chatCompletions, false, "req_obs")
    assert.deepEqual(observed, [{ event: "opened" }], "opened once the stream's response is handed out")
    await response.text()
    await settled(h, 2)
    assert.deepEqual(observed, [{ event: "opened" }, { event: "settled 200", charged: 42n }])
    assert.deepEqual(h.trace.slice(-3), ["b.settle", "a.settle", "observed"])

    const plain = await harness(() => Effect.succeed(Response.json(completion)), {
      extra: { observe: { streamOpened: () => assert.fail("not a stream"), settled: () => void observed.push({ event: "plain" }) } }
    })
    assert.equal((await plain.pipeline.handle(request(chat), chatCompletions, false, "req_obs2")).status, 200)
    await settled(plain, 2)
    assert.equal(observed.at(-1)?.event, "plain")
  })

  it("logs an observer that throws, and still answers and settles", async () => {
    const h = await harness(() => Effect.succeed(Response.json(completion)), {
      extra: { observe: { settled: () => { throw new Error("observer broke") } } }
    })
    const response = await h.pipeline.handle(request(chat), chatCompletions, false, "req_obs3")
    assert.equal(response.status, 200)
    await settled(h, 2)
    assert.equal(h.pipeline.pending, 0)
    assert.ok(h.logs.some((l) => l.msg === "unexpected failure" && String(l.error).includes("observer broke")))
    assert.ok(h.logs.some((l) => l.msg === "request" && l.request_id === "req_obs3"), "the request is still logged")
  })

  it("drain resolves once every request has settled", async () => {
    const events = Array.from({ length: 5 }, () => `data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n`)
    const h = await harness(() => Effect.succeed(sse(events, 10)))
    const response = await h.pipeline.handle(request({ ...chat, stream: true }), chatCompletions, false, "req_9")
    assert.equal(await h.pipeline.drain(5), false, "an open stream keeps the drain waiting")
    const drained = h.pipeline.drain(5_000)
    await response.text()
    assert.equal(await drained, true)
  })
})

describe("Pipeline: which leg serves a request", () => {
  const claudeMessage = {
    id: "msg_1",
    type: "message",
    role: "assistant",
    content: [{ type: "text", text: "hi" }],
    stop_reason: "end_turn",
    usage: { input_tokens: 3, cache_read_input_tokens: 4, output_tokens: 2 }
  }
  const anthropicBody = { model: "fake-small", max_tokens: 10, messages: [{ role: "user", content: "hello" }] }

  it("serves each surface in its own protocol when the provider speaks both (passthrough)", async () => {
    const h = await harness((call) => Effect.succeed(call.protocol === "anthropic" ? Response.json(claudeMessage) : Response.json(completion)), {
      protocols: ["openai", "anthropic"]
    })
    const viaMessages = await h.pipeline.handle(request(anthropicBody), messages, false, "req_m")
    assert.deepEqual(await viaMessages.json(), claudeMessage)
    const viaChat = await h.pipeline.handle(request(chat), chatCompletions, false, "req_c")
    assert.deepEqual(await viaChat.json(), completion)
    assert.deepEqual(h.sent.map((call) => [call.protocol, call.path]), [["anthropic", "/v1/messages"], ["openai", "/chat/completions"]])
    await settled(h, 4)
    assert.equal(h.outcomes[0]!.usage?.promptTokens, 7, "Anthropic usage: input plus cache reads")
  })

  it("translates when the provider does not speak the caller's protocol", async () => {
    const h = await harness(() => Effect.succeed(Response.json(completion)))
    const response = await h.pipeline.handle(request({ ...anthropicBody, model: "alias-1" }), messages, false, "req_t")
    assert.equal(response.status, 200)
    const body = (await response.json()) as { type: string; model: string; content: unknown }
    assert.deepEqual({ type: body.type, model: body.model, content: body.content }, { type: "message", model: "alias-1", content: [{ type: "text", text: "hi" }] })
    assert.equal(h.sent[0]!.path, "/chat/completions")
    assert.equal(JSON.parse(textOf(h.sent[0]!.body)).model, "fake-large")
  })

  it("answers a token count from the relay's estimate, without the upstream, when no leg fits", async () => {
    const h = await harness(() => Effect.succeed(Response.json(completion)))
    const response = await h.pipeline.handle(request({ model: "fake-small", messages: [{ role: "user", content: "12345678" }] }), countTokens, false, "req_ct")
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), { input_tokens: 2 })
    assert.equal(h.sent.length, 0, "nothing sent upstream")
    await settled(h, 2)
    assert.equal(h.outcomes.length, 2)
    assert.equal(h.outcomes[0]!.usage, undefined, "a count is not charged")
  })

  it("refuses, in the caller's shape and before sending, what a leg cannot translate", async () => {
    const h = await harness(() => Effect.succeed(Response.json(claudeMessage)), { protocols: ["anthropic"] })
    const response = await h.pipeline.handle(request({ ...chat, n: 2 }), chatCompletions, false, "req_n")
    assert.equal(response.status, 400)
    const body = (await response.json()) as { error: { param: string } }
    assert.equal(body.error.param, "n")
    assert.equal(h.sent.length, 0)
    await settled(h, 2)
    assert.equal(h.outcomes[0]!.status, 400)
  })

  it("renders a refusal on /messages in Anthropic's shape, with its headers", async () => {
    const h = await harness(() => Effect.succeed(Response.json(claudeMessage)), {
      failAdmitB: new RateLimited({ message: "rpm spent", retryAfterSeconds: 12 })
    })
    const response = await h.pipeline.handle(request(anthropicBody), messages, false, "req_429")
    assert.equal(response.status, 429)
    assert.equal(response.headers.get("retry-after"), "12")
    assert.equal(response.headers.get("request-id"), "req_429", "under Anthropic's own header name too")
    assert.deepEqual(await response.json(), {
      type: "error",
      error: { type: "rate_limit_error", message: "rpm spent (rate_limit_exceeded)" },
      request_id: "req_429"
    })
  })
})
