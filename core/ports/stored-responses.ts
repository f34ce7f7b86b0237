import { Context, type Effect } from "effect"

/**
 * One response an account may continue, read or delete. `provider` is set for a response its
 * provider keeps itself (OpenAI): the relay then knows only whose it is. Otherwise the relay
 * keeps the response object and every input item it answered.
 */
export interface StoredResponse {
  readonly id: string
  readonly provider: string | null
  readonly byok: boolean
  readonly response: Record<string, unknown> | undefined
  readonly input: ReadonlyArray<unknown>
}

/** What is kept of a response: the object and its input only when the relay answered it itself. */
export interface ResponseEntry {
  readonly id: string
  readonly provider: string | null
  readonly byok: boolean
  readonly response?: unknown
  readonly input?: unknown
}

/**
 * Responses kept for `previous_response_id`, by account. Times are the caller's clock in epoch
 * ms, so every node of a relay agrees when one expires.
 */
export interface StoredResponsesShape {
  /** Keeps a response until `expiresAt`; a second put of the same id changes nothing. */
  readonly put: (account: string, entry: ResponseEntry, now: number, expiresAt: number) => Effect.Effect<void>
  /** The account's response by id; another account's, or an expired one, is not found. */
  readonly get: (account: string, id: string, now: number) => Effect.Effect<StoredResponse | undefined>
  /** True when the account had such a response. */
  readonly remove: (account: string, id: string) => Effect.Effect<boolean>
}

export class StoredResponses extends Context.Service<StoredResponses, StoredResponsesShape>()("relay/StoredResponses") {}
