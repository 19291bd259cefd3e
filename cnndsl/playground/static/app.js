// The playground page: the editor on the left, the network on the right.
//
// As you type: one check request at a time, sent as soon as the text changes
// and the previous answer is in (never a fixed delay, never blocking the
// editor); its answer carries the diagnostics and the hint after each line.
// Once the text rests, the summary table follows (TABLE_DELAY), then the
// diagram and, while its tab is open, the PyTorch module (DRAW_DELAY): redrawn
// between two keystrokes, they would cost the page more than the types, and a
// diagram is drawn when you pause, not after every key. Every piece of HTML
// comes from the server, escaped there.

import { createEditor } from "./editor.js";
import { decodeShare, encodeShare } from "./share.js";

const TABLE_DELAY = 120; // ms the text must rest before the table is updated
const DRAW_DELAY = 350; // ... and before the diagram and the code are (typing: 100-250 ms between keys)
const $ = (selector) => document.querySelector(selector);

const page = {
  // This page's document, for the server's parse cache (only the statements you change are parsed again).
  document: crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2),
  filename: "network.cnn",
  inFlight: false,
  dirty: false,
  latest: null, // the last check answer: {text, ok, hints, diagnostics, ...}
  layers: [], // the layers of the table and the diagram shown: {index, line, calls, start, end}
  note: "", // said once in the status line, after the next check
  viewsTimer: 0,
  views: new AbortController(), // the table's, the diagram's and the code's requests in flight
  tabulatedText: null,
  drawnText: null,
  codeText: null,
  tab: "network",
};

async function request(path, body, signal = undefined) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

function setStatus(text, state, kind = "") {
  const status = $("#status");
  // Written only when it changes: each write costs the page a layout and a paint.
  if (status.textContent !== text) status.textContent = text;
  if (status.className !== kind) status.className = kind;
  status.dataset.state = state;
}

// -- checking as you type ------------------------------------------------------------

function textChanged() {
  page.dirty = true;
  clearTimeout(page.viewsTimer);
  // Views of the old text still on their way are dropped: placing a diagram
  // takes the page tens of milliseconds that the new types need.
  page.views.abort();
  if (!page.inFlight) check();
}

async function check() {
  page.dirty = false;
  page.inFlight = true;
  $("#status").dataset.state = "checking"; // the text stays: a "checking…" between keystrokes would only flicker
  const text = editor.getText();
  const tracker = editor.mark();
  try {
    const answer = await request("/api/check", { source: text, filename: page.filename, document: page.document });
    answer.text = text;
    page.latest = answer;
    editor.show(tracker, answer.hints, answer.diagnostics);
    showStatus(answer);
    showStale(answer);
  } catch (error) {
    failed(error);
  } finally {
    editor.release(tracker);
    page.inFlight = false;
  }
  if (page.dirty) {
    check();
  } else {
    page.viewsTimer = setTimeout(refreshViews, TABLE_DELAY);
  }
}

function showStatus(answer) {
  const parts = [];
  if (answer.errors) parts.push(`${answer.errors} error${answer.errors > 1 ? "s" : ""}`);
  if (answer.warnings) parts.push(`${answer.warnings} warning${answer.warnings > 1 ? "s" : ""}`);
  if (answer.ok) {
    parts.unshift(`${answer.network}: ${answer.layers} layers, ${answer.params.toLocaleString("en-US")} params`);
  }
  const first = answer.diagnostics.find((d) => d.severity === "error");
  if (first) parts.push(`line ${first.line}: ${first.code} ${first.message}`);
  if (page.note) parts.push(page.note);
  page.note = "";
  const text = parts.join(" · ") || "no layers";
  setStatus(text, "idle", answer.errors ? "error" : answer.warnings ? "warning" : "ok");
}

// While the text has errors, the table and the diagram stay as they were, dimmed.
function showStale(answer) {
  const stale = !answer.ok;
  $("#summary").classList.toggle("stale", stale);
  $("#diagram").classList.toggle("stale", stale);
  $("#stale-note").hidden = !stale || shown.title === null;
}

// The table's pieces (built and escaped by the server, views.py): only those
// that changed are replaced, so that a keystroke costs the page a row or two
// of layout, not the whole table's.
const shown = { title: null, rows: [], total: null, facts: null };

