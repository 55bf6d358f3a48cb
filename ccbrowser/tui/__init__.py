"""The terminal UI. Textual is imported only from here (and only when `tui`/`demo` run)."""
