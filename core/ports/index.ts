/*
 * The ports: one Effect service per kind of state the relay keeps. Plugins provide them from
 * their own folders (SQLite by default), and anything that reads or writes state goes through
 * them, so a store a network away can take a port's place without another change.
 */
export { AccountLimits, type AccountLimitsShape, type LimitOverrides, NO_OVERRIDES, type OverrideChanges } from "./account-limits.ts"
export { type AccountsShape, Accounts, type AccountUpdate, type KeyUpdate, type StoredAccount, type StoredKey } from "./accounts.ts"
export { type AuditActor, type AuditEntry, AuditLog, type AuditLogShape, type AuditQuery, type StoredAuditEntry } from "./audit-log.ts"
export { type ConsoleSessionsShape, ConsoleSessions, type Flash, type Principal, type Session } from "./console-sessions.ts"
export { ChargeJournal, type ChargeJournalShape } from "./charge-journal.ts"
export { type CredentialsShape, Credentials, type Sealed, type StoredCredential } from "./credentials.ts"
export { type Balance, ChargeFailed, ChargeKept, type KeyBudget, type KeyBudgetSpent, type KeyCharge, Ledger, type LedgerShape, type Reservation, type Settled, type SettleInput } from "./ledger.ts"
export { combinedRegistry, ProviderRegistry, type ProviderRegistryShape } from "./provider-registry.ts"
export { type Admission, effectiveLimits, type Limits, RateWindows, type RateWindowsShape, type TokenTicket, type WindowState } from "./rate-windows.ts"
export { Fanout, type FanoutShape } from "./fanout.ts"
export { type ResponseEntry, type StoredResponse, StoredResponses, type StoredResponsesShape } from "./stored-responses.ts"
export { heuristicTokenCounting, TokenCounting, type TokenCountingShape } from "./token-counting.ts"
export { buildStore, StoreScope } from "./use-port.ts"
export { type DailySpend, type SpendByDay, type UsageRecord, UsageRecords, type UsageRecordsShape, type UsageRecordView } from "./usage-records.ts"
