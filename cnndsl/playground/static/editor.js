// The editor: CodeMirror 6 (static/vendor/codemirror.js) set up for .cnn text.
//
// It knows nothing of the compiler: app.js gives it the server's answers
// (diagnostics, the hint after each line, hovers) and it places them. An
// answer describes the text as it was when it was asked for; `mark()` starts
// recording the edits made since, and positions are mapped through them, so
// answers arriving while the user types land where they belong.

import {
  ChangeSet,
  Decoration,
  EditorSelection,
  EditorState,
  EditorView,
  HighlightStyle,
  StateEffect,
  StateField,
  StreamLanguage,
  Transaction,
  WidgetType,
  bracketMatching,
  defaultKeymap,
  drawSelection,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  history,
  historyKeymap,
  hoverTooltip,
  indentUnit,
  indentWithTab,
  isolateHistory,
  keymap,
  lineNumbers,
  lintGutter,
  setDiagnostics,
  syntaxHighlighting,
  tags,
} from "./vendor/codemirror.js";

// -- syntax highlighting --------------------------------------------------------
// Lexical, like the grammar (grammar/cnn.lark): a statement is `WORD arg*`, so
// the first word of a statement is what it does (a layer or a block call) and
// is coloured as such; whether the word is a known layer is the checker's
// business (a misspelt one is underlined with its diagnostic).

// The compiler's severities as CodeMirror's lint severities: a note (N0001) is information.
const LINT_SEVERITY = { error: "error", warning: "warning", note: "info" };
const KEYWORDS = new Set(["block", "repeat", "residual", "shortcut", "concat", "split", "branch", "gate", "where", "keep", "cat", "add"]);
const HEADS = new Set(["network", "input"]);
const NUMBER = /^[+-]?([0-9][0-9.]*([eE][+-]?[0-9]+)?|\.[0-9]+)(x[0-9.]+)*$/; // 3, 0.5, 1e-6, 32x32
const OPTION = /^[a-z]+[0-9][0-9.x]*$/; // k3, s2, p1, d2, g32, s2x1

