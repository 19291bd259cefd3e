"""Static types: feature maps and vectors, window arithmetic, symbolic sizes."""
