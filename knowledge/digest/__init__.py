"""The daily digest: windows, the Digest model, its intro, history and renderers."""
