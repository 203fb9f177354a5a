"""The Jobber sandbox: an in-memory Jobber account answering GraphQL (graphql-core) with
the cost extension, the request window, and OAuth with rotating refresh tokens. Written
from Jobber's documentation, independently of the adapter (see ``server.py``)."""
