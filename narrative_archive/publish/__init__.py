"""What the published archive and the CLI show: Datasette, status, tables."""
