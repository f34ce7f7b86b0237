import { Context, Effect, Layer } from "effect"
import {
  AccountLimits,
  type LimitOverrides,
  NO_OVERRIDES,
  Accounts,
  AuditLog,
  type StoredAuditEntry,
  type Balance,
  type Caller,
  Credentials,
  formatUsd,
  type KeyBudgetSpent,
  Ledger,
  NO_RESTRICTIONS,
  type Reservation,
  randomBase62,
  type StoredAccount,
  type StoredCredential,
  type StoredKey,
  type UsageRecord,
  UsageRecords,
  type UsageRecordView,
  withinMoneyLimit
} from "../../core/index.ts"

/**
 * Stores written apart from the relay's own, from the ports' contracts alone, that keep
 * everything in memory and answer every call a moment later (as a store a network away
 * would): the contract suites hold them to the same behaviour as the shipped ones, so the
 * suites, not the SQLite code, say what a port promises.
 */
const later = <A>(answer: () => A): Effect.Effect<A> => Effect.andThen(Effect.sleep(1), Effect.sync(answer))

export const memoryAccounts: Layer.Layer<Accounts> = Layer.sync(Accounts, () => {
  const accounts = new Map<string, StoredAccount>()
  const keys = new Map<string, StoredKey & { readonly hash: string }>()
  const callerOf = (key: (StoredKey & { readonly hash: string }) | undefined): Caller | undefined => {
    const account = key === undefined || key.revoked_at !== null ? undefined : accounts.get(key.account_id)
    return key === undefined || account === undefined || account.deletedAt !== null ? undefined : { keyId: key.id, account, key: key.restrictions }
  }
  const create = (name: string, tier: string): StoredAccount => {
    const account = { id: `acct_${randomBase62(16)}`, name, tier, createdAt: Date.now(), suspendedAt: null, deletedAt: null }
    accounts.set(account.id, account)
    return account
  }
  const shown = ({ hash: _, ...key }: StoredKey & { readonly hash: string }): StoredKey => key
  return Accounts.of({
    account: (id) => later(() => accounts.get(id)),
    accounts: () => later(() => [...accounts.values()].filter((account) => account.deletedAt === null)),
    createAccount: (name, tier) => later(() => create(name, tier)),
    createFirstAccount: (name, tier) => later(() => (accounts.size === 0 ? create(name, tier) : undefined)),
    updateAccount: (id, changes) =>
      later(() => {
        const account = accounts.get(id)
        if (account === undefined) return undefined
        const updated = {
          ...account,
          tier: changes.tier ?? account.tier
        }
        accounts.set(id, updated)
        return updated
      }),
    setSuspended: (id, suspended) =>
      later(() => {
        const account = accounts.get(id)
        if (account === undefined || account.deletedAt !== null) return undefined
        const updated = { ...account, suspendedAt: suspended ? Date.now() : null }
        accounts.set(id, updated)
        return updated
      }),
    deleteAccount: (id) =>
      later(() => {
        const account = accounts.get(id)
        if (account === undefined || account.deletedAt !== null) return false
        const at = Date.now()
        accounts.set(id, { ...account, deletedAt: at })
        for (const key of keys.values()) if (key.account_id === id && key.revoked_at === null) keys.set(key.id, { ...key, revoked_at: at })
        return true
      }),
    createKey: (accountId, name, { prefix, hash }, restrictions = NO_RESTRICTIONS) =>
      later(() => {
        const key = { id: `key_${randomBase62(16)}`, account_id: accountId, name, prefix, hash, created_at: Date.now(), revoked_at: null, restrictions }
        keys.set(key.id, key)
        return shown(key)
      }),
    updateKey: (id, { name, ...changes }) =>
      later(() => {
        const key = keys.get(id)
        if (key === undefined) return undefined
        const restrictions = { ...key.restrictions }
        for (const [field, value] of Object.entries(changes)) if (value !== undefined) Object.assign(restrictions, { [field]: value })
        const updated = { ...key, name: name === undefined ? key.name : name, restrictions }
        keys.set(id, updated)
        return shown(updated)
      }),
    keys: (accountId) => later(() => [...keys.values()].filter((key) => key.account_id === accountId).map(shown)),
    key: (id) =>
      later(() => {
        const key = keys.get(id)
        return key === undefined ? undefined : shown(key)
      }),
    revokeKey: (id) =>
      later(() => {
        const key = keys.get(id)
        if (key === undefined || key.revoked_at !== null) return false
        keys.set(id, { ...key, revoked_at: Date.now() })
        return true
      }),
    callerByHash: (hash) => later(() => callerOf([...keys.values()].find((key) => key.hash === hash))),
    callerByKeyId: (keyId) => later(() => callerOf(keys.get(keyId)))
  })
})

