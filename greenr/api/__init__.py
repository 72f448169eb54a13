"""The prediction API: FastAPI in front of the Seldon model server (see greenr/api/README.md).

`create_app(settings)` in `greenr.api.app` builds the application; `python -m greenr.api` serves it
with uvicorn. Importing this package does nothing else.
"""
