import { Context, type Effect } from "effect"
import type { Account, Caller, KeyRestrictions } from "../context.ts"

/** A relay key as stored: its hash is never read back, only matched. Times in epoch ms. */
export interface StoredKey {
  readonly id: string
  readonly account_id: string
  readonly name: string | null
  /** The key's first characters, to tell keys apart. */
  readonly prefix: string
  readonly created_at: number
  readonly revoked_at: number | null
  /** What the key may do beyond its account's own rules (none: everything the account may). */
  readonly restrictions: KeyRestrictions
}

export type StoredAccount = Account & {
  readonly createdAt: number
  /** When it was deleted: its keys are revoked, its usage and ledger kept; it is listed no more. */
  readonly deletedAt: number | null
}

/** What a key update writes: a field left undefined keeps its value, `null` clears it. */
export type KeyUpdate = { readonly [F in keyof KeyRestrictions]?: KeyRestrictions[F] | undefined } & {
  readonly name?: string | null | undefined
}

/** What an account update writes. */
export interface AccountUpdate {
  readonly tier?: string | undefined
}

/**
 * Accounts and their relay keys, stored. Keys are kept as SHA-256 hashes; the rules (name
 * lengths, known tiers, caching) belong to the plugin that uses this port, not to the store.
 */
export interface AccountsShape {
  readonly account: (id: string) => Effect.Effect<StoredAccount | undefined>
  /** Every account, oldest first. */
  readonly accounts: () => Effect.Effect<ReadonlyArray<StoredAccount>>
  readonly createAccount: (name: string, tier: string) => Effect.Effect<StoredAccount>
  /**
   * Creates the store's first account, undefined if it has one already: of several processes
   * starting together on a new store, exactly one creates it (check and insert are one step).
   */
  readonly createFirstAccount: (name: string, tier: string) => Effect.Effect<StoredAccount | undefined>
  /** Applies the changes; undefined when there is no such account. */
  readonly updateAccount: (id: string, changes: AccountUpdate) => Effect.Effect<StoredAccount | undefined>
  /** Suspends (`true`) or resumes an account; undefined when there is no such account. */
  readonly setSuspended: (id: string, suspended: boolean) => Effect.Effect<StoredAccount | undefined>
  /**
   * Marks the account deleted and revokes every key of it in one step, keeping its rows (usage
   * and ledger refer to them); false when there was no such account left to delete.
   */
  readonly deleteAccount: (id: string) => Effect.Effect<boolean>
  readonly createKey: (
    accountId: string,
    name: string | null,
    key: { readonly prefix: string; readonly hash: string },
    restrictions?: KeyRestrictions
  ) => Effect.Effect<StoredKey>
  /** Changes a key's name or restrictions; undefined when there is no such key. */
  readonly updateKey: (id: string, changes: KeyUpdate) => Effect.Effect<StoredKey | undefined>
  /** An account's keys, revoked ones included, oldest first. */
  readonly keys: (accountId: string) => Effect.Effect<ReadonlyArray<StoredKey>>
  readonly key: (id: string) => Effect.Effect<StoredKey | undefined>
  /** True when the key existed and was active. */
  readonly revokeKey: (id: string) => Effect.Effect<boolean>
  /** Who holds the active key with this hash. */
  readonly callerByHash: (hash: string) => Effect.Effect<Caller | undefined>
  /** Who holds the active key with this id. */
  readonly callerByKeyId: (keyId: string) => Effect.Effect<Caller | undefined>
}

export class Accounts extends Context.Service<Accounts, AccountsShape>()("relay/Accounts") {}
