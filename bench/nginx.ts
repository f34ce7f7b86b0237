import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createConnection, createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * nginx from Debian as a reverse proxy in front of the bench's mock: a compiled proxy beside
 * the relay, so that the comparison with one stays honest. It runs from a configuration of its
 * own in a temporary directory (no system service, nothing outside that directory written),
 * with one worker (the relay serves from one thread too), keep-alive to the upstream, a
 * buffered access log (the relay logs a line per request), and unbuffered answers, so that a
 * stream's chunks go on as they arrive.
 */
const NGINX = ["/usr/sbin/nginx", "nginx"]

const which = (): string | undefined => NGINX.find((path) => spawnSync(path, ["-v"], { stdio: "ignore" }).error === undefined)

/**
 * nginx's path, installing it with apt-get when missing (as root, with the Debian mirrors
 * reachable: nginx-light, else nginx); undefined when it cannot be had.
 */
export const ensureNginx = (): string | undefined => {
  const found = which()
  if (found !== undefined || process.getuid?.() !== 0) return found
  spawnSync("apt-get", ["update", "-qq"], { stdio: "ignore", timeout: 180_000 })
  for (const name of ["nginx-light", "nginx"]) {
    spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", name], { stdio: "ignore", timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } })
    const installed = which()
    if (installed !== undefined) return installed
  }
  return undefined
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

export const nginxConfig = (dir: string, port: number, upstreamPort: number, asRoot: boolean): string => `
${asRoot ? "user root;" : ""}
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log ${dir}/access.log combined buffer=64k flush=1s;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  upstream mock {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`

export interface Nginx {
  readonly port: number
  /** The master's; its worker is its child. */
  readonly pid: number
  readonly stop: () => Promise<void>
}

/** Starts nginx (`binary`) in front of the upstream on `upstreamPort`; resolves once it accepts connections. */
export const startNginx = async (binary: string, upstreamPort: number): Promise<Nginx> => {
  const dir = mkdtempSync(join(tmpdir(), "relay-bench-nginx-"))
  const port = await freePort()
  const config = join(dir, "nginx.conf")
  writeFileSync(config, nginxConfig(dir, port, upstreamPort, process.getuid?.() === 0))
  const child: ChildProcess = spawn(binary, ["-p", dir, "-e", join(dir, "error.log"), "-c", config], { stdio: ["ignore", "ignore", "pipe"] })
  let output = ""
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (output += text))
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve))
      // QUIT: nginx's graceful stop; the worker ends with the master.
      child.kill("SIGQUIT")
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  for (let waited = 0; !(await accepts(port)); waited += 50) {
    if (child.exitCode !== null || waited > 10_000) {
      await stop()
      throw new Error(`nginx did not start:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { port, pid: child.pid!, stop }
}
