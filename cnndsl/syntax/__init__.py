"""The text of a .cnn file as a syntax tree: spans, nodes, the Lark driver, recovery, incremental parsing."""
