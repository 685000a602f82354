"""The service behind ``taxgate serve``: accounts, jobs and the review desk.

``auth``     salted hashes of agency API secrets and officers' passwords, roles
``gate``     the one open store of a server process, used by one thread at a time
``jobs``     request packages spooled to disk, a worker thread, resume after restart
``review``   the REVIEW queue, what an officer may see (logged), two-person decisions,
             follow-up responses

The HTTP API (:mod:`taxgate.api`), the web pages (:mod:`taxgate.web`) and the CLI
(:mod:`taxgate.cli.service`) are shells over these functions.
"""
