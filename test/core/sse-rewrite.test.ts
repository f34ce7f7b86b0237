import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { rewriteStream } from "../../core/sse/rewrite.ts"
import { concatBytes, cutAt, dec, enc, readAll, sourceOf } from "./stream-helpers.ts"

const renamed = (payload: Record<string, unknown>) => {
  payload.model = "my-alias"
}

describe("rewriteStream", () => {
  for (const [name, end] of [["LF", "\n"], ["CRLF", "\r\n"], ["a lone CR", "\r"]] as const) {
    it(`rewrites every event's payload and keeps its other lines, for lines ended by ${name}`, async () => {
      const text = [
        `event: chunk${end}data: {"model":"gpt-4o","n":1}${end}${end}`,
        `: keep-alive${end}${end}`,
        `data: {"model":"gpt-4o",${end}data: "n":2}${end}${end}`,
        `data: [DONE]${end}${end}`
      ].join("")
      const out = await readAll(rewriteStream(sourceOf(cutAt(enc.encode(text), [3, 30, 31])).reader, renamed))
      assert.equal(
        dec.decode(concatBytes(out)),
        'event: chunk\ndata: {"model":"my-alias","n":1}\n\n' +
          `: keep-alive${end}${end}` +
          'data: {"model":"my-alias","n":2}\n\n' +
          `data: [DONE]${end}${end}`
      )
    })
  }
})
