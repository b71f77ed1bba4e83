"""Data layer: source adapters, the canonical schema, regridding and prepared stores."""
