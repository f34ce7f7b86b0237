import assert from "node:assert/strict"
import type { CredentialsShape, Sealed } from "../../core/index.ts"
import { type ContractCase, run } from "./contract.ts"

const sealed = (keyId: string, byte: number): Sealed => ({
  keyId,
  iv: new Uint8Array(12).fill(byte),
  ciphertext: new Uint8Array([byte, byte + 1, byte + 2])
})

const bytes = (value: Sealed) => ({ keyId: value.keyId, iv: [...value.iv], ciphertext: [...value.ciphertext] })

/** The Credentials port's contract: `make` answers a fresh, empty store each time. */
export const credentialsContract = (make: () => Promise<CredentialsShape>): ReadonlyArray<ContractCase> => [
  {
    name: "a credential is stored sealed and read back byte for byte",
    run: async () => {
      const store = await make()
      const put = await run(store.put("a", "openai", sealed("k1", 1), "abcd"))
      assert.deepEqual([put.accountId, put.provider, put.hint, bytes(put.sealed)], ["a", "openai", "abcd", bytes(sealed("k1", 1))])
      const got = await run(store.get("a", "openai"))
      assert.deepEqual(bytes(got!.sealed), bytes(sealed("k1", 1)))
      assert.equal(typeof got!.createdAt, "number")
      assert.equal(await run(store.get("a", "anthropic")), undefined)
      assert.equal(await run(store.get("b", "openai")), undefined)
    }
  },
  {
    name: "one credential per account and provider: a second put replaces the first",
    run: async () => {
      const store = await make()
      await run(store.put("a", "openai", sealed("k1", 1), "abcd"))
      await run(store.put("a", "openai", sealed("k1", 5), "wxyz"))
      await run(store.put("a", "anthropic", sealed("k1", 9), "efgh"))
      await run(store.put("b", "openai", sealed("k1", 3), "ijkl"))
      const listed = await run(store.list("a"))
      assert.deepEqual(listed.map((c) => [c.provider, c.hint]), [["anthropic", "efgh"], ["openai", "wxyz"]])
      assert.equal((await run(store.all())).length, 3)
    }
  },
  {
    name: "a re-seal replaces the sealed secret and keeps the hint",
    run: async () => {
      const store = await make()
      await run(store.put("a", "openai", sealed("k1", 1), "abcd"))
      await run(store.reseal("a", "openai", sealed("k2", 7)))
      const got = await run(store.get("a", "openai"))
      assert.deepEqual([got?.hint, bytes(got!.sealed)], ["abcd", bytes(sealed("k2", 7))])
    }
  },
  {
    name: "a removal answers whether there was a credential",
    run: async () => {
      const store = await make()
      await run(store.put("a", "openai", sealed("k1", 1), "abcd"))
      assert.equal(await run(store.remove("a", "openai")), true)
      assert.equal(await run(store.remove("a", "openai")), false)
      assert.deepEqual(await run(store.list("a")), [])
    }
  }
]
