/**
 * The token of an `Authorization: Bearer <token>` header, trimmed; undefined for another scheme
 * or an empty token. The scheme is matched in any case, as HTTP auth schemes are
 * case-insensitive (RFC 9110, 11.1): clients send `bearer` too. Relay keys and the admin key are
 * both read through here, so the two cannot drift apart.
 */
export const bearerToken = (authorization: string | null | undefined): string | undefined => {
  if (authorization == null || authorization.length <= 7 || authorization.slice(0, 7).toLowerCase() !== "bearer ") {
    return undefined
  }
  const token = authorization.slice(7).trim()
  return token === "" ? undefined : token
}
