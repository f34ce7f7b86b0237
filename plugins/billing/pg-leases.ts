import type { Sql } from "postgres"
import { randomBase62, type Reservation, withinBound } from "../../core/index.ts"

/**
 * Balance leases: a node sets a slice of an account's balance aside in PostgreSQL in one round
 * trip, and then serves that account's reservations from the slice in memory, with no round
 * trip, while it lasts. A slice is a reservation row like any other (held in the balance's
 * `reserved_nano`, named by its node, renewed with the node's other rows and freed by the
 * surviving nodes once its lease lapses), so no node can spend it twice and a node that dies
 * frees it like its other holds.
 *
 * Exactness near the floor: a slice is taken only while the account's available balance is far
 * above the reservation (LEASE_FAR_SLICES slices of LEASE_SLICE_RESERVATIONS each); below that,
 * every reservation is one row as before, so a balance that covers five reservations admits
 * exactly five. A node whose slice no longer covers a reservation gives the slice's free part
 * back in the same statement that reserves anew, and an idle slice goes back within
 * LEASE_IDLE_MS, so money another node could use sits unused in a slice only briefly.
 *
 * A settle charges a lease's hold against the slice: the slice shrinks by what it covered of the
 * charge (in the settle's own statement), the hold's rest returns to the slice.
 */

/** A slice holds this many reservations of the size that asked for it. */
export const LEASE_SLICE_RESERVATIONS = 16n

/** A slice is taken only while the account's available balance covers this many slices. */
export const LEASE_FAR_SLICES = 8n

/** A slice with no hold for this long is given back. */
export const LEASE_IDLE_MS = 1_000

/** One slice of an account's balance held by this node: its row, as this node knows it. */
export interface Lease {
  readonly id: string
  readonly account: string
  /**
   * What the slice holds, less what settles not yet written have taken from it: never more
   * than its row holds, so the node never hands out money the row does not cover.
   */
  amount: bigint
  /** Held by this node's requests in flight. */
  used: bigint
  /** Settles of its holds not yet written (the row must outlive them). */
  unwritten: number
  /** Until when the row surely stands, by this node's clock: renewed with the node's leases. */
  until: number
  /** Whether it may hand out new holds (a newer slice replaced it, or its row is gone). */
  open: boolean
  lastUsed: number
}

/** A reservation served from a slice: it has no row of its own. */
export interface LeaseHold extends Reservation {
  readonly id: null
  readonly lease: Lease
  /** Still held (neither settled nor released). */
  open: boolean
}

/** What a reserve in PostgreSQL gave: a hold of its own row, a new slice, or nothing (the balance then). */
type Reserved =
  | { readonly kind: "hold"; readonly balance: bigint; readonly reserved: bigint }
  | { readonly kind: "lease"; readonly balance: bigint; readonly reserved: bigint }
  | { readonly kind: "none"; readonly balance: bigint; readonly reserved: bigint }

