"""The Seldon Core 1.x model server: runs in its own environment (.venv-serving), see README.md here.

Only numpy, Pillow, onnxruntime, boto3 and seldon-core (with its jsonschema) are available where
these modules run; from greenr they import nothing but `greenr.images` (numpy + Pillow) and
`greenr.json_logging` (standard library), never
TensorFlow nor pydantic (metadata.json is checked against `metadata.schema.json`, generated from
`greenr.contracts.ServingMetadata`).
"""
