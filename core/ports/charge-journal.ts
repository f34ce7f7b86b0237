import { Context } from "effect"

/**
 * An append-only file where a settled request's charge becomes durable first: one append per
 * batch of charges, as durable as a SQLite commit under `synchronous = NORMAL` (it survives the
 * process, not a power cut). The ledger writes the charges into the store after that, off the
 * answer's path, and empties the journal once they are all there; at start it writes what the
 * store does not have yet. Synchronous, like the Sql service: a settle decides and appends in
 * one step.
 */
export interface ChargeJournalShape {
  /**
   * Appends `text` (whole lines) in one write. Throws when the write is refused (a full disk),
   * having written any part of it: the caller starts its next append on a new line.
   */
  readonly append: (text: string) => void
  /** Everything appended since the last `clear`; its last line may be torn by a crash. */
  readonly read: () => string
  /** Empties it: everything in it is in the store. */
  readonly clear: () => void
}

/** The relay's charge journal, beside its SQLite store; absent, charges are committed straight to the store. */
export class ChargeJournal extends Context.Service<ChargeJournal, ChargeJournalShape>()("relay/ChargeJournal") {}
