"""End-to-end support shared by tests/e2e, tests/e2e_exec and tests/browser (tests/conftest.py loads it).

- ``support.env``: the running stack as the environment of ``scripts/stack.py run`` describes it.
- ``support.fixtures``: the pytest fixtures every suite gets: stack, database, users and their tokens,
  callers of the worker, rows read behind RLS's back, a recording HTTP target.
- ``support.api``: the worker client (``Api``) and a signed-up user (``Person``).
- ``support.contract``: the contract's answer shapes, among them ``assert_error`` for every error body.
- ``support.documents``: workflow documents: the contract's sample and node/edge builders.
- ``support.targets``: local HTTP servers: recording targets for actions, static pages for the browser.
"""
