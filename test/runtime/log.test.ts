import assert from "node:assert/strict"
import { Writable } from "node:stream"
import { describe, it } from "node:test"
import { relayLog } from "../../runtime/log.ts"

/** A log destination that keeps every line written to it. */
const recording = () => {
  const lines: Array<string> = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    }
  })
  return { lines, sink }
}

describe("log redaction", () => {
  it("censors secrets wherever the redaction paths name them", () => {
    const { lines, sink } = recording()
    relayLog("info", sink).info({
      api_key: "sk-user-own-key-4242",
      authorization: "Bearer sk-rr-secret",
      request: { headers: { authorization: "Bearer sk-rr-nested" }, key: "sk-in-a-field" },
      upstream: { apiKey: "AIzaSecretSecretSecretSecret", secret: "s3cr3t" },
      model: "gpt-4o-mini"
    }, "request")
    const line = lines.join("")
    for (const secret of ["sk-user-own-key-4242", "sk-rr-secret", "sk-rr-nested", "sk-in-a-field", "AIzaSecretSecretSecretSecret", "s3cr3t"]) {
      assert.ok(!line.includes(secret), `${secret} leaked: ${line}`)
    }
    assert.match(line, /"model":"gpt-4o-mini"/, "ordinary fields are kept")
    assert.ok(line.split("[redacted]").length - 1 >= 5)
  })

  it("the relay's logger redacts every line but the per-request one, which goes to the same destination", () => {
    const { lines, sink } = recording()
    const log = relayLog("info", sink)
    log.warn({ upstream: { apiKey: "AIzaSecretSecretSecretSecret" } }, "upstream refused")
    log.request({ request_id: "req_1", model: "gpt-4o-mini", status: 200 })
    log.debug({ note: "below the level" })
    assert.equal(lines.length, 2)
    assert.ok(!lines[0]!.includes("AIzaSecret"), lines[0])
    assert.match(lines[0]!, /"msg":"upstream refused"/)
    const request = JSON.parse(lines[1]!) as Record<string, unknown>
    assert.deepEqual([request.msg, request.request_id, request.model, request.status, request.level], ["request", "req_1", "gpt-4o-mini", 200, 30])
  })
})
