import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { setTimeout as sleep } from "node:timers/promises"
import { Effect } from "effect"
import { countTokens as o200k } from "gpt-tokenizer/encoding/o200k_base"
import type { PluginHooks, TokenCounter } from "../../core/index.ts"
import { providerRegistry } from "../../plugins/providers/registry/index.ts"
import { tokenizer, type TokenizerOptions } from "../../plugins/tokenizer/index.ts"
import { testInfo } from "../helpers/services.ts"

const info = testInfo({ providers: providerRegistry([]), models: [], tiers: {}, defaultTier: "starter" })

/** The plugin's counter once its encoding has loaded (it loads in the background). */
const loaded = async (options?: TokenizerOptions): Promise<TokenCounter> => {
  const hooks = await Effect.runPromise(tokenizer(options).setup(info) as Effect.Effect<PluginHooks>)
  const port = hooks.tokenCounting
  assert.ok(port !== undefined, "the tokenizer offers countTokens")
  // Its counts answer at once.
  const count: TokenCounter = (text, model) => Effect.runSync(port.count(text, model))
  const deadline = Date.now() + 5_000
  while (count("hello world", "gpt-4o") !== 2) {
    assert.ok(Date.now() < deadline, "the o200k encoding did not load within 5 s")
    await sleep(20)
  }
  return count
}

const TEXTS = [
  "hello world",
  "The quick brown fox jumps over the lazy dog.",
  "function add(a, b) {\n  return a + b\n}",
  "Grüße aus München — 東京 😀",
  "   lots    of     spaces   "
]

describe("tokenizer plugin", () => {
  it("loads the encoding only once an OpenAI model is counted, and answers that count with the estimate", async () => {
    const hooks = await Effect.runPromise(tokenizer().setup(info) as Effect.Effect<PluginHooks>)
    const count: TokenCounter = (text, model) => Effect.runSync(hooks.tokenCounting!.count(text, model))
    // The encoding is already in this process (imported above): one begun at setup would be ready by now.
    await sleep(100)
    assert.equal(count("hello world", "claude-sonnet-4-6"), 4)
    await sleep(100)
    assert.equal(count("hello world", "gpt-4o"), 3, "the first OpenAI count is the estimate")
    const deadline = Date.now() + 5_000
    while (count("hello world", "gpt-4o") !== 2) {
      assert.ok(Date.now() < deadline, "the o200k encoding did not load within 5 s")
      await sleep(20)
    }
  })

  it("counts OpenAI models exactly with o200k once loaded", async () => {
    const count = await loaded()
    for (const model of ["gpt-4o", "gpt-5.5", "gpt-4o-mini", "o3-mini", "o1", "chatgpt-4o-latest", "text-embedding-3-small"]) {
      for (const text of TEXTS) assert.equal(count(text, model), o200k(text), `${model}: ${JSON.stringify(text)}`)
    }
    // Not the four-characters estimate, which would say 11.
    assert.equal(count("The quick brown fox jumps over the lazy dog.", "gpt-4o"), 10)
    assert.equal(count("", "gpt-4o"), 0)
  })

  it("estimates Claude models at 3.5 characters per token", async () => {
    const count = await loaded()
    assert.equal(count("hello world", "claude-sonnet-4-6"), 4) // 11 / 3.5 = 3.14
    assert.equal(count("x".repeat(35), "claude-haiku-4-5"), 10)
    assert.equal(count("x".repeat(36), "claude-haiku-4-5"), 11)
    assert.equal(count("", "claude-sonnet-4-6"), 0)
  })

  it("estimates Gemini and unknown models at 4 characters per token", async () => {
    const count = await loaded()
    assert.equal(count("hello world", "gemini-2.5-pro"), 3)
    assert.equal(count("x".repeat(40), "gemini-2.5-flash"), 10)
    assert.equal(count("hello world", "llama-3.1-70b"), 3)
    assert.equal(count("x".repeat(41), "mistral-large"), 11)
    assert.equal(count("", "llama-3.1-70b"), 0)
  })

  it("matches model families only at the start of the name", async () => {
    const count = await loaded()
    assert.equal(count("hello world", "my-gpt-4o"), 3)
    assert.equal(count("hello world", "my-claude-3"), 3)
    assert.equal(count("hello world", "echo-1"), 3)
  })

  it("estimates texts longer than maxExactChars even for OpenAI models", async () => {
    const count = await loaded({ maxExactChars: 11 })
    assert.equal(count("hello world", "gpt-4o"), 2)
    const longer = "hello world!"
    assert.equal(o200k(longer), 3)
    assert.equal(count(longer, "gpt-4o"), Math.ceil(longer.length / 4))
    const prose = "The quick brown fox jumps over the lazy dog."
    assert.equal(count(prose, "gpt-4o"), 11)
  })

  it("counts exactly up to the default limit of 32 768 characters", async () => {
    const count = await loaded()
    const atLimit = "ab ".repeat(10_922) + "ab" // 32 768 characters
    assert.equal(atLimit.length, 32_768)
    assert.equal(count(atLimit, "gpt-4o"), o200k(atLimit))
    const over = atLimit + "c"
    assert.equal(count(over, "gpt-4o"), Math.ceil(over.length / 4))
    assert.notEqual(o200k(atLimit), Math.ceil(atLimit.length / 4))
  })
})
