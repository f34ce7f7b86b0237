import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { request as httpRequest } from "node:http"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import OpenAI, { toFile } from "openai"
import { parseUsd } from "../../core/index.ts"
import { type AccountView, createAccount } from "../helpers/accounts.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { IMAGE_CACHED_TOKENS, IMAGE_INPUT_TOKENS, IMAGE_OUTPUT_TOKENS } from "../helpers/mock-openai-media.ts"
import { eventually, ROOT, type RelayProcess, startRelay } from "../helpers/relay.ts"

const SHIPPED_CONFIG = join(ROOT, "relay.config.ts")

/** A USD decimal string in nano-USD, exactly. */
const nanoOf = (usd: string) => parseUsd(usd)!

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

describe("embeddings and images through the shipped config", () => {
  const mock = new MockOpenAI({ "sk-media": "ok" })
  let relay: RelayProcess
  let client: OpenAI
  let key: string

  const balance = async () => {
    const me = (await (await fetch(`${relay.baseURL}/account`, { headers: { authorization: `Bearer ${key}` } })).json()) as AccountView
    return nanoOf(me.balance!)
  }

  before(async () => {
    const upstream = await mock.start()
    relay = await startRelay({ config: SHIPPED_CONFIG, env: { OPENAI_API_KEY: "sk-media", OPENAI_BASE_URL: upstream } })
    key = (await createAccount(relay, { name: "media", tier: "enterprise", credits: "10" })).key
    client = new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 })
  })

  after(async () => {
    await relay.stop()
    await mock.stop()
  })

  it("embeds text as floats and as base64, passing the upstream's encoding through", async () => {
    const floats = await client.embeddings.create({ model: "text-embedding-3-small", input: ["alpha beta", "gamma"], encoding_format: "float" })
    assert.equal(floats.data.length, 2)
    assert.deepEqual(floats.data[1]!.embedding, [2 / 2, 2 / 3, 2 / 4, 2 / 5].map(Math.fround))
    assert.equal(floats.usage.prompt_tokens, 3)
    assert.equal(floats.model, "text-embedding-3-small-mock", "not an alias: the upstream's body as sent")
    // The SDK asks for base64 when the caller names no encoding, then decodes it.
    const decoded = await client.embeddings.create({ model: "text-embedding-3-small", input: "alpha", dimensions: 3 })
    assert.equal(mock.requests.at(-1)!.body.encoding_format, "base64")
    assert.equal(mock.requests.at(-1)!.body.dimensions, 3)
    assert.deepEqual(decoded.data[0]!.embedding, [1 / 2, 1 / 3, 1 / 4].map(Math.fround))
  })

  it("embeds token-id input and charges input tokens only", async () => {
    const before = await balance()
    const answer = await client.embeddings.create({ model: "text-embedding-3-small", input: [[1, 2, 3, 4, 5]], encoding_format: "float" })
    assert.equal(answer.usage.prompt_tokens, 5)
    // $0.02 per 1M tokens: 20 nano-USD a token.
    await eventually(async () => assert.equal(before - (await balance()), 5n * 20n))
  })

  it("refuses an empty embedding input with a 400 naming the field", async () => {
    await assert.rejects(
      client.embeddings.create({ model: "text-embedding-3-small", input: "" }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "input"
    )
  })

  it("echo embeds up to OpenAI's 3072 dimensions, in either encoding, and refuses more with a 400 naming dimensions", async () => {
    const floats = await client.embeddings.create({ model: "echo-1", input: "hi", dimensions: 3072, encoding_format: "float" })
    const decoded = await client.embeddings.create({ model: "echo-1", input: "hi", dimensions: 3072 })
    assert.equal(floats.data[0]!.embedding.length, 3072)
    assert.deepEqual(decoded.data[0]!.embedding, floats.data[0]!.embedding, "the base64 answer decodes to the same floats")
    for (const [dimensions, encoding_format] of [[3073, "float"], [40_000, undefined], [30_000_000, "float"]] as const) {
      await assert.rejects(
        client.embeddings.create({ model: "echo-1", input: "hi", dimensions, ...(encoding_format ? { encoding_format } : {}) }),
        (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "dimensions",
        `${dimensions} dimensions`
      )
    }
  })

  it("generates images, dropping response_format the GPT image models refuse, and bills their image tokens exactly", async () => {
    const before = await balance()
    const answer = await client.images.generate({ model: "gpt-image-2", prompt: "a glass teapot on walnut", size: "1024x1024", response_format: "b64_json", n: 2 })
    assert.equal(answer.data?.length, 2)
    assert.ok(answer.data![0]!.b64_json!.length > 10)
    assert.equal(mock.requests.at(-1)!.body.response_format, undefined, "not forwarded")
    // 5 prompt words at $5 per 1M text tokens, 2 x 1,056 image tokens at $30 per 1M.
    const cost = 5n * 5_000n + 2n * BigInt(IMAGE_OUTPUT_TOKENS) * 30_000n
    await eventually(async () => assert.equal(before - (await balance()), cost))
    const usage = (await (await fetch(`${relay.baseURL}/account/usage?limit=1`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
      data: Array<{ surface: string; prompt_tokens: number; image_output_tokens: number; cost: string }>
    }
    assert.deepEqual(
      { surface: usage.data[0]!.surface, prompt: usage.data[0]!.prompt_tokens, images: usage.data[0]!.image_output_tokens },
      { surface: "images.generations", prompt: 5, images: 2 * IMAGE_OUTPUT_TOKENS }
    )
  })

  /** The usage record of the account's latest request, once it is written. */
  const lastUsageRecord = async (surface: string) => {
    let record: { surface: string; prompt_tokens: number; image_output_tokens: number } | undefined
    await eventually(async () => {
      const usage = (await (await fetch(`${relay.baseURL}/account/usage?limit=1`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
        data: Array<{ surface: string; prompt_tokens: number; image_output_tokens: number }>
      }
      record = usage.data[0]
      assert.equal(record?.surface, surface)
    })
    return { prompt: record!.prompt_tokens, images: record!.image_output_tokens }
  }

  it("echo streams a generated image as OpenAI does: the partial images asked for, then the image with the whole answer's usage", async () => {
    const whole = await client.images.generate({ model: "echo-1", prompt: "a red kite over dunes" })
    const wholeRecord = await lastUsageRecord("images.generations")
    const stream = await client.images.generate({ model: "echo-1", prompt: "a red kite over dunes", stream: true, partial_images: 2 })
    const events = []
    for await (const event of stream) events.push(event)
    assert.deepEqual(events.map((e) => [e.type, e.type === "image_generation.partial_image" ? e.partial_image_index : null]), [
      ["image_generation.partial_image", 0],
      ["image_generation.partial_image", 1],
      ["image_generation.completed", null]
    ])
    const completed = events.at(-1)!
    assert.equal(completed.b64_json, whole.data![0]!.b64_json)
    assert.ok(completed.type === "image_generation.completed")
    assert.deepEqual(completed.usage, whole.usage, "the same usage as the whole answer")
    assert.deepEqual(await lastUsageRecord("images.generations"), wholeRecord, "charged as the whole answer is")
    assert.equal(wholeRecord.images, whole.usage!.output_tokens)
  })

  it("echo streams an edit with image_edit events, and refuses a stream of several images or too many partial ones", async () => {
    const image = await toFile(new Uint8Array(64).fill(7), "a.png", { type: "image/png" })
    const stream = await client.images.edit({ model: "echo-1", prompt: "make it blue", image, stream: true })
    const events = []
    for await (const event of stream) events.push(event)
    assert.deepEqual(events.map((e) => e.type), ["image_edit.completed"])
    assert.ok(events[0]!.type === "image_edit.completed" && events[0]!.usage.output_tokens > 0)
    assert.equal((await lastUsageRecord("images.edits")).images, events[0]!.usage.output_tokens)
    for (const [fields, param] of [[{ n: 2 }, "n"], [{ partial_images: 4 }, "partial_images"]] as const) {
      await assert.rejects(
        client.images.generate({ model: "echo-1", prompt: "kites", stream: true, ...fields }),
        (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === param,
        param
      )
    }
  })

  it("answers whole, and bills exactly, an upstream that answers a stream request with JSON", async () => {
    const before = await balance()
    // The mock, like some OpenAI-compatible servers, does not stream images.
    const answer = await fetch(`${relay.baseURL}/images/generations`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-image-2", prompt: "a kite at dusk", stream: true })
    })
    assert.equal(mock.requests.at(-1)!.body.stream, true)
    assert.equal(answer.status, 200)
    assert.match(answer.headers.get("content-type")!, /^application\/json/)
    const body = (await answer.json()) as { data: Array<{ b64_json: string }>; usage: { output_tokens: number } }
    assert.equal(body.data.length, 1)
    assert.equal(body.usage.output_tokens, IMAGE_OUTPUT_TOKENS)
    // 4 prompt words at $5 per 1M text tokens, 1,056 image tokens at $30 per 1M: the body's usage.
    await eventually(async () => assert.equal(before - (await balance()), 4n * 5_000n + BigInt(IMAGE_OUTPUT_TOKENS) * 30_000n))
  })

  it("refuses response_format url for GPT image models, sending nothing", async () => {
    const before = mock.requests.length
    await assert.rejects(
      client.images.generate({ model: "gpt-image-2", prompt: "x", response_format: "url" }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "response_format"
    )
    assert.equal(mock.requests.length, before)
  })

  it("edits two uploaded images and a mask, forwarding the files byte for byte", async () => {
    const first = new Uint8Array(40_000).map((_, i) => (i * 7) % 256)
    const second = new Uint8Array(12_345).map((_, i) => (i * 13) % 256)
    const mask = new Uint8Array(999).fill(0)
    const before = await balance()
    const answer = await client.images.edit({
      model: "gpt-image-2",
      prompt: "put both in one scene",
      image: [await toFile(first, "a.png", { type: "image/png" }), await toFile(second, "b.png", { type: "image/png" })],
      mask: await toFile(mask, "mask.png", { type: "image/png" }),
      response_format: "b64_json"
    })
    assert.equal(answer.data?.length, 1)
    const seen = mock.requests.at(-1)!
    assert.match(String(seen.headers["content-type"]), /^multipart\/form-data; boundary=/)
    assert.deepEqual(seen.upload!.files.map((f) => [f.field, f.filename, f.size, f.sha256]), [
      ["image[]", "a.png", first.length, sha(first)],
      ["image[]", "b.png", second.length, sha(second)],
      ["mask", "mask.png", mask.length, sha(mask)]
    ])
    assert.equal(seen.upload!.fields.prompt, "put both in one scene")
    assert.equal(seen.upload!.fields.response_format, undefined, "dropped from the form too")
    // 5 text tokens at $5, 2 x 323 image tokens (100 cached at $2, the rest at $8), 1,056 out at $30.
    const imageIn = 2n * BigInt(IMAGE_INPUT_TOKENS)
    const cost = 5n * 5_000n + (imageIn - BigInt(IMAGE_CACHED_TOKENS)) * 8_000n + BigInt(IMAGE_CACHED_TOKENS) * 2_000n + BigInt(IMAGE_OUTPUT_TOKENS) * 30_000n
    await eventually(async () => assert.equal(before - (await balance()), cost))
  })

  it("refuses a crafted form that would send the upstream another model, count or quality than the one admitted", async () => {
    const sent = mock.requests.length
    const part = (disposition: string, value: string) => `--B\r\nContent-Disposition: form-data; ${disposition}\r\n\r\n${value}\r\n`
    const png = `--B\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n`
    const crafted = [
      // A loose reader finds name="model" inside xname="model"; the last duplicate wins upstream.
      part('xname="model"; name="prompt"', "gpt-image-1"),
      part('name="model"', "gpt-image-2"),
      part('name="n"', "1"),
      part('name="quality"', "low"),
      part('name="n"', "10"),
      part('name="quality"', "high"),
      png
    ].join("") + "--B--\r\n"
    const answer = await fetch(`${relay.baseURL}/images/edits`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "multipart/form-data; boundary=B" },
      body: crafted
    })
    assert.equal(answer.status, 400)
    assert.match(((await answer.json()) as { error: { message: string } }).error.message, /"xname"/)
    const twice = await fetch(`${relay.baseURL}/images/edits`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "multipart/form-data; boundary=B" },
      body: part('name="model"', "gpt-image-2") + part('name="prompt"', "p") + part('name="n"', "1") + part('name="n"', "10") + png + "--B--\r\n"
    })
    assert.equal(twice.status, 400)
    const error = ((await twice.json()) as { error: { message: string; param: string } }).error
    assert.equal(error.param, "n")
    assert.match(error.message, /more than once/)
    const fileAsField = await fetch(`${relay.baseURL}/images/edits`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "multipart/form-data; boundary=B" },
      body: part('name="model"', "gpt-image-2") + part('name="prompt"', "p") + png + `--B\r\nContent-Disposition: form-data; name="n"; filename="n.txt"\r\n\r\n10\r\n--B--\r\n`
    })
    assert.equal(fileAsField.status, 400, "a routed field cannot hide in a file part")
    assert.equal(mock.requests.length, sent, "nothing reached the upstream")
  })

  it("edits from a JSON body with image URLs", async () => {
    const answer = await fetch(`${relay.baseURL}/images/edits`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-image-2", prompt: "brighter", images: [{ image_url: "data:image/png;base64,iVBORw0KGgo=" }] })
    })
    assert.equal(answer.status, 200)
    assert.deepEqual(mock.requests.at(-1)!.body.images, [{ image_url: "data:image/png;base64,iVBORw0KGgo=" }])
  })

  it("refuses an edit without an image file, and an upload over the limit, before anything goes upstream", async () => {
    const before = mock.requests.length
    const form = new FormData()
    form.set("model", "gpt-image-2")
    form.set("prompt", "nothing to edit")
    const noImage = await fetch(`${relay.baseURL}/images/edits`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: form })
    assert.equal(noImage.status, 400)
    assert.equal(((await noImage.json()) as { error: { param: string } }).error.param, "image")
    // An upload that declares more than the limit is refused from its head, before its body:
    // only its first bytes are sent. (Sending all 65 MiB raced the server's lingering close of
    // a connection whose body it will not read, and the client could lose the answer.)
    const tooLarge = await new Promise<{ status: number; body: string }>((answered, failed) => {
      const boundary = "relay-test-boundary"
      const upload = httpRequest(`${relay.baseURL}/images/edits`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${key}`,
          "content-type": `multipart/form-data; boundary=${boundary}`,
          "content-length": String(65 * 1024 * 1024)
        }
      })
      upload.on("response", (response) => {
        let body = ""
        response.setEncoding("utf8").on("data", (text: string) => (body += text))
        response.on("end", () => {
          upload.destroy()
          answered({ status: response.statusCode ?? 0, body })
        })
      })
      upload.on("error", failed)
      upload.write(`--${boundary}\r\ncontent-disposition: form-data; name="model"\r\n\r\ngpt-image-2\r\n`)
    })
    assert.equal(tooLarge.status, 413)
    assert.equal((JSON.parse(tooLarge.body) as { error: { type: string } }).error.type, "invalid_request_error")
    assert.equal(mock.requests.length, before)
  })
})

describe("RocketAIRoom Chat API from its shipped config", () => {
  const mock = new MockOpenAI({ "sk-rocket": "ok" })
  let relay: RelayProcess

  before(async () => {
    const upstream = await mock.start()
    relay = await startRelay({ config: join(ROOT, "config/rocketairoom.config.ts"), env: { OPENAI_API_KEY: "sk-rocket", OPENAI_BASE_URL: upstream } })
  })

  after(async () => {
    await relay.stop()
    await mock.stop()
  })

  const chat = (key: string, body: Record<string, unknown>) =>
    fetch(`${relay.baseURL}/chat`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "Hello!" }], ...body })
    })

  it("answers the documented chat.completion shape with chat- ids and the house model's name", async () => {
    const { key } = await createAccount(relay, { name: "rocket-user", credits: "1.00" })
    const answer = await chat(key, { model: "rocket-1", max_tokens: 1_000, temperature: 0.7 })
    assert.equal(answer.status, 200)
    const body = (await answer.json()) as { id: string; object: string; model: string; choices: Array<{ message: { role: string; content: string }; finish_reason: string }>; usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } }
    assert.match(body.id, /^chat-/)
    assert.equal(body.object, "chat.completion")
    assert.equal(body.model, "rocket-1")
    assert.deepEqual(body.choices[0]!.message, { role: "assistant", content: "Hello!", refusal: null, annotations: [] })
    assert.equal(body.choices[0]!.finish_reason, "stop")
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens)
    assert.equal(mock.chats.at(-1)!.body.model, "gpt-4o-mini", "the operator's upstream model")
    assert.equal(answer.headers.get("x-ratelimit-limit"), "25", "the Starter plan")
    assert.equal(answer.headers.get("x-ratelimit-limit-tokens"), "12000")
  })

  it("streams with chat- ids when asked", async () => {
    const { key } = await createAccount(relay, { name: "rocket-stream", credits: "1.00" })
    const client = new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 })
    // The SDK posts to /chat/completions; the product's route is /chat.
    const stream = await client.chat.completions.create(
      { model: "rocket-1-turbo", stream: true, messages: [{ role: "user", content: "streaming rockets" }] },
      { path: "/chat" }
    )
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    assert.ok(chunks.length > 2)
    assert.ok(chunks.every((c) => c.id.startsWith("chat-") && c.model === "rocket-1-turbo"))
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? "").join(""), "streaming rockets")
  })

  it("refuses max_tokens above the model's cap with a 400", async () => {
    const { key } = await createAccount(relay, { name: "rocket-cap", credits: "1.00" })
    const before = mock.chats.length
    const over = await chat(key, { model: "rocket-1", max_tokens: 4_097 })
    assert.equal(over.status, 400)
    const body = (await over.json()) as { error: { param: string; message: string } }
    assert.equal(body.error.param, "max_tokens")
    assert.match(body.error.message, /4096/)
    assert.equal(mock.chats.length, before)
    assert.equal((await chat(key, { model: "rocket-1-pro", max_tokens: 8_192 })).status, 200, "rocket-1-pro allows 8,192")
  })

  it("refuses an over-cap max_tokens before admission: a 400 even without balance, and nothing counted", async () => {
    const { key } = await createAccount(relay, { name: "rocket-cap-broke" })
    const over = await chat(key, { model: "rocket-1", max_tokens: 5_000 })
    assert.equal(over.status, 400, "the request is invalid, whatever the balance")
    assert.equal(over.headers.get("x-ratelimit-remaining"), "25", "no request of the window spent")
    assert.equal(over.headers.get("x-ratelimit-remaining-tokens"), "12000")
    assert.equal((await chat(key, { model: "rocket-1", max_tokens: 100 })).status, 402, "a valid one meets the balance")
  })

  it("charges the flat per-1K prices on prompt and completion tokens", async () => {
    const { key } = await createAccount(relay, { name: "rocket-bill", credits: "1.00" })
    await chat(key, { model: "rocket-1-pro", messages: [{ role: "user", content: "one two three" }] })
    // The mock's usage: 12 prompt tokens (3 cached, same flat price), 3 completion; $1.20 per 1M.
    await eventually(async () => {
      const me = (await (await fetch(`${relay.baseURL}/account`, { headers: { authorization: `Bearer ${key}` } })).json()) as AccountView
      assert.equal(nanoOf(me.balance!), 1_000_000_000n - 15n * 1_200n)
    })
  })

  it("publishes the house models, prices and plans", async () => {
    const { account, key } = await createAccount(relay, { name: "rocket-catalog", tier: "pro" })
    assert.deepEqual(account.limits, { rpm: 80, tpm: 60_000 })
    const models = (await (await fetch(`${relay.baseURL}/models`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
      data: Array<{ id: string; max_output_tokens: number; pricing: Record<string, string> }>
    }
    assert.deepEqual(models.data.map((m) => [m.id, m.max_output_tokens, m.pricing.input, m.pricing.output]), [
      ["rocket-1", 4_096, "0.4", "0.4"],
      ["rocket-1-turbo", 4_096, "0.7", "0.7"],
      ["rocket-1-pro", 8_192, "1.2", "1.2"]
    ])
  })
})
