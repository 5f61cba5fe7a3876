"""The `simvae` command line."""
