"""`make bench`: the end-to-end benchmark cases and what they share (see `__main__`)."""