function showSummary(table) {
  const summary = $("#summary");
  if (table) {
    if (table.title !== shown.title) $("#summary h2").innerHTML = table.title;
    if (table.total !== shown.total) $("#summary tfoot").innerHTML = table.total;
    if (table.facts !== shown.facts) $("#summary .facts").innerHTML = table.facts;
    const body = $("#summary tbody");
    if (table.rows.length !== shown.rows.length) {
      body.innerHTML = table.rows.join("");
    } else {
      table.rows.forEach((row, index) => {
        if (row !== shown.rows[index]) body.rows[index].outerHTML = row;
      });
    }
    Object.assign(shown, table);
    summary.classList.add("filled");
  }
}

// -- once the text rests: the table, the diagram, the code ---------------------------------

async function refreshViews() {
  const answer = page.latest;
  if (!answer || page.dirty || page.inFlight || !answer.ok) return;
  page.views = new AbortController();
  const signal = page.views.signal;
  if (page.tabulatedText !== answer.text) {
    try {
      const table = await request("/api/summary", { source: answer.text, filename: page.filename }, signal);
      if (page.latest !== answer) return; // a newer text is in: its views will follow
      showSummary(table.summary);
      page.layers = table.layers;
      page.tabulatedText = answer.text;
      showStale(answer);
      highlightLayers(editor.cursorLine());
    } catch (error) {
      return signal.aborted ? undefined : failed(error);
    }
  }
  page.viewsTimer = setTimeout(() => refreshDrawing(answer, signal), DRAW_DELAY - TABLE_DELAY);
}

async function refreshDrawing(answer, signal) {
  if (page.latest !== answer || page.dirty || page.inFlight || signal.aborted) return;
  const diagram = $("#diagram");
  if (page.drawnText !== answer.text) {
    try {
      const width = Math.max(300, Math.round(diagram.clientWidth || 700));
      const drawn = await request("/api/draw", { source: answer.text, filename: page.filename, width }, signal);
      if (drawn.svg && page.latest === answer && !signal.aborted) {
        diagram.innerHTML = drawn.svg; // cnnc draw's SVG: every text escaped by ElementTree
        diagram.classList.remove("stale");
        page.drawnText = answer.text;
        highlightLayers(editor.cursorLine());
      }
    } catch (error) {
      if (!signal.aborted) diagram.classList.add("stale");
      return;
    }
  }
  if (page.tab === "code") refreshCode(signal);
}

async function refreshCode(signal = undefined) {
  const answer = page.latest;
  if (!answer || page.codeText === answer.text) return;
  const code = $("#code");
  if (!answer.ok) {
    code.classList.add("stale");
    return;
  }
  let built;
  try {
    built = await request("/api/build", { source: answer.text, filename: page.filename }, signal);
  } catch (error) {
    return signal && signal.aborted ? undefined : failed(error);
  }
  if (built.code !== null && page.latest === answer) {
    code.textContent = built.code;
    code.classList.remove("stale");
    page.codeText = answer.text;
  }
}

// -- layers: the editor's line <-> the table's rows and the diagram's boxes ---------------

function highlightLayers(line) {
  const chosen = new Set();
  for (const layer of page.layers) {
    if (layer.line === line || layer.calls.includes(line)) chosen.add(String(layer.index));
  }
  for (const element of document.querySelectorAll("#summary [data-layer], #diagram [data-layer]")) {
    element.classList.toggle("selected", chosen.has(element.dataset.layer));
  }
  // In the diagram, the box a chosen layer made (its step) too.
  for (const step of document.querySelectorAll("#diagram g.step")) {
    step.classList.toggle("chosen", step.querySelector(":scope > [data-layer].selected") !== null);
  }
}

function selectLayer(element) {
  const index = Number(element.dataset.layer);
  const current = page.tabulatedText === editor.getText();
  const layer = current ? page.layers.find((l) => l.index === index) : null;
  if (layer) {
    editor.select(layer.start, layer.end);
    return;
  }
  const line = Number(element.dataset.line || (element.dataset.lines || "").split(" ")[0]);
  const range = editor.lineRange(line);
  if (range) editor.select(range.from, range.to);
}

function onLayerClick(event) {
  // A layer's label, or a box of the diagram: the layer that made it (its step's label).
  const step = event.target.closest("#diagram g.step");
  const element = event.target.closest("[data-layer]") || (step && step.querySelector(":scope > [data-layer]"));
  if (element) selectLayer(element);
}

// -- the buttons ---------------------------------------------------------------------

function download(name, text, type) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type }));
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function stem() {
  return page.filename.replace(/\.cnn$/, "");
}

async function share() {
  const fragment = await encodeShare(editor.getText(), page.filename);
  history.replaceState(null, "", `#${fragment}`);
  const link = location.href;
  $("#share-box").hidden = false;
  $("#share-link").value = link;
  $("#share-link").select();
  let note = "the program is in the link itself; nothing is stored";
  try {
    await navigator.clipboard.writeText(link);
    note = "copied; " + note;
  } catch (error) {
    // no clipboard permission: the link is selected in the box
  }
  $("#share-note").textContent = note;
}

