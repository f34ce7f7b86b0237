import assert from "node:assert/strict"
import { describe, it } from "node:test"
import fc from "fast-check"
import { formFields, readForm } from "../../core/multipart.ts"
import { InvalidRequest } from "../../core/errors.ts"
import { readMultipart } from "../helpers/mock-openai-media.ts"

const enc = new TextEncoder()
const TYPE = "multipart/form-data; boundary=XyZ"

const form = (...parts: ReadonlyArray<string>) => enc.encode(`${parts.map((part) => `--XyZ\r\n${part}\r\n`).join("")}--XyZ--\r\n`)
const field = (name: string, value: string) => `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`
const file = (name: string, filename: string, bytes: string) => `Content-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: image/png\r\n\r\n${bytes}`

const read = (body: Uint8Array, type = TYPE) => {
  const parsed = readForm(body, type)
  if (parsed instanceof InvalidRequest) return parsed
  const fields = formFields(parsed.body, parsed.parts)
  assert.ok(!(fields instanceof InvalidRequest))
  return { ...parsed, fields }
}

describe("multipart forms, read to the letter of RFC 7578", () => {
  it("reads fields and files, and rebuilds the form under a boundary of its own, files byte for byte", () => {
    const parsed = read(form(field("model", "gpt-image-2"), field("prompt", "a cat\r\non two lines"), file("image[]", "a.png", "\x89PNG\r\n-XyZ--not")))
    assert.ok(!(parsed instanceof InvalidRequest))
    assert.deepEqual(parsed.fields, { model: "gpt-image-2", prompt: "a cat\r\non two lines" })
    assert.match(parsed.contentType, /^multipart\/form-data; boundary=relay-[0-9A-Za-z]{32}$/)
    const seen = readMultipart(Buffer.from(parsed.body), parsed.contentType)
    assert.deepEqual(seen.fields, parsed.fields)
    assert.deepEqual(seen.files.map((f) => [f.field, f.filename, f.size]), [["image[]", "a.png", enc.encode("\x89PNG\r\n-XyZ--not").length]])
  })

  it("refuses the crafted forms that a loose reader takes one way and the upstream another", () => {
    const refused: Array<[string, Uint8Array]> = [
      ["a parameter whose name ends in name", form(`Content-Disposition: form-data; xname="model"; name="prompt"\r\n\r\ngpt-image-1`, field("model", "gpt-image-2"))],
      ["a field sent twice", form(field("model", "gpt-image-2"), field("n", "1"), field("n", "10"))],
      ["a field sent as a text and as a file", form(field("model", "gpt-image-2"), file("model", "m.txt", "gpt-image-1"))],
      ["a name given twice in one part", form(`Content-Disposition: form-data; name="prompt"; name="model"\r\n\r\ngpt-image-1`)],
      ["name* (RFC 7578 forbids it)", form(`Content-Disposition: form-data; name*=UTF-8''model\r\n\r\ngpt-image-1`)],
      ["a second Content-Disposition", form(`Content-Disposition: form-data; name="prompt"\r\nContent-Disposition: form-data; name="model"\r\n\r\nx`)],
      ["a folded header line", form(`Content-Disposition: form-data;\r\n name="model"\r\n\r\nx`)],
      ["a part that is not form-data", form(`Content-Disposition: attachment; name="model"\r\n\r\nx`)],
      ["a part with no name", form(`Content-Disposition: form-data\r\n\r\nx`)],
      ["a body cut short", enc.encode(`--XyZ\r\n${field("model", "gpt-image-2")}`)],
      ["a body with no boundary line", enc.encode(field("model", "gpt-image-2"))]
    ]
    for (const [what, body] of refused) assert.ok(read(body) instanceof InvalidRequest, what)
    assert.ok(read(form(field("model", "x")), "multipart/form-data") instanceof InvalidRequest, "no boundary")
    assert.ok(read(form(field("model", "x")), "multipart/form-data; boundary=XyZ; boundary=Other") instanceof InvalidRequest, "two boundaries")
  })

  it("takes what the standard allows: a preamble, a quoted boundary, token parameters, quoted-pairs, transport padding", () => {
    const body = enc.encode(
      `preamble\r\n--XyZ  \r\nContent-Disposition: form-data; name=model\r\n\r\ngpt-image-2\r\n--XyZ\r\ncontent-disposition: FORM-DATA;name="say \\"hi\\""\r\n\r\nhello\r\n--XyZ--\r\nepilogue`
    )
    const parsed = read(body, 'multipart/form-data; boundary="XyZ"')
    assert.ok(!(parsed instanceof InvalidRequest))
    assert.deepEqual(parsed.fields, { model: "gpt-image-2", 'say "hi"': "hello" })
  })

  it("for any form, generated or mutated, what it accepts is exactly what an independent reader sees in the rebuilt body", () => {
    const names = fc.constantFrom("model", "n", "size", "quality", "prompt", "image[]", "mask", "xname", "Model")
    const value = fc.string({ maxLength: 12 }).filter((text) => !text.includes("--XyZ") && !/[\r\n]$/.test(text))
    const part = fc.oneof(
      fc.tuple(names, value).map(([name, text]) => field(name, text)),
      fc.tuple(names, value).map(([name, text]) => file(name, "f.png", text)),
      fc.tuple(names, names, value).map(([a, b, text]) => `Content-Disposition: form-data; ${a}="${b}"; name="${b}"\r\n\r\n${text}`),
      fc.tuple(names, value).map(([name, text]) => `Content-Disposition: form-data; name = ${name} ;filename="x"\r\n\r\n${text}`),
      fc.tuple(names, value).map(([name, text]) => `Content-Disposition: form-data; name="${name}"\n\n${text}`),
      fc.tuple(names, value).map(([name, text]) => `Content-Disposition:form-data;name="${name}";filename*=x\r\n\r\n${text}`)
    )
    // Mutations of the bytes too: a cut, a byte changed, a byte inserted.
    const mutation = fc.oneof(
      fc.constant((bytes: Uint8Array) => bytes),
      fc.nat().map((at) => (bytes: Uint8Array) => bytes.subarray(0, at % (bytes.length + 1))),
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => (bytes: Uint8Array) => {
        const out = bytes.slice()
        if (out.length > 0) out[at % out.length] = byte
        return out
      }),
      fc.tuple(fc.nat(), fc.constantFrom(0x22, 0x3b, 0x0d, 0x0a, 0x2d, 0x3d)).map(([at, byte]) => (bytes: Uint8Array) => {
        const i = at % (bytes.length + 1)
        return Uint8Array.of(...bytes.subarray(0, i), byte, ...bytes.subarray(i))
      })
    )
    let accepted = 0
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 6 }), mutation, (parts, mutate) => {
        const parsed = readForm(mutate(form(...parts)), TYPE)
        if (parsed instanceof InvalidRequest) return
        const fields = formFields(parsed.body, parsed.parts)
        if (fields instanceof InvalidRequest) return
        accepted++
        const seen = readMultipart(Buffer.from(parsed.body), parsed.contentType)
        assert.deepEqual(seen.fields, fields)
        assert.deepEqual(seen.files.map((f) => f.field), parsed.parts.filter((p) => p.filename !== undefined).map((p) => p.name))
      }),
      { numRuns: 3_000 }
    )
    assert.ok(accepted > 100, `enough forms were accepted to mean something (${accepted})`)
  })
})
