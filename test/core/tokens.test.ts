import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { estimatePromptTokens, heuristicCount, outputAllowance, type TokenCounter } from "../../core/tokens.ts"

const IMAGE = 765
const PER_MESSAGE = 4

/** A counter that counts characters and remembers the text and model it was given. */
const recorder = () => {
  const calls: Array<{ text: string; model: string }> = []
  const count: TokenCounter = (text, model) => {
    calls.push({ text, model })
    return text.length
  }
  return { count, calls, text: () => calls.map((c) => c.text).join("") }
}

describe("heuristicCount", () => {
  it("is about four characters per token, rounded up", () => {
    assert.equal(heuristicCount("", "m"), 0)
    assert.equal(heuristicCount("a", "m"), 1)
    assert.equal(heuristicCount("abcd", "m"), 1)
    assert.equal(heuristicCount("abcde", "m"), 2)
    assert.equal(heuristicCount("x".repeat(4_000), "m"), 1_000)
  })
})

describe("estimatePromptTokens", () => {
  it("counts the text of string message contents once, plus a per-message overhead", () => {
    const r = recorder()
    const body = { model: "gpt-4o", messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hello" }] }
    assert.equal(estimatePromptTokens(body, "gpt-4o", r.count), "be brief\nhello\n".length + 2 * PER_MESSAGE)
    assert.equal(r.calls.length, 1)
    assert.equal(r.calls[0]!.model, "gpt-4o")
  })

  it("does not count roles or block types as text", () => {
    const r = recorder()
    estimatePromptTokens({ messages: [{ role: "assistant", content: [{ type: "text", text: "ok" }] }] }, "m", r.count)
    assert.equal(r.text(), "ok\n")
  })

  it("counts every text block of array contents", () => {
    const r = recorder()
    const body = {
      messages: [
        { role: "user", content: [{ type: "text", text: "first" }, { type: "text", text: "second" }] },
        { role: "assistant", content: "third" }
      ]
    }
    assert.equal(estimatePromptTokens(body, "m", r.count), "first\nsecond\nthird\n".length + 2 * PER_MESSAGE)
  })

  it("counts tool calls' names and arguments in messages", () => {
    const r = recorder()
    const body = {
      messages: [{
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "lookup", arguments: "{\"q\":\"x\"}" } }]
      }]
    }
    estimatePromptTokens(body, "m", r.count)
    assert.ok(r.text().includes("lookup"))
    assert.ok(r.text().includes("{\"q\":\"x\"}"))
    assert.ok(!r.text().includes("function\n"))
  })

  it("counts the system prompt as a string or as blocks", () => {
    const plain = recorder()
    assert.equal(estimatePromptTokens({ system: "you are terse" }, "m", plain.count), "you are terse\n".length)
    const blocks = recorder()
    const body = { system: [{ type: "text", text: "rule one", cache_control: { type: "ephemeral" } }, { type: "text", text: "rule two" }] }
    estimatePromptTokens(body, "m", blocks.count)
    assert.equal(blocks.text(), "rule one\nrule two\n")
  })

  it("counts tools as their JSON, keys included", () => {
    const r = recorder()
    const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }]
    assert.equal(estimatePromptTokens({ tools }, "m", r.count), JSON.stringify(tools).length)
    assert.equal(r.text(), JSON.stringify(tools))
  })

  it("counts an embedding input, a string or a list of strings", () => {
    const one = recorder()
    assert.equal(estimatePromptTokens({ input: "embed me" }, "text-embedding-3-small", one.count), "embed me\n".length)
    const many = recorder()
    assert.equal(estimatePromptTokens({ input: ["a", "bb", "ccc"] }, "m", many.count), "a\nbb\nccc\n".length)
  })

  it("counts an image prompt", () => {
    const r = recorder()
    assert.equal(estimatePromptTokens({ prompt: "a red fox", size: "1024x1024", n: 2 }, "gpt-image-2", r.count), "a red fox\n".length)
    assert.equal(r.text(), "a red fox\n")
  })

  it("counts instructions", () => {
    const r = recorder()
    estimatePromptTokens({ instructions: "answer in French" }, "m", r.count)
    assert.equal(r.text(), "answer in French\n")
  })

  it("adds a fixed cost per image and does not count image data as text", () => {
    const r = recorder()
    const body = {
      messages: [{
        role: "user",
        content: [
          { type: "text", text: "what is this" },
          { type: "image_url", image_url: { url: "data:image/png;base64," + "A".repeat(10_000) } },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "B".repeat(10_000) } },
          { type: "input_image", image_url: "https://example.com/cat.png" }
        ]
      }]
    }
    assert.equal(estimatePromptTokens(body, "m", r.count), "what is this\n".length + 3 * IMAGE + PER_MESSAGE)
    assert.equal(r.text(), "what is this\n")
  })

  it("finds images nested in tool results", () => {
    const r = recorder()
    const body = {
      messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: [{ type: "image", source: { data: "x" } }] }] }]
    }
    assert.equal(estimatePromptTokens(body, "m", r.count), "t\n".length + IMAGE + PER_MESSAGE)
  })

  it("ignores fields that are not part of the prompt", () => {
    const r = recorder()
    const body = { model: "gpt-4o", temperature: 0.5, max_tokens: 100, user: "someone", metadata: { a: "b" }, stream: true }
    assert.equal(estimatePromptTokens(body, "gpt-4o", r.count), 0)
    assert.equal(r.text(), "")
  })

  it("counts numbers and booleans in messages as nothing", () => {
    const r = recorder()
    estimatePromptTokens({ messages: [{ role: "user", content: "x", weight: 3, flag: true, nothing: null }] }, "m", r.count)
    assert.equal(r.text(), "x\n")
  })

  it("gives an empty body zero and charges the overhead of empty messages", () => {
    assert.equal(estimatePromptTokens({}, "m", heuristicCount), 0)
    assert.equal(estimatePromptTokens({ messages: [] }, "m", heuristicCount), 0)
    assert.equal(estimatePromptTokens({ messages: [{ role: "user", content: "" }, { role: "user", content: "" }] }, "m", heuristicCount), 1 + 2 * PER_MESSAGE)
  })

  it("uses the counter it is given, with the model it is given", () => {
    const fixed: TokenCounter = (_text, model) => (model === "big" ? 1_000 : 1)
    const body = { messages: [{ role: "user", content: "hi" }] }
    assert.equal(estimatePromptTokens(body, "big", fixed), 1_000 + PER_MESSAGE)
    assert.equal(estimatePromptTokens(body, "small", fixed), 1 + PER_MESSAGE)
  })

  it("with the heuristic counter, a long prompt is about a quarter of its length", () => {
    const text = "word ".repeat(2_000)
    assert.equal(estimatePromptTokens({ messages: [{ role: "user", content: text }] }, "m", heuristicCount), Math.ceil((text.length + 1) / 4) + PER_MESSAGE)
  })
})

