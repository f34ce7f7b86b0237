import type { Sealed } from "./ports/index.ts"
import type { KeyringShape } from "./services.ts"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * Seals `secret` under the current master key. `context` (say, account and provider) is bound as
 * additional data, so a sealed row copied to another account or provider does not open.
 */
export const seal = async (keyring: KeyringShape, secret: string, context: string): Promise<Sealed> => {
  const master = keyring.current
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(context) }, master.key, encoder.encode(secret))
  )
  return { keyId: master.id, iv, ciphertext }
}

/** Opens a sealed secret; throws if its key is gone or the row was altered. */
export const openSealed = async (keyring: KeyringShape, sealed: Sealed, context: string): Promise<string> => {
  const master = keyring.find(sealed.keyId)
  if (master === undefined) throw new Error(`master key ${sealed.keyId} is not in the keyring`)
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: sealed.iv, additionalData: encoder.encode(context) },
    master.key,
    sealed.ciphertext
  )
  return decoder.decode(plain)
}
