"""The API's bounds on what one request may ask for, and the middleware that enforces them.

Every bound answers with the one JSON error shape and a status that tells the client what to do
(README "Security and limits" lists them with their settings).
"""

from __future__ import annotations

# GET /predictions: a page holds at most this many items.
MAX_PAGE_SIZE = 200
# GET /predictions: the largest offset. Databases count rows in signed 64-bit integers, and
# SQLite fails with an overflow on 2**63; two thousand million rows is far beyond any history
# this API keeps, and stays exact in every client's number type (JavaScript's included).
MAX_OFFSET = 2**31 - 1
