"""Named SPARQL queries (.rq files with their metadata in leading comments)."""
