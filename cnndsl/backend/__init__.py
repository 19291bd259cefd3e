"""The typed program -> PyTorch: code generation and verification."""
