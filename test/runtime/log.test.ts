import assert from "node:assert/strict"
import { Writable } from "node:stream"
import { describe, it } from "node:test"
import pino from "pino"
import { LOG_REDACT_PATHS } from "../../runtime/log.ts"

describe("log redaction", () => {
  it("censors secrets wherever the redaction paths name them", () => {
    const lines: Array<string> = []
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      }
    })
    const log = pino({ redact: { paths: LOG_REDACT_PATHS, censor: "[redacted]" } }, sink)
    log.info({
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
})
