"""Command-line reports on a trained workdir, one module per task family (`python -m`):
`event_extraction` (triggers vs arguments), `reading_comprehension` (decoding step 0)."""
