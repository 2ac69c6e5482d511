"""Policy test suites (`verdict test`): `*.test.yaml` files that name a policy and list cases.

One module per concern, each importing only those before it:
- `model`: the suite IR (Suite, Case, Expect, SetExpect) and run results;
- `load`: discovery of test files and building suites from their bytes, resolved
  against their policy (the caller hands in the reader and the policy loader);
- `run`: evaluating cases and checking expectations;
- `coverage`: rule, condition and boundary coverage, and the coverage gate;
- `render`: text, JSON, JUnit XML, GitHub annotations and Markdown reports;
- `generate`: a starter suite of boundary cases for a policy.

Nothing is imported here, so importing one module costs only what it needs (and
`verdict validate` never imports this package). `docs/testing.md` is the user's guide.
"""
