/*
 * The ports: one Effect service per kind of state the relay keeps. Plugins provide them from
 * their own folders (SQLite by default), and anything that reads or writes state goes through
 * them, so a store a network away can take a port's place without another change.
 */
export { type AccountsShape, Accounts, type AccountUpdate, type StoredAccount, type StoredKey } from "./accounts.ts"
export { type ConsoleSessionsShape, ConsoleSessions, type Flash, type Principal, type Session } from "./console-sessions.ts"
export { type CredentialsShape, Credentials, type Sealed, type StoredCredential } from "./credentials.ts"
export { type Balance, ChargeFailed, ChargeKept, Ledger, type LedgerShape, type Reservation, type Settled, type SettleInput } from "./ledger.ts"
export { combinedRegistry, ProviderRegistry, type ProviderRegistryShape } from "./provider-registry.ts"
export { type Admission, effectiveLimits, type Limits, RateWindows, type RateWindowsShape, type TokenTicket, type WindowState } from "./rate-windows.ts"
export { heuristicTokenCounting, TokenCounting, type TokenCountingShape } from "./token-counting.ts"
export { buildStore, StoreScope } from "./use-port.ts"
export { type DailySpend, type UsageRecord, UsageRecords, type UsageRecordsShape, type UsageRecordView } from "./usage-records.ts"
