/** The first value of a proxy header that may list several hops. */
const firstValue = (headers: Headers, name: string): string | undefined => headers.get(name)?.split(",")[0]?.trim() || undefined

const HOST = /^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/

/**
 * The origin a client used to reach the relay, for the examples on its pages and the Secure
 * flag of its cookies: behind a proxy, X-Forwarded-Proto and X-Forwarded-Host; else the
 * request's own URL (built from Host). Malformed header values are ignored.
 */
export const requestOrigin = (request: Request): { readonly origin: string; readonly secure: boolean } => {
  const url = new URL(request.url)
  const forwardedProto = firstValue(request.headers, "x-forwarded-proto")?.toLowerCase()
  const forwardedHost = firstValue(request.headers, "x-forwarded-host")
  const proto = forwardedProto === "http" || forwardedProto === "https" ? forwardedProto : url.protocol.slice(0, -1)
  const host = forwardedHost !== undefined && HOST.test(forwardedHost) ? forwardedHost : url.host
  return { origin: `${proto}://${host}`, secure: proto === "https" }
}
