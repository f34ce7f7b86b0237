import { Context, type Effect } from "effect"

/** A secret sealed with AES-256-GCM under one master key, named by its fingerprint. */
export interface Sealed {
  readonly keyId: string
  readonly iv: Uint8Array<ArrayBuffer>
  readonly ciphertext: Uint8Array<ArrayBuffer>
}

/** A stored BYOK credential: sealed, with the last characters of the key as a hint. */
export interface StoredCredential {
  readonly accountId: string
  readonly provider: string
  readonly sealed: Sealed
  readonly hint: string
  /** Epoch ms. */
  readonly createdAt: number
}

/**
 * The accounts' own provider keys, one per account and provider, stored sealed only: the
 * store never sees a plaintext key, nor the master key.
 */
export interface CredentialsShape {
  /** Stores a credential, replacing an earlier one for the same account and provider. */
  readonly put: (accountId: string, provider: string, sealed: Sealed, hint: string) => Effect.Effect<StoredCredential>
  readonly get: (accountId: string, provider: string) => Effect.Effect<StoredCredential | undefined>
  /** An account's credentials, by provider. */
  readonly list: (accountId: string) => Effect.Effect<ReadonlyArray<StoredCredential>>
  /** Every credential: a master key rotation re-seals them. */
  readonly all: () => Effect.Effect<ReadonlyArray<StoredCredential>>
  /** Replaces the sealed secret of a credential, keeping its hint and date. */
  readonly reseal: (accountId: string, provider: string, sealed: Sealed) => Effect.Effect<void>
  /** True when there was a credential to delete. */
  readonly remove: (accountId: string, provider: string) => Effect.Effect<boolean>
}

export class Credentials extends Context.Service<Credentials, CredentialsShape>()("relay/Credentials") {}
