import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { clientRequestId } from "../../core/app.ts"

describe("clientRequestId", () => {
  it("keeps visible ASCII and spaces, trimmed, up to 256 characters", () => {
    for (const id of ["client-id-42", "my id with spaces", "abc/def", "a=b;c,d", "{\"json\":1}", "~".repeat(256), "x"]) {
      assert.equal(clientRequestId(id), id, id)
    }
    assert.equal(clientRequestId("  padded id  "), "padded id")
    assert.equal(clientRequestId(` ${"y".repeat(256)} `), "y".repeat(256), "the limit counts the trimmed id")
  })

  it("refuses control characters, non-ASCII, empty and too long ids", () => {
    const refused = [undefined, "", "   ", "a\r\nx-evil: 1", "line\nbreak", "tab\there", "nul\u0000", "del\u007f", "caf\u00e9", "\u2028", "z".repeat(257)]
    for (const id of refused) assert.equal(clientRequestId(id), undefined, JSON.stringify(id))
  })
})
