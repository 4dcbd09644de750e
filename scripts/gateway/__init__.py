"""PostgREST-compatible gateway: the local stand-in for Supabase's API gateway and PostgREST.

Layout:
- ``config``: settings from flags and environment.
- ``errors``: PostgREST's error body and PostgreSQL error code to HTTP status mapping.
- ``auth``: the ``apikey`` check (Supabase's gateway) and JWT verification (PostgREST's).
- ``grammar``: pure parsing of PostgREST's URL grammar (select, filters, order, range, Prefer).
- ``tables`` / ``rpc``: SQL for table requests and function calls, values always bound.
- ``pool``: a small thread-safe pool of ``authenticator`` connections.
- ``server``: HTTP routing, per-request transaction, logging.
- ``proxy``: forwards ``/rest/v1`` to a real PostgREST when one is configured.
- ``stall``: the test-only ``GATEWAY_STALL_AFTER_COMMIT_MS`` switch (a committed insert answered late).
"""
