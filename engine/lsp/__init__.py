"""`verdict lsp`: a language server for policy files, over stdio.

The pure parts (no client, no I/O, testable on their own):

- `positions`: one document's lines, and the conversion between verdict's 1-based
  character positions and LSP's 0-based UTF-16 ones;
- `index`: the names a policy declares and uses (facts, thresholds, outcomes, reasons,
  outputs, rules, flags), each with its declaration and use ranges, from the loader's
  data and `SourceMap`;
- `diagnostics`: `verdict validate`'s diagnostics as LSP diagnostics (the fast ones of
  the loader, schema and names, and the analysis findings with their witnesses);
- `navigate`: hover text, definitions and references;
- `complete`: completion inside conditions and effects, from the text before the cursor;
- `actions`: code actions (apply a did-you-mean, add a missing `reason:`).

`server` wires them to pygls (an optional dependency, the `lsp` extra); only `server`
imports it.
"""
