/**
 * The network address a request came from, as its runtime's server saw it. A Web Request does
 * not carry one, so the runtime adapter hands it over here. A header (X-Forwarded-For) is not
 * read: any client could write one.
 */
const addresses = new WeakMap<Request, string>()

export const setClientAddress = (request: Request, address: string | undefined): void => {
  if (address !== undefined) addresses.set(request, address)
}

/** The address of `request`'s client; one shared name when the runtime gave none. */
export const clientAddress = (request: Request): string => addresses.get(request) ?? "unknown"
