"""Default configuration files (packaged as pipeline._configs)."""
