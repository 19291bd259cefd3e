"""The `cnnc` command line."""