export const makeLeases = (sql: Sql<{ bigint: bigint }>, node: string, leaseMs: number, orphans: Set<string>) => {
  /** The slice each account's reservations are served from now. */
  const current = new Map<string, Lease>()
  /** Every slice whose row this node holds, current or draining. */
  const all = new Map<string, Lease>()
  /**
   * The last reservation of each account in PostgreSQL: this node's go one after the other, so
   * each sees the slice the one before took (one slice serves many, none is left stranded), and
   * PostgreSQL would take them one at a time anyway (they lock the balance's row).
   */
  const inDatabase = new Map<string, Promise<unknown>>()

  const fits = (lease: Lease | undefined, amount: bigint, now: number): lease is Lease =>
    lease !== undefined && lease.open && now + leaseMs / 3 < lease.until && lease.amount - lease.used >= amount

  const holdFrom = (lease: Lease, account: string, amount: bigint, now: number): LeaseHold => {
    lease.used += amount
    lease.lastUsed = now
    return { account, amount, id: null, lease, open: true }
  }

  /**
   * One round trip: gives back the free part of this node's slice of the account (if any), then
   * takes a new slice when the balance is far above `amount`, else holds `amount` in a row of
   * its own when the balance covers it.
   */
  const reserveInDatabase = async (account: string, amount: bigint, holdId: string): Promise<{ readonly reserved: Reserved; readonly lease?: Lease }> => {
    const previous = current.get(account)
    const giveBack = previous === undefined || !previous.open ? 0n : previous.amount - previous.used
    // A slice none of whose holds is open or unwritten goes whole, in this same round trip.
    const drop = previous !== undefined && previous.used === 0n && previous.unwritten === 0
    const leaseId = `lse_${randomBase62(20)}`
    const slice = amount * LEASE_SLICE_RESERVATIONS
    const expires = Date.now() + leaseMs
    const statement = sql<Array<{ kind: "hold" | "lease" | "none"; balance_nano: bigint; reserved_nano: bigint }>>`
      SELECT * FROM relay_reserve_or_lease(${holdId}, ${leaseId}, ${account}, ${amount}::bigint, ${slice}::bigint,
        ${slice * LEASE_FAR_SLICES}::bigint, ${previous?.id ?? null}::text, ${giveBack}::bigint, ${drop}, ${node}, ${expires}::bigint)`
    if (previous !== undefined) {
      // Its free part goes back now: it hands out nothing more, and drains.
      previous.open = false
      previous.amount -= giveBack
      current.delete(account)
      if (drop) all.delete(previous.id)
    }
    const [row] = await withinBound(statement).catch((error: unknown) => {
      // It may have been written: whichever row it made goes at the next renewal.
      orphans.add(holdId)
      orphans.add(leaseId)
      if (drop) orphans.add(previous.id)
      throw error
    })
    const reserved = { kind: row!.kind, balance: row!.balance_nano, reserved: row!.reserved_nano }
    if (reserved.kind !== "lease") return { reserved }
    const lease: Lease = { id: leaseId, account, amount: slice, used: 0n, unwritten: 0, until: expires, open: true, lastUsed: Date.now() }
    all.set(leaseId, lease)
    current.set(account, lease)
    return { reserved, lease }
  }

  return {
    /** A hold from this node's slice of the account, when the slice covers `amount`; no round trip. */
    fromSlice: (account: string, amount: bigint): LeaseHold | undefined => {
      const now = Date.now()
      const lease = current.get(account)
      return fits(lease, amount, now) ? holdFrom(lease, account, amount, now) : undefined
    },

    /**
     * Reserves `amount` in PostgreSQL (one round trip), as a slice when the balance is far above
     * it; after the account's reservations before it, whose slice may serve it instead.
     */
    reserve: async (account: string, amount: bigint): Promise<LeaseHold | { readonly id: string } | Reserved> => {
      const reserving = (inDatabase.get(account) ?? Promise.resolve()).catch(() => undefined).then(async () => {
        const now = Date.now()
        const served = current.get(account)
        if (fits(served, amount, now)) return holdFrom(served, account, amount, now)
        const holdId = `res_${randomBase62(20)}`
        const { reserved, lease } = await reserveInDatabase(account, amount, holdId)
        if (lease !== undefined) return holdFrom(lease, account, amount, Date.now())
        return reserved.kind === "hold" ? { id: holdId } : reserved
      })
      inDatabase.set(account, reserving)
      try {
        return await reserving
      } finally {
        if (inDatabase.get(account) === reserving) inDatabase.delete(account)
      }
    },

    /** Lets a hold of a slice go, charging nothing: its money stays in the slice. */
    release: (hold: LeaseHold) => {
      if (!hold.open) return
      hold.open = false
      hold.lease.used -= hold.amount
    },

    /**
     * A hold of a slice settles for `cost`: what of the charge the hold covers leaves the slice
     * (its settle statement takes it from the row, see postgres.ts), the rest of the hold returns
     * to it. Answers what leaves the slice.
     */
    settle: (hold: LeaseHold, cost: bigint): bigint => {
      const taken = cost < hold.amount ? cost : hold.amount
      if (hold.open) {
        hold.open = false
        hold.lease.used -= hold.amount
      }
      hold.lease.amount -= taken
      hold.lease.unwritten++
      return taken
    },

    /** A settle of a slice's hold was written, or never will be. */
    written: (hold: LeaseHold) => {
      hold.lease.unwritten--
    },

    /** The rows of slices to give back now: drained ones no longer current, and idle ones. */
    idle: (now: number): Array<string> => {
      const done: Array<string> = []
      for (const lease of all.values()) {
        if (lease.used > 0n || lease.unwritten > 0) continue
        if (lease.open && now - lease.lastUsed < LEASE_IDLE_MS) continue
        lease.open = false
        if (current.get(lease.account) === lease) current.delete(lease.account)
        all.delete(lease.id)
        done.push(lease.id)
      }
      return done
    },

    /**
     * The node renewed its rows at `at`: the slices whose rows came back stand until `at` plus
     * the lease; a slice whose row is gone (the others freed it while this node could not renew)
     * hands out nothing more.
     */
    renewed: (at: number, rows: ReadonlySet<string>) => {
      for (const lease of all.values()) {
        if (rows.has(lease.id)) lease.until = at + leaseMs
        // (A slice taken after the renewal began is not among its rows, and stands.)
        else if (lease.until < at + leaseMs) lease.open = false
      }
    },

    /** Every slice's row, for the node's stop. */
    rows: (): Array<string> => [...all.keys()]
  }
}

export type Leases = ReturnType<typeof makeLeases>
