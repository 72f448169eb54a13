"""Reading image bytes safely and describing them."""
