import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { Catalog, type ModelEntry } from "../../core/catalog.ts"

const MODELS: ReadonlyArray<ModelEntry> = [
  { id: "gpt-4o", provider: "azure", maxOutputTokens: 16_384 },
  { id: "fast", provider: "openai", upstream: "gpt-4o-mini" },
  { id: "claude-sonnet", provider: "anthropic", upstream: "claude-sonnet-4-6" }
]

const PROVIDERS = [
  { name: "openai", patterns: ["gpt-*", "o1*", "text-embedding-*"] },
  { name: "anthropic", patterns: ["claude-*"] },
  { name: "catchall", patterns: ["gpt-*", "*"] }
]

const catalog = new Catalog(MODELS, PROVIDERS)

describe("Catalog.resolve", () => {
  it("a catalog entry wins over a matching pattern", () => {
    const resolved = catalog.resolve("gpt-4o")
    assert.deepEqual(resolved, { id: "gpt-4o", provider: "azure", upstreamModel: "gpt-4o", entry: MODELS[0] })
  })

  it("an alias sends the upstream name and echoes the asked one", () => {
    assert.deepEqual(catalog.resolve("fast"), { id: "fast", provider: "openai", upstreamModel: "gpt-4o-mini", entry: MODELS[1] })
    assert.equal(catalog.resolve("claude-sonnet")?.upstreamModel, "claude-sonnet-4-6")
  })

  it("matches glob patterns for uncatalogued models", () => {
    assert.deepEqual(catalog.resolve("gpt-4.1-nano"), { id: "gpt-4.1-nano", provider: "openai", upstreamModel: "gpt-4.1-nano", entry: undefined })
    assert.equal(catalog.resolve("o1")?.provider, "openai")
    assert.equal(catalog.resolve("o1-preview")?.provider, "openai")
    assert.equal(catalog.resolve("claude-haiku-4-5")?.provider, "anthropic")
  })

  it("the first provider in config order wins when several match", () => {
    assert.equal(catalog.resolve("gpt-5")?.provider, "openai")
    assert.equal(catalog.resolve("mistral-large")?.provider, "catchall")
  })

  it("gives undefined for an unknown model", () => {
    const strict = new Catalog(MODELS, PROVIDERS.slice(0, 2))
    assert.equal(strict.resolve("mistral-large"), undefined)
    assert.equal(strict.resolve(""), undefined)
  })

  it("anchors patterns at both ends", () => {
    const strict = new Catalog([], [{ name: "openai", patterns: ["gpt-*", "o1*"] }])
    assert.equal(strict.resolve("my-gpt-4o"), undefined)
    assert.equal(strict.resolve("xo1"), undefined)
    assert.equal(strict.resolve("gpt"), undefined, "the dash is literal")
  })

  it("treats regex characters in patterns literally", () => {
    const strict = new Catalog([], [{ name: "p", patterns: ["gpt-4.1*", "a+b"] }])
    assert.equal(strict.resolve("gpt-4.1-mini")?.provider, "p")
    assert.equal(strict.resolve("gpt-4x1-mini"), undefined)
    assert.equal(strict.resolve("a+b")?.provider, "p")
    assert.equal(strict.resolve("aab"), undefined)
  })

  it("entry() looks up catalogued models only", () => {
    assert.equal(catalog.entry("fast"), MODELS[1])
    assert.equal(catalog.entry("gpt-5"), undefined)
    assert.equal(catalog.models, MODELS)
  })
})
