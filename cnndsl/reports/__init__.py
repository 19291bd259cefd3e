"""What users read about a typed program: summary, memory, diagram, generated docs."""
