"""Open-set rejection: answering "neither" for photos unlike the training photos (issue 17)."""
