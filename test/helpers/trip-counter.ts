import { connect, createServer, type Socket } from "node:net"

/**
 * A TCP proxy in front of a server on loopback that counts round trips: a client's writes up to
 * the server's next answer are one trip, however many statements or commands they pipeline. It
 * shows how many times a relay waits on PostgreSQL or Redis for one request.
 */
export interface TripCounter {
  readonly port: number
  /** Round trips so far, over every connection. */
  trips(): number
  stop(): Promise<void>
}

export const startTripCounter = async (serverPort: number): Promise<TripCounter> => {
  let trips = 0
  const sockets = new Set<Socket>()
  const proxy = createServer((client) => {
    const server = connect(serverPort, "127.0.0.1")
    for (const socket of [client, server]) {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
      socket.on("error", () => undefined)
    }
    let waiting = false
    client.on("data", (chunk) => {
      if (!waiting) trips++
      waiting = true
      server.write(chunk)
    })
    server.on("data", (chunk) => {
      waiting = false
      client.write(chunk)
    })
    client.on("close", () => server.destroy())
    server.on("close", () => client.destroy())
  })
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve))
  return {
    port: (proxy.address() as { port: number }).port,
    trips: () => trips,
    stop: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => proxy.close(resolve))
    }
  }
}