describe("outputAllowance", () => {
  it("takes the largest limit the body names: the upstream may obey any of them", () => {
    // On /v1/messages Claude obeys max_tokens: a tiny max_completion_tokens beside it must not
    // shrink the reservation.
    assert.equal(outputAllowance({ max_completion_tokens: 1, max_tokens: 20_000 }, undefined, 99), 20_000)
    assert.equal(outputAllowance({ max_completion_tokens: 10, max_tokens: 20, max_output_tokens: 30 }, undefined, 99), 30)
    assert.equal(outputAllowance({ max_tokens: 20, max_completion_tokens: 5 }, undefined, 99), 20)
    assert.equal(outputAllowance({ max_output_tokens: 30 }, undefined, 99), 30)
  })

  it("clamps the request's limit to the model's cap", () => {
    assert.equal(outputAllowance({ max_tokens: 100_000 }, 16_384, 4_096), 16_384)
    assert.equal(outputAllowance({ max_completion_tokens: 500 }, 16_384, 4_096), 500)
    assert.equal(outputAllowance({ max_output_tokens: 16_384 }, 16_384, 4_096), 16_384)
  })

  it("uses the cap when the request sets no limit, else the fallback", () => {
    assert.equal(outputAllowance({}, 16_384, 4_096), 16_384)
    assert.equal(outputAllowance({}, undefined, 4_096), 4_096)
  })

  it("a request's limit above the fallback is kept when there is no cap", () => {
    assert.equal(outputAllowance({ max_tokens: 50_000 }, undefined, 4_096), 50_000)
  })

  it("skips values that are not positive numbers", () => {
    assert.equal(outputAllowance({ max_completion_tokens: 0, max_tokens: 20 }, undefined, 99), 20)
    assert.equal(outputAllowance({ max_completion_tokens: -5, max_tokens: "20" }, 1_000, 99), 1_000)
    assert.equal(outputAllowance({ max_tokens: null }, undefined, 99), 99)
  })
})
