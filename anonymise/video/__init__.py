"""Videos: decoding, writing and the check that a written copy holds only its frames."""
