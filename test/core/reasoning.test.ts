import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { anthropicThinkingOf, openAIEffortOf, reasons } from "../../core/translate/reasoning.ts"

describe("which models reason", () => {
  it("knows OpenAI's reasoning families and Claude's thinking models by name", () => {
    for (const model of ["o1", "o3-mini", "o4-mini", "gpt-5", "gpt-5.5", "gpt-5-mini", "claude-sonnet-4-6", "claude-haiku-4-5", "claude-3-7-sonnet-latest"]) {
      assert.equal(reasons(model, undefined), true, model)
    }
    for (const model of ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-5-chat-latest", "chatgpt-4o-latest", "claude-3-5-haiku-latest", "claude-3-opus-20240229", "llama3", "deepseek-reasoner"]) {
      assert.equal(reasons(model, undefined), false, model)
    }
  })

  it("takes the catalog's word over the name", () => {
    const entry = { id: "x", provider: "openai" }
    assert.equal(reasons("deepseek-reasoner", { ...entry, reasoning: true }), true)
    assert.equal(reasons("gpt-5.5", { ...entry, reasoning: false }), false)
    assert.equal(reasons("gpt-5.5", entry), true)
  })
})

describe("reasoning controls across the protocols", () => {
  it("an Anthropic effort wins over a thinking budget", () => {
    assert.equal(openAIEffortOf({ thinking: { type: "enabled", budget_tokens: 30_000 }, output_config: { effort: "low" } }), "low")
    assert.equal(openAIEffortOf({ output_config: { effort: "unheard-of" } }), undefined)
  })

  it("keeps a thinking budget below max_tokens and at least Anthropic's 1,024", () => {
    assert.deepEqual(anthropicThinkingOf("xhigh", "claude-haiku-4-5", 64_000), { thinking: { type: "enabled", budget_tokens: 32_768 } })
    assert.deepEqual(anthropicThinkingOf("high", "claude-haiku-4-5", 1_025), { thinking: { type: "enabled", budget_tokens: 1_024 } })
    assert.equal(anthropicThinkingOf("high", "claude-haiku-4-5", 1_024), undefined)
    assert.deepEqual(anthropicThinkingOf("max", "claude-opus-4-7", 1_024), { thinking: { type: "adaptive" }, effort: "max" })
    assert.equal(anthropicThinkingOf(7, "claude-opus-4-7", 1_024), undefined)
  })
})