function failed(error) {
  setStatus(`the server did not answer: ${error.message}`, "idle", "error");
}

async function downloadPython() {
  try {
    const built = await request("/api/build", { source: editor.getText(), filename: page.filename });
    if (built.code === null) return setStatus(built.reason, "idle", "error");
    download(built.filename, built.code, "text/x-python");
  } catch (error) {
    failed(error);
  }
}

async function downloadSvg() {
  try {
    const drawn = await request("/api/draw", { source: editor.getText(), filename: page.filename, width: 1500 });
    if (drawn.svg === null) return setStatus(drawn.reason, "idle", "error");
    download(`${stem()}.svg`, drawn.svg, "image/svg+xml");
  } catch (error) {
    failed(error);
  }
}

async function verify() {
  const button = $("#verify");
  const report = $("#verify-report");
  showTab("verify");
  button.disabled = true;
  report.dataset.state = "running";
  report.innerHTML = '<p class="note">verifying: building the module and running a batch…</p>';
  try {
    const answer = await request("/api/verify", { source: editor.getText(), filename: page.filename });
    report.innerHTML = answer.html; // escaped by the server (views.py)
    report.dataset.state = answer.ok ? "ok" : "failed";
  } catch (error) {
    report.textContent = error.message;
    report.dataset.state = "failed";
  } finally {
    button.disabled = false;
  }
}

function showTab(name) {
  page.tab = name;
  for (const tab of document.querySelectorAll("[role=tab]")) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== `panel-${name}`;
  if (name === "code") refreshCode();
}

// -- what the editor opens with --------------------------------------------------------

function setSource(text, filename, undoable = true) {
  page.filename = filename;
  $("#filename").textContent = filename;
  document.title = `${filename} · cnndsl playground`;
  page.tabulatedText = null;
  page.drawnText = null;
  page.codeText = null;
  editor.setText(text, undoable);
}

async function openExample(key, undoable = true) {
  try {
    const example = await request(`/api/example?name=${encodeURIComponent(key)}`);
    const previous = editor.getText();
    setSource(example.text, example.filename, undoable);
    if (previous.trim()) page.note = "Ctrl-Z brings your text back";
  } catch (error) {
    failed(error);
  }
}

async function fromFragment() {
  if (!location.hash.slice(1)) return null;
  try {
    return await decodeShare(location.hash.slice(1));
  } catch (error) {
    setStatus(`the link's program could not be read: ${error.message}`, "idle", "error");
    return null;
  }
}

function fillMenu(examples) {
  const menu = $("#examples");
  const groups = new Map();
  for (const example of examples) {
    if (!groups.has(example.group)) {
      const group = document.createElement("optgroup");
      group.label = example.group;
      groups.set(example.group, group);
      menu.append(group);
    }
    const option = document.createElement("option");
    option.value = example.key;
    option.textContent = example.label;
    groups.get(example.group).append(option);
  }
  menu.addEventListener("change", () => {
    openExample(menu.value);
    menu.selectedIndex = 0;
  });
}

let editor;

async function main() {
  editor = createEditor($("#editor"), {
    text: "",
    onChange: textChanged,
    onCursorLine: highlightLayers,
    hover: async (text, offset) => request("/api/hover", { source: text, filename: page.filename, offset }),
  });
  const start = await request("/api/start");
  fillMenu(start.examples);
  const shared = await fromFragment();
  if (shared) {
    setSource(shared.text, shared.filename, false);
  } else if (start.file && start.file.text !== null) {
    setSource(start.file.text, start.file.filename, false);
  } else {
    if (start.file) setStatus(start.file.error, "idle", "error");
    if (start.default) await openExample(start.default, false);
  }
  window.addEventListener("hashchange", async () => {
    const again = await fromFragment();
    if (again && again.text !== editor.getText()) setSource(again.text, again.filename);
  });
  $("#summary").addEventListener("click", onLayerClick);
  $("#diagram").addEventListener("click", onLayerClick);
  $("#share").addEventListener("click", share);
  $("#download-cnn").addEventListener("click", () => download(page.filename, editor.getText(), "text/plain"));
  $("#download-py").addEventListener("click", downloadPython);
  $("#download-svg").addEventListener("click", downloadSvg);
  $("#verify").addEventListener("click", verify);
  for (const tab of document.querySelectorAll("[role=tab]")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
  editor.focus();
}

main();
