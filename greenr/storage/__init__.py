"""The object store (a local folder or an S3 bucket), reached through fsspec."""
