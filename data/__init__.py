"""The bundled dataset: the seed article's four heritage hubs (Turtle)."""
