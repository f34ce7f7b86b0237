import { AccountSuspended, type Caller, KeyExpired, type RelayError } from "../../core/index.ts"

/**
 * Why a known key may not call now: its account suspended, or the key past its expiry. Both
 * are checked on every request, cached callers too (an expiry passes while a key is cached).
 */
export const refusalOf = (caller: Caller, now: number): RelayError | undefined => {
  if (caller.account.suspendedAt !== null && caller.account.suspendedAt !== undefined) {
    return new AccountSuspended({ message: "this account is suspended: every key of it is refused until the operator resumes it" })
  }
  const expiresAt = caller.key?.expiresAt
  if (expiresAt !== null && expiresAt !== undefined && expiresAt <= now) {
    return new KeyExpired({ message: `this API key expired at ${new Date(expiresAt).toISOString()}` })
  }
  return undefined
}

