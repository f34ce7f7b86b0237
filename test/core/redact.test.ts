import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { redact } from "../../core/redact.ts"

describe("redact", () => {
  it("removes the given secrets wherever they occur", () => {
    const secret = "my-upstream-secret-value"
    assert.equal(redact(`bad key ${secret}; again: ${secret}.`, [secret]), "bad key [redacted]; again: [redacted].")
  })

  it("ignores secrets shorter than four characters", () => {
    assert.equal(redact("a b c abc", ["abc", "a"]), "a b c abc")
  })

  it("removes OpenAI-shaped keys", () => {
    assert.equal(
      redact("Incorrect API key provided: sk-proj-AbC123_xyz-987. Find your key."),
      "Incorrect API key provided: [redacted]. Find your key."
    )
  })

  it("removes masked keys as OpenAI echoes them", () => {
    assert.equal(
      redact("Incorrect API key provided: sk-ab***************************yz."),
      "Incorrect API key provided: [redacted]."
    )
  })

  it("removes Anthropic keys", () => {
    assert.equal(redact("key sk-ant-api03-AAAAbbbbCCCC_dddd-EEEE is invalid"), "key [redacted] is invalid")
  })

  it("removes Google keys of 20+ characters after AIza", () => {
    const google = `AIza${"x".repeat(35)}`
    assert.equal(redact(`API key not valid: ${google}`), "API key not valid: [redacted]")
  })

  it("leaves a short AIza string alone", () => {
    assert.equal(redact("AIzaShort"), "AIzaShort")
  })

  it("removes relay keys", () => {
    const relay = `sk-rr-${"Ab1".repeat(13)}X`
    assert.equal(redact(`relay key ${relay} revoked`), "relay key [redacted] revoked")
  })

  it("removes several keys in one text", () => {
    assert.equal(redact("sk-aaaa1111 and sk-bbbb2222"), "[redacted] and [redacted]")
  })

  it("leaves ordinary text alone", () => {
    const texts = [
      "The model `gpt-4o` does not exist or you do not have access to it.",
      "max_tokens is too large: 100000. This model supports at most 16384 completion tokens.",
      "risk-free task-oriented desk-top",
      "sk- alone, or sk-ab",
      "Rate limit reached for requests"
    ]
    for (const text of texts) assert.equal(redact(text, ["not-present-secret"]), text)
  })

  it("does not match sk- inside a longer word", () => {
    assert.equal(redact("task-abcdef1234"), "task-abcdef1234")
  })

  it("removes a secret even when it is not key-shaped", () => {
    assert.equal(redact("token=hunter2-xyz ok", ["hunter2-xyz"]), "token=[redacted] ok")
  })
})
