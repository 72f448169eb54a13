"""Data validation: Great Expectations 1.x suites kept in the repository, and readable reports."""