const DAY_MS = 86_400_000

const view = (record: UsageRecord): UsageRecordView => ({
  id: record.requestId,
  created_at: new Date(record.createdAt).toISOString(),
  surface: record.surface,
  model: record.model,
  provider: record.provider ?? null,
  byok: record.byok,
  status: record.status,
  prompt_tokens: record.usage.promptTokens,
  completion_tokens: record.usage.completionTokens,
  cached_tokens: record.usage.cachedTokens,
  cache_write_tokens: record.usage.cacheWriteTokens,
  image_input_tokens: record.usage.imageInputTokens,
  image_output_tokens: record.usage.imageOutputTokens,
  cost: formatUsd(record.cost),
  usage_source: record.usage.source,
  latency_ms: record.latencyMs,
  ttfb_ms: record.ttfbMs ?? null
})

/** Balances, holds and usage records in memory: every write is durable at once. */
export const memoryBilling: Layer.Layer<Ledger | UsageRecords> = Layer.effectContext(Effect.sync(() => {
  const balances = new Map<string, bigint>()
  const held = new Map<string, bigint>()
  const keyHeld = new Map<string, bigint>()
  /** Charges per key and UTC day. */
  const keySpend = new Map<string, Map<number, bigint>>()
  const records: Array<UsageRecord> = []
  const spentSince = (key: string, since: number) => {
    let sum = 0n
    for (const [day, amount] of keySpend.get(key) ?? []) if (day >= since) sum += amount
    return sum
  }
  const balanceOf = (account: string) => balances.get(account) ?? 0n
  const heldBy = (account: string) => held.get(account) ?? 0n
  const hold = (account: string, delta: bigint) => held.set(account, heldBy(account) + delta)
  const open = new WeakSet<Reservation>()
  const release = (reservation: Reservation | undefined) => {
    if (reservation === undefined || !open.has(reservation)) return
    open.delete(reservation)
    hold(reservation.account, -reservation.amount)
    if (reservation.key !== undefined) keyHeld.set(reservation.key, (keyHeld.get(reservation.key) ?? 0n) - reservation.amount)
  }
  const ledger = Ledger.of({
    read: (account) => later((): Balance => ({ balance: balanceOf(account), reserved: heldBy(account) })),
    reserve: (account, amount, budget) =>
      later(() => {
        if (budget !== undefined) {
          const spent = spentSince(budget.key, budget.since)
          const reserved = keyHeld.get(budget.key) ?? 0n
          if (spent + reserved + amount > budget.limit || spent + reserved >= budget.limit) {
            return { key: budget.key, limit: budget.limit, spent, reserved } satisfies KeyBudgetSpent
          }
        }
        const balance = balanceOf(account)
        const reserved = heldBy(account)
        if (balance - reserved < amount) return { balance, reserved }
        const reservation = { account, amount, key: budget?.key }
        open.add(reservation)
        hold(account, amount)
        if (budget !== undefined) keyHeld.set(budget.key, (keyHeld.get(budget.key) ?? 0n) + amount)
        return reservation
      }),
    keySpent: (key, since) => later(() => spentSince(key, since)),
    release: (reservation) => later(() => release(reservation)),
    settle: ({ account, reservation, cost, key, record }) =>
      later(() => {
        release(reservation)
        const available = balanceOf(account) - heldBy(account)
        const charged = cost <= available ? cost : available > 0n ? available : 0n
        balances.set(account, balanceOf(account) - charged)
        const left = key?.limit === undefined ? charged : key.limit.amount - spentSince(key.id, key.limit.since)
        const counted = charged <= left ? charged : left > 0n ? left : 0n
        if (key !== undefined && counted > 0n) {
          const days = keySpend.get(key.id) ?? new Map<number, bigint>()
          days.set(key.day, (days.get(key.day) ?? 0n) + counted)
          keySpend.set(key.id, days)
        }
        records.push(record(charged))
        return { charged, committed: Effect.succeed(charged) }
      }),
    credit: (account, amount) =>
      later(() => {
        const next = balanceOf(account) + amount
        if (!withinMoneyLimit(amount) || !withinMoneyLimit(next)) return false
        balances.set(account, next)
        return true
      }),
    flush: () => later(() => undefined),
    pending: () => later(() => 0),
    stopRetrying: () => later(() => undefined)
  })
  const usage = UsageRecords.of({
    list: (accountId, limit) => later(() => records.filter((r) => r.accountId === accountId).reverse().slice(0, limit).map(view)),
    dailySpend: (accountId, days) =>
      later(() => {
        const since = (Math.floor(Date.now() / DAY_MS) - days + 1) * DAY_MS
        const perDay = new Map<string, bigint>()
        for (const record of records) {
          if (record.accountId !== accountId || record.createdAt < since) continue
          const day = new Date(Math.floor(record.createdAt / DAY_MS) * DAY_MS).toISOString().slice(0, 10)
          perDay.set(day, (perDay.get(day) ?? 0n) + record.cost)
        }
        return [...perDay].sort(([a], [b]) => a.localeCompare(b)).map(([day, cost]) => ({ day, cost }))
      }),
    spendBy: (by, days) =>
      later(() => {
        const since = (Math.floor(Date.now() / DAY_MS) - days + 1) * DAY_MS
        const sums = new Map<string, { day: string; name: string; cost: bigint }>()
        for (const record of records) {
          if (record.createdAt < since) continue
          const day = new Date(Math.floor(record.createdAt / DAY_MS) * DAY_MS).toISOString().slice(0, 10)
          const name = by === "account" ? record.accountId : record.model
          const row = sums.get(`${day} ${name}`) ?? { day, name, cost: 0n }
          sums.set(`${day} ${name}`, { ...row, cost: row.cost + record.cost })
        }
        return [...sums.values()].filter((row) => row.cost > 0n).sort((a, b) => a.day.localeCompare(b.day) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      })
  })
  return Context.make(Ledger, ledger).pipe(Context.add(UsageRecords, usage))
}))

/** Sealed credentials in memory, one per account and provider. */
export const memoryCredentials: Layer.Layer<Credentials> = Layer.sync(Credentials, () => {
  const stored = new Map<string, StoredCredential>()
  const keyOf = (accountId: string, provider: string) => `${accountId}\u0000${provider}`
  return Credentials.of({
    put: (accountId, provider, sealed, hint) =>
      later(() => {
        const credential = { accountId, provider, sealed, hint, createdAt: Date.now() }
        stored.set(keyOf(accountId, provider), credential)
        return credential
      }),
    get: (accountId, provider) => later(() => stored.get(keyOf(accountId, provider))),
    list: (accountId) =>
      later(() => [...stored.values()].filter((c) => c.accountId === accountId).sort((a, b) => a.provider.localeCompare(b.provider))),
    all: () => later(() => [...stored.values()]),
    reseal: (accountId, provider, sealed) =>
      later(() => {
        const credential = stored.get(keyOf(accountId, provider))
        if (credential !== undefined) stored.set(keyOf(accountId, provider), { ...credential, sealed })
      }),
    remove: (accountId, provider) => later(() => stored.delete(keyOf(accountId, provider)))
  })
})

export const memoryAccountLimits: Layer.Layer<AccountLimits> = Layer.sync(AccountLimits, () => {
  const overrides = new Map<string, LimitOverrides>()
  return AccountLimits.of({
    get: (accountId) => later(() => overrides.get(accountId) ?? NO_OVERRIDES),
    set: (accountId, changes) =>
      later(() => {
        const current = overrides.get(accountId) ?? NO_OVERRIDES
        const next = { rpm: changes.rpm === undefined ? current.rpm : changes.rpm, tpm: changes.tpm === undefined ? current.tpm : changes.tpm }
        overrides.set(accountId, next)
        return next
      })
  })
})

/** The audit log in memory, newest last. */
export const memoryAuditLog: Layer.Layer<AuditLog> = Layer.sync(AuditLog, () => {
  const entries: Array<StoredAuditEntry> = []
  return AuditLog.of({
    record: (entry) => later(() => void entries.push({ ...entry, id: entries.length + 1 })),
    list: ({ accountId, before, limit }) =>
      later(() =>
        entries
          .filter((e) => (accountId === undefined || e.accountId === accountId) && (before === undefined || e.id < before))
          .reverse()
          .slice(0, limit)
      )
  })
})

/**
 * A charge journal in memory, for the ledger's tests: `text` is what a file would hold (a test
 * may tear it or put back what a crash left), and `refusing` makes each append throw as a full
 * disk would, having written `partial` characters of it first.
 */
export const memoryChargeJournal = () => {
  const journal = {
    text: "",
    refusing: undefined as string | undefined,
    partial: 0,
    appends: 0,
    append: (text: string) => {
      if (journal.refusing !== undefined) {
        journal.text += text.slice(0, journal.partial)
        throw new Error(journal.refusing)
      }
      journal.appends++
      journal.text += text
    },
    read: () => journal.text,
    clear: () => {
      journal.text = ""
    }
  }
  return journal
}
