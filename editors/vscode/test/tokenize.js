// Tokenize files with VS Code's own TextMate engine (vscode-textmate +
// vscode-oniguruma) and print, as JSON, every token with its scopes:
//   node tokenize.js GRAMMAR.json FILE...
// tests/test_lsp_grammar.py installs the two packages (test/package.json)
// into a cache folder and points NODE_PATH at it.
"use strict";

const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

async function main() {
  const [grammarPath, ...files] = process.argv.slice(2);
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve("vscode-oniguruma")), "onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async (scopeName) =>
      scopeName === "source.cnn" ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath) : null,
  });
  const grammar = await registry.loadGrammar("source.cnn");
  const result = {};
  for (const file of files) {
    let stack = vsctm.INITIAL;
    const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
    result[file] = lines.map((line) => {
      const tokenized = grammar.tokenizeLine(line, stack);
      stack = tokenized.ruleStack;
      return tokenized.tokens.map((token) => ({
        text: line.substring(token.startIndex, token.endIndex),
        scopes: token.scopes,
      }));
    });
  }
  process.stdout.write(JSON.stringify(result));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
