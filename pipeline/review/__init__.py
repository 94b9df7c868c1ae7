"""The analyst review web app: a Starlette ASGI app over the evidence store.

Analysts confirm, reject, reassign or annotate suggested evidence; leads also bulk-decide, ask for
blind second reviews and manage reviewers. ``create_app`` builds the app; ``commands`` holds the
plain functions behind the ``triage`` commands that serve it and add reviewers.
"""
