"""HQ's HTTP API for tills and operators (FastAPI): thin routes over the use cases in hq.service.

`hq.api.app.create_app` builds the application; the OpenAPI description it serves at
`/openapi.json` (and `/docs`) is generated from the request and response models in
`hq.api.models`, so it cannot drift from the code.
"""
