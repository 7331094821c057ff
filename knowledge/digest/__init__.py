"""The daily digest: windows, the Digest record, its intro, history and renderers."""
