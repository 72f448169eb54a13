"""What a dataset is made of, below the packages that build it and check it.

`records` (image records and rejections) and `rules` (the per-image thresholds and label set,
read from the Great Expectations suite files in `suites/`) are shared by the catalog, ingestion
(which screens and stores images) and validation (which runs the suites with Great Expectations),
so none of those imports another for them.
"""
