/** Node module hooks (registered by node-ts.mjs): TypeScript modules compiled as they load. */
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { transform } from "esbuild"

const LOADERS = { ".ts": "ts", ".mts": "ts", ".tsx": "tsx" }

/** As tsconfig.json says: modules as written, JSX from hono/jsx. */
const OPTIONS = {
  format: "esm",
  target: "node20",
  sourcemap: "inline",
  jsx: "automatic",
  jsxImportSource: "hono/jsx",
  tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true } }
}

export async function load(url, context, nextLoad) {
  const loader = url.startsWith("file:") ? LOADERS[/\.[a-z]+$/.exec(url)?.[0] ?? ""] : undefined
  if (loader === undefined) return nextLoad(url, context)
  const file = fileURLToPath(url)
  const { code } = await transform(await readFile(file, "utf8"), { ...OPTIONS, loader, sourcefile: file })
  return { format: "module", source: code, shortCircuit: true }
}
