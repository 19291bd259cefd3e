"""The playground (`cnnc serve`): a local page where the network is typed,
drawn and explained as you write it (docs/playground.md).

- `adapter.py`: the one module that calls into the rest of cnndsl;
- `workbench.py`: the answers to the page's requests, from a small cache;
- `views.py`, `markup.py`: the HTML fragments (escaped) the page places;
- `offsets.py`: code points (the compiler) <-> UTF-16 (the browser);
- `server.py`: the standard library's HTTP server, with its gate;
- `static/`: the page, its scripts and the CodeMirror 6 bundle
  (`static/vendor/codemirror.js`, built by `playground/build.mjs`).
"""
