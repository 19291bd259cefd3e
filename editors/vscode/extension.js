// The VS Code client for `cnnc lsp`: it starts the server on stdio for .cnn
// files; everything else (diagnostics, hover, inlay hints, completion,
// symbols, quick fixes, formatting) comes from the server.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("cnndsl");
  const command = config.get("server.command", "cnnc");
  const args = config.get("server.args", ["lsp"]);
  const docs = config.get("diagnosticsDocs", "");
  const serverOptions = {
    run: { command, args, transport: TransportKind.stdio },
    debug: { command, args, transport: TransportKind.stdio },
  };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "cnn" },
      { scheme: "untitled", language: "cnn" },
    ],
    initializationOptions: docs ? { diagnosticsDocs: docs } : {},
  };
  client = new LanguageClient("cnndsl", "cnndsl language server", serverOptions, clientOptions);
  client.start().catch((error) => {
    vscode.window.showErrorMessage(
      `cnndsl: could not start '${command} ${args.join(" ")}' (${error.message}). ` +
        "Install cnndsl (pip install cnndsl) or set cnndsl.server.command."
    );
  });
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("cnndsl")) {
        vscode.window.showInformationMessage("cnndsl: reload the window to apply the new settings.");
      }
    })
  );
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
