// Bundles entry.js (CodeMirror 6, the versions package-lock.json pins) into
// ../cnndsl/playground/static/vendor/codemirror.js: one minified ES module,
// the packages' licence notices kept. Run `npm ci && npm run build` here.
//
// The bundle's first line records the SHA-256 of the three inputs (this file,
// entry.js, package-lock.json); tests/test_playground_assets.py recomputes it,
// so a change to any of them without a rebuild fails the tests (no Node needed).
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const output = join(here, "..", "cnndsl", "playground", "static", "vendor", "codemirror.js");
const inputs = ["build.mjs", "entry.js", "package-lock.json"];

const digest = createHash("sha256");
for (const name of inputs) {
  digest.update(name + "\0");
  digest.update(readFileSync(join(here, name)));
  digest.update("\0");
}

const result = await build({
  entryPoints: [join(here, "entry.js")],
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  legalComments: "eof",
  charset: "utf8",
  write: false,
  metafile: true,
});

// The packages whose code is in the bundle, with their versions and licences
// (all MIT: the notice must travel with the code).
const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));
const bundled = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (match) bundled.add(match[1]);
}
const names = [...bundled].sort();
const versions = names.map((name) => `${name}@${lock.packages["node_modules/" + name].version}`).join(" ");
const licences = names
  .map((name) => `${name}:\n${readFileSync(join(here, "node_modules", name, "LICENSE"), "utf8").trim()}`)
  .join("\n\n");

const banner =
  `// cnndsl playground vendor bundle; inputs sha256 ${digest.digest("hex")}\n` +
  `// built by playground/build.mjs (esbuild ${lock.packages["node_modules/esbuild"].version}) from: ${versions}\n`;
const text = `${banner}${result.outputFiles[0].text}/*\n${licences.replaceAll("*/", "* /")}\n*/\n`;
mkdirSync(dirname(output), { recursive: true });
writeFileSync(output, text);
console.log(`wrote ${output} (${Buffer.byteLength(text).toLocaleString()} bytes)`);
