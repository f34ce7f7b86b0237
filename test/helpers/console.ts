/**
 * A console visitor over plain HTTP: it keeps the session cookie as a browser would and reads
 * the CSRF token from each page, so tests can also send what a browser would not.
 */
export class ConsoleVisitor {
  cookie: string | undefined
  csrf: string | undefined
  /** Every Set-Cookie header received, in order. */
  readonly setCookies: Array<string> = []

  constructor(private readonly url: string, private readonly headers: Record<string, string> = {}) {}

  private remember(response: Response) {
    const set = response.headers.get("set-cookie")
    if (set === null) return
    this.setCookies.push(set)
    const pair = set.split(";")[0]!
    this.cookie = /max-age=0/i.test(set) || pair.endsWith("=") ? undefined : pair
  }

  async get(path: string): Promise<{ status: number; html: string; response: Response }> {
    const response = await fetch(`${this.url}${path}`, {
      redirect: "manual",
      headers: { ...this.headers, ...(this.cookie ? { cookie: this.cookie } : {}) }
    })
    this.remember(response)
    const html = await response.text()
    this.csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? this.csrf
    return { status: response.status, html, response }
  }

  /** Posts a form as a browser does; the CSRF token is the page's unless given (null: none). */
  async post(path: string, fields: Record<string, string>, csrf: string | null | undefined = this.csrf): Promise<Response> {
    const response = await fetch(`${this.url}${path}`, {
      method: "POST",
      redirect: "manual",
      headers: { ...this.headers, "content-type": "application/x-www-form-urlencoded", ...(this.cookie ? { cookie: this.cookie } : {}) },
      body: new URLSearchParams({ ...fields, ...(csrf == null ? {} : { csrf }) })
    })
    this.remember(response)
    return response
  }

  /** Opens the console and signs in with `key`; answers the page signed in to. */
  async signIn(key: string): Promise<string> {
    await this.get("/console")
    const response = await this.post("/console/sign-in", { key })
    if (response.status !== 303) throw new Error(`sign-in answered ${response.status}`)
    return (await this.get("/console")).html
  }
}