const cnnLanguage = StreamLanguage.define({
  name: "cnn",
  startState: () => ({ head: true, after: null }),
  copyState: (state) => ({ ...state }),
  token(stream, state) {
    if (stream.sol()) state.head = true;
    if (stream.eatSpace()) return null;
    if (stream.match(/^#.*/)) return "comment";
    if (stream.match(/^[;{]/)) {
      state.head = true;
      return "punctuation";
    }
    if (stream.match(/^[}(),]/)) return "punctuation";
    if (stream.match(/^(>=|=)/)) return "operator";
    // As the grammar's WORD: a number in scientific notation (1e-6) is one word.
    const word =
      stream.match(/^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-][0-9]+(?![A-Za-z0-9_.])/) ||
      stream.match(/^[+-]?[A-Za-z0-9_.]+/);
    if (!word) {
      stream.next();
      return "invalid";
    }
    const text = word[0];
    const head = state.head;
    const after = state.after;
    state.head = false;
    state.after = text;
    if (KEYWORDS.has(text)) return "keyword";
    if (after === "block") return "variableName.definition";
    if (head) return HEADS.has(text) ? "keyword" : "variableName.function";
    if (stream.peek() === "=") return "propertyName";
    if (NUMBER.test(text)) return "number";
    if (OPTION.test(text)) return "attributeName";
    return "variableName";
  },
  languageData: { commentTokens: { line: "#" } },
});

const highlighting = HighlightStyle.define([
  { tag: tags.comment, color: "#6a737d", fontStyle: "italic" },
  { tag: tags.keyword, color: "#8250df", fontWeight: "bold" },
  { tag: tags.function(tags.variableName), color: "#0550ae", fontWeight: "bold" },
  { tag: tags.definition(tags.variableName), color: "#953800", fontWeight: "bold" },
  { tag: tags.number, color: "#116329" },
  { tag: tags.attributeName, color: "#0a3069" },
  { tag: tags.propertyName, color: "#0a3069" },
  { tag: tags.operator, color: "#cf222e" },
  { tag: tags.invalid, color: "#cf222e", textDecoration: "underline wavy" },
]);

// -- the hint after each line: its output type and parameters -----------------------

class HintWidget extends WidgetType {
  constructor(label) {
    super();
    this.label = label;
  }
  eq(other) {
    return other.label === this.label;
  }
  toDOM() {
    const span = document.createElement("span");
    span.className = "cm-type-hint";
    span.textContent = this.label;
    return span;
  }
  ignoreEvent() {
    return true;
  }
}

const setHints = StateEffect.define();

const hintField = StateField.define({
  create: () => Decoration.none,
  update(hints, transaction) {
    hints = hints.map(transaction.changes);
    for (const effect of transaction.effects) if (effect.is(setHints)) hints = effect.value;
    return hints;
  },
  provide: (field) => EditorView.decorations.from(field),
});

// -- the editor --------------------------------------------------------------------

export function createEditor(parent, { text, onChange, onCursorLine, hover }) {
  const trackers = new Set();
  let cursorLine = 0;

  const listener = EditorView.updateListener.of((update) => {
    if (update.docChanged) {
      for (const tracker of trackers) tracker.changes = tracker.changes.compose(update.changes);
      onChange();
    }
    if (update.docChanged || update.selectionSet) {
      const line = update.state.doc.lineAt(update.state.selection.main.head).number;
      if (line !== cursorLine) {
        cursorLine = line;
        onCursorLine(line);
      }
    }
  });

  const hovers = hoverTooltip(
    async (view, pos) => {
      const found = await hover(view.state.doc.toString(), pos);
      if (!found) return null;
      return {
        pos: found.start ?? pos,
        end: found.end ?? pos,
        above: true,
        create() {
          const dom = document.createElement("div");
          dom.className = "cnn-hover";
          dom.innerHTML = found.html; // built and escaped by the server (cnndsl/playground/markup.py)
          return { dom };
        },
      };
    },
    { hoverTime: 250 },
  );

  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        highlightActiveLine(),
        bracketMatching(),
        indentUnit.of("  "),
        EditorState.tabSize.of(2),
        cnnLanguage,
        syntaxHighlighting(highlighting),
        lintGutter(),
        hintField,
        hovers,
        listener,
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ "aria-label": "the .cnn program", spellcheck: "false" }),
      ],
    }),
  });

  function mapped(tracker, position, assoc = 1) {
    const length = tracker ? tracker.changes.length : view.state.doc.length;
    const clamped = Math.max(0, Math.min(position, length));
    return tracker ? tracker.changes.mapPos(clamped, assoc) : clamped;
  }

  return {
    view,
    getText: () => view.state.doc.toString(),
    // Replaces the text: as an edit of its own that Ctrl-Z undoes (an example
    // opened over your text), or outside the history (the page's first text).
    setText(newText, undoable = true) {
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: newText },
        selection: EditorSelection.cursor(0),
        scrollIntoView: true,
        annotations: undoable ? isolateHistory.of("full") : Transaction.addToHistory.of(false),
      });
    },
    // Start recording edits: an answer about the text as it is now can be placed later.
    mark() {
      const tracker = { changes: ChangeSet.empty(view.state.doc.length) };
      trackers.add(tracker);
      return tracker;
    },
    release(tracker) {
      trackers.delete(tracker);
    },
    // An answer about the text as it was at `tracker`: the hints and the
    // diagnostics, placed in one update of the view.
    show(tracker, hints, problems) {
      const decorations = hints.map((hint) =>
        Decoration.widget({ widget: new HintWidget(hint.label), side: 1 }).range(mapped(tracker, hint.offset)),
      );
      const diagnostics = problems.map((problem) => {
        const from = mapped(tracker, problem.start, -1);
        return {
          from,
          to: Math.max(from, mapped(tracker, problem.end, 1)),
          severity: LINT_SEVERITY[problem.severity] || "warning",
          source: problem.code,
          message: `${problem.code}: ${problem.message}`,
          renderMessage() {
            const dom = document.createElement("div");
            dom.innerHTML = problem.html; // escaped by the server (cnndsl/playground/views.py)
            return dom;
          },
        };
      });
      const lint = setDiagnostics(view.state, diagnostics);
      view.dispatch({ effects: [setHints.of(Decoration.set(decorations, true)), ...[lint.effects].flat()] });
    },
    // Select a range (a layer's statement) and show it.
    select(from, to) {
      const length = view.state.doc.length;
      view.dispatch({
        selection: EditorSelection.range(Math.min(from, length), Math.min(to, length)),
        scrollIntoView: true,
      });
      view.focus();
    },
    lineRange(number) {
      if (number < 1 || number > view.state.doc.lines) return null;
      const line = view.state.doc.line(number);
      return { from: line.from, to: line.to };
    },
    cursorLine: () => cursorLine,
    focus: () => view.focus(),
  };
}
