import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { describe, it } from "node:test"
import { bearerToken } from "../../core/bearer.ts"
import { randomBase62, secretsEqual, sha256Hex } from "../../core/secrets.ts"
import { generateKey, isRelayKeyShape, KEY_PREFIX, keyFromHeaders } from "../../plugins/keys/api-key.ts"

describe("generateKey", () => {
  it("makes sk-rr- keys of 40 base62 characters, with a 12-character prefix", () => {
    const { key, prefix } = generateKey()
    assert.match(key, /^sk-rr-[0-9A-Za-z]{40}$/)
    assert.equal(prefix, key.slice(0, 12))
    assert.equal(prefix.length, 12)
    assert.ok(prefix.startsWith(KEY_PREFIX))
    assert.equal(isRelayKeyShape(key), true)
  })

  it("never repeats over 1000 draws, and every key has the shape", () => {
    const seen = new Set<string>()
    for (let i = 0; i < 1000; i++) {
      const { key, prefix } = generateKey()
      assert.match(key, /^sk-rr-[0-9A-Za-z]{40}$/)
      assert.equal(prefix, key.slice(0, 12))
      seen.add(key)
    }
    assert.equal(seen.size, 1000)
  })

  it("uses the whole base62 alphabet, roughly evenly", () => {
    const counts = new Map<string, number>()
    for (let i = 0; i < 500; i++) {
      for (const char of generateKey().key.slice(KEY_PREFIX.length)) counts.set(char, (counts.get(char) ?? 0) + 1)
    }
    assert.equal(counts.size, 62)
    // 20,000 draws over 62 symbols: about 322 each; a biased generator would stray far.
    for (const [char, n] of counts) assert.ok(n > 200 && n < 450, `${char} drawn ${n} times`)
  })
})

describe("isRelayKeyShape", () => {
  it("accepts relay keys and refuses other strings", () => {
    assert.equal(isRelayKeyShape(`sk-rr-${"a".repeat(32)}`), true)
    assert.equal(isRelayKeyShape(`sk-rr-${"a".repeat(31)}`), false)
    assert.equal(isRelayKeyShape(`sk-proj-${"a".repeat(40)}`), false)
    assert.equal(isRelayKeyShape(`sk-rr-${"a".repeat(39)}!`), false)
    assert.equal(isRelayKeyShape(` sk-rr-${"a".repeat(40)}`), false)
  })
})

describe("randomBase62", () => {
  it("returns exactly the asked length", () => {
    for (const length of [0, 1, 7, 40, 100]) assert.equal(randomBase62(length).length, length)
    assert.match(randomBase62(200), /^[0-9A-Za-z]{200}$/)
  })
})

describe("sha256Hex", () => {
  it("matches the standard test vectors", async () => {
    assert.equal(await sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert.equal(await sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  })

  it("hashes the UTF-8 bytes of the text", async () => {
    for (const text of ["é", "🚀 rocket", `sk-rr-${"z".repeat(40)}`]) {
      assert.equal(await sha256Hex(text), createHash("sha256").update(Buffer.from(text, "utf8")).digest("hex"), text)
    }
  })
})

describe("secretsEqual", () => {
  it("is true only for identical strings", () => {
    assert.equal(secretsEqual("sk-rr-abc", "sk-rr-abc"), true)
    assert.equal(secretsEqual("", ""), true)
    assert.equal(secretsEqual("sk-rr-abc", "sk-rr-abd"), false)
    assert.equal(secretsEqual("sk-rr-abc", "sk-rr-ab"), false)
    assert.equal(secretsEqual("sk-rr-ab", "sk-rr-abc"), false)
    assert.equal(secretsEqual("abc", ""), false)
    assert.equal(secretsEqual("", "abc"), false)
    assert.equal(secretsEqual("Abc", "abc"), false)
  })

  it("is not fooled by a prefix padded with NUL characters", () => {
    assert.equal(secretsEqual("abc", "abc\u0000"), false)
    assert.equal(secretsEqual("abc\u0000", "abc"), false)
  })
})

describe("bearerToken", () => {
  it("reads the token whatever the scheme's case, trimmed", () => {
    for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) assert.equal(bearerToken(`${scheme}   tok-1  `), "tok-1", scheme)
  })

  it("gives undefined for no header, another scheme or no token", () => {
    for (const header of [null, undefined, "", "Bearer", "Bearer    ", "Basic dXNlcjpwYXNz", "Bearertok", "tok-1"]) {
      assert.equal(bearerToken(header), undefined, String(header))
    }
  })
})

describe("keyFromHeaders", () => {
  const key = `sk-rr-${"x".repeat(40)}`

  it("reads a Bearer token, whatever the scheme's case", () => {
    for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) {
      assert.equal(keyFromHeaders(new Headers({ authorization: `${scheme} ${key}` })), key, scheme)
    }
  })

  it("trims the token", () => {
    assert.equal(keyFromHeaders(new Headers({ authorization: `Bearer   ${key}  ` })), key)
  })

  it("reads x-api-key", () => {
    assert.equal(keyFromHeaders(new Headers({ "x-api-key": key })), key)
    assert.equal(keyFromHeaders(new Headers({ "x-api-key": ` ${key} ` })), key)
  })

  it("prefers Authorization over x-api-key", () => {
    assert.equal(keyFromHeaders(new Headers({ authorization: "Bearer first", "x-api-key": "second" })), "first")
  })

  it("falls back to x-api-key when Authorization is not a Bearer token", () => {
    assert.equal(keyFromHeaders(new Headers({ authorization: "Basic dXNlcjpwYXNz", "x-api-key": key })), key)
    assert.equal(keyFromHeaders(new Headers({ authorization: "Bearer ", "x-api-key": key })), key)
  })

  it("gives undefined without a key", () => {
    assert.equal(keyFromHeaders(new Headers()), undefined)
    assert.equal(keyFromHeaders(new Headers({ authorization: "Basic abc" })), undefined)
    assert.equal(keyFromHeaders(new Headers({ authorization: "Bearer" })), undefined)
    assert.equal(keyFromHeaders(new Headers({ "x-api-key": "" })), undefined)
  })
})
